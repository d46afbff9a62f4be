"""Domain errors carry a message id and named parameters; one mapper translates them."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


class NotFound(DomainError):
    pass


class Hidden(NotFound):
    """A record the member may not see, answered as a missing one (the same words, no reference): whether
    it exists is not given away. The refusal is audited as any other."""


class Ambiguous(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Invalid(DomainError):
    pass


class Conflict(DomainError):
    pass
