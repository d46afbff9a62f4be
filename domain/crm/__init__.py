"""Customer development: customers, leads, visits, callbacks, customer care and the working calendar."""
from domain.crm.wiring import register

__all__ = ["register"]
