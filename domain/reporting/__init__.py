"""Figures measured from the records, charts and table exports; imports no business area."""
from domain.reporting.wiring import register

__all__ = ["register"]
