"""Chat-neutral command handlers. `load()` registers every command module once."""
from __future__ import annotations

from importlib import import_module

from handlers.registry import REGISTRY

MODULES = ("help", "team.members", "crm.customers", "crm.leads", "crm.visits", "agenda", "remind", "approvals.requests", "approvals.contracts", "complaints.cases", "meeting.weekly", "appraisals.reviews", "crm.holidays", "exports", "risk.levels", "team.audit")


def load():  # noqa: ANN201
    """Import the command modules (registering their commands) and return the registry."""
    for name in MODULES:
        import_module(f"handlers.{name}")

    return REGISTRY
