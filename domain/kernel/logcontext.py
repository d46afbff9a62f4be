"""What a log line is about: the platform, department, member, command, the platform's event and an incident's
id, carried in a context variable so every record logged while a request is handled carries them (bot.logs
writes them into JSON lines). Set where they become known: the adapters (the event), the registry (who runs
which command), the boundary that logs an incident."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("platform", "department", "member", "command", "event", "incident")

_NOTHING: Mapping[str, object] = MappingProxyType({})
_current: ContextVar[Mapping[str, object]] = ContextVar("bizbot_log_context", default=_NOTHING)


def current() -> Mapping[str, object]:
    """The fields known now (no field that is None)."""
    return _current.get()


def _merged(fields: Mapping[str, object]) -> dict[str, object]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {sorted(unknown)}")
    return {**_current.get(), **{k: v for k, v in fields.items() if v is not None}}


@contextmanager
def bound(**fields: object) -> Iterator[None]:
    """These fields for what runs inside the block (and the tasks and threads it hands the context to)."""
    token = _current.set(_merged(fields))
    try:
        yield
    finally:
        _current.reset(token)


def bind(**fields: object) -> None:
    """These fields from now on in this context (a task's or a request's own context, which ends with it)."""
    _current.set(_merged(fields))
