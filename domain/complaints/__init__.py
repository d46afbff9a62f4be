"""Customer complaints: intake, investigation, solution, tracking, callback, escalation."""
from domain.complaints.wiring import register

__all__ = ["register"]
