"""The department: organisations, members, roles, supervisors, access and the access log."""
from domain.team.wiring import register

__all__ = ["register"]
