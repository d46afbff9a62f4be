"""Risk levels of customers, leads and contracts, and their warnings."""
from domain.risk.wiring import register

__all__ = ["register"]
