"""The weekly department meeting: updates, digest, minutes and action items."""
from domain.meeting.wiring import register

__all__ = ["register"]
