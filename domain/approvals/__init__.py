"""Approvals: the engine and its policies, contracts, expenses, leave, projects, collaboration."""
from domain.approvals.wiring import register

__all__ = ["register"]
