"""Chat-neutral command handlers. `load()` registers every command module once."""
from __future__ import annotations

from importlib import import_module

MODULES = ("help", "team", "customers", "leads", "visits", "agenda", "remind", "approvals", "contracts",
           "complaints", "meeting", "reviews", "holidays", "exports", "risk", "audit")


def load():  # noqa: ANN201
    """Import the command modules (registering their commands) and return the registry."""
    for name in MODULES:
        import_module(f"handlers.{name}")
    from handlers.registry import REGISTRY

    return REGISTRY
