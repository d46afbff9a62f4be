"""Chat-neutral command handlers. Each module keeps its own commands; `load()` gathers them into one registry."""
from __future__ import annotations

from handlers import agenda, exports, help, remind
from handlers.appraisals import reviews
from handlers.approvals import contracts, requests
from handlers.complaints import cases
from handlers.complaints import requests as enquiries
from handlers.crm import customers, holidays, leads, visits
from handlers.meeting import weekly
from handlers.orders import orders
from handlers.projects import collab as collab_cases
from handlers.projects import projects
from handlers.receivables import commands as receivables
from handlers.registry import Registry
from handlers.risk import levels
from handlers.risk import register as risk_register
from handlers.targets import targets
from handlers.team import audit, members


def load() -> Registry:
    """Every command, in the order /help, Slack's manifest and Telegram's command list show them."""
    registry = Registry()
    registry.include(
        help.commands, members.commands, customers.commands, leads.commands, visits.commands, agenda.commands,
        remind.commands, requests.commands, contracts.commands, orders.commands, cases.commands, enquiries.commands,
        weekly.commands, reviews.commands, targets.commands, projects.commands, collab_cases.commands,
        holidays.commands, exports.commands, levels.commands, risk_register.commands, audit.commands,
        receivables.commands,
    )
    return registry
