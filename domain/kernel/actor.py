"""Who is acting: a member of an organisation, with their roles, language and time zone."""
from __future__ import annotations

from dataclasses import dataclass

DEPARTMENT_ROLES = frozenset({"admin", "manager", "deputy", "head"})


@dataclass(frozen=True)
class Actor:
    org_id: int
    member_id: int
    name: str
    roles: frozenset[str]
    locale: str
    timezone: str

    def has_any(self, roles: frozenset[str] | set[str]) -> bool:
        return bool(self.roles & roles)

    @property
    def sees_department(self) -> bool:
        return self.has_any(DEPARTMENT_ROLES)
