"""Chat-neutral command handlers. Each module keeps its own commands; `load()` gathers them into one registry."""
from __future__ import annotations

from handlers import agenda, exports, help, remind
from handlers.appraisals import reviews
from handlers.approvals import contracts, requests
from handlers.complaints import cases
from handlers.crm import customers, holidays, leads, visits
from handlers.meeting import weekly
from handlers.projects import collab as collab_cases
from handlers.projects import projects
from handlers.registry import Registry
from handlers.risk import levels
from handlers.team import audit, members


def load() -> Registry:
    """Every command, in the order /help, Slack's manifest and Telegram's command list show them."""
    registry = Registry()
    registry.include(
        help.commands, members.commands, customers.commands, leads.commands, visits.commands, agenda.commands,
        remind.commands, requests.commands, contracts.commands, cases.commands, weekly.commands, reviews.commands,
        projects.commands, collab_cases.commands, holidays.commands, exports.commands, levels.commands,
        audit.commands,
    )
    return registry
