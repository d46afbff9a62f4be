"""Time is injected: production reads the system clock, tests and the console move a fake one."""
from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (not wall time): for how long something has lasted."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return _time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._elapsed = 0.0  # its monotonic reading: moved forward with the time, never back

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def set(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        self._elapsed += max(0.0, (when - self._now).total_seconds())
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._elapsed += max(0.0, delta.total_seconds())


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def at_local(day: date, at: time, tz: str) -> datetime:
    """The UTC instant of a wall-clock time on a local day (DST-aware)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """Databases may hand back naive datetimes (SQLite); they are stored in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
