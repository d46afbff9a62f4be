"""Send limits on the injected clock: how long until a message may go.

A limit is a sliding window: at most `count` sends in any `seconds`. A `shared` limit is a platform's overall
limit for one bot token (Telegram's 30 messages a second): every replica sending with that token counts
against it, so with PostgreSQL it is kept in the database (`SharedLimits`, the `send_limits` table: one row a
limit holding the times of its latest sends, read and written under a row lock in one short transaction).
Per-chat limits are kept by each process (`RateLimiter`): a chat's messages are few at a time and go out
from whichever replica claimed them.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from domain.store.models import SendLimit


@dataclass(frozen=True)
class Limit:
    key: str
    count: int
    seconds: float
    shared: bool = False  # the platform's overall limit for a bot token: held across replicas

    @property
    def window(self) -> float:
        """The window kept: the platform's, plus the time a request may take from its slot to the platform (a
        send thread waiting its turn, a connection made), so sends that left within a window never arrive
        within a shorter one."""
        return self.seconds + IN_FLIGHT


IN_FLIGHT = 0.1  # seconds


def _prune(window: deque[float], limit: Limit, now: float) -> None:
    while window and window[0] <= now - limit.window:
        window.popleft()


class RateLimiter:
    """Per-process memory of recent sends (thread-safe: the senders take their slots from several threads)."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, limits: Sequence[Limit], now: float) -> float:
        """Seconds until every limit allows one more send (0 when it may go now)."""
        with self._lock:
            return self._wait(limits, now)

    def _wait(self, limits: Sequence[Limit], now: float) -> float:
        delay = 0.0
        for limit in limits:
            window = self._sent.get(limit.key)
            if not window:
                continue
            _prune(window, limit, now)
            if len(window) >= limit.count:
                delay = max(delay, window[-limit.count] + limit.window - now)
        return delay

    def remaining(self, limit: Limit, now: float) -> int:
        """How many more sends the limit allows right now."""
        with self._lock:
            window = self._sent.get(limit.key)
            if window:
                _prune(window, limit, now)
            return max(0, limit.count - len(window or ()))

    def record(self, limits: Sequence[Limit], now: float) -> None:
        with self._lock:
            for limit in limits:
                self._sent.setdefault(limit.key, deque()).append(now)

    def take(self, limits: Sequence[Limit], now: float) -> float:
        """0 and the send recorded if every limit allows one more now; else the seconds to wait."""
        with self._lock:
            wait = self._wait(limits, now)
            if wait <= 0:
                for limit in limits:
                    self._sent.setdefault(limit.key, deque()).append(now)
            return wait


class SharedLimits:
    """Overall limits held in PostgreSQL for every replica: a slot is taken in one transaction that locks the
    limit's row (SELECT … FOR UPDATE), so two replicas never both take the last one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._known: set[str] = set()

    def _ensure(self, keys: list[str]) -> None:
        """The limits' rows exist (made once, committed before any is locked: a row another transaction has
        not yet committed cannot be locked, and its limit would go unheld)."""
        new = [key for key in keys if key not in self._known]
        if new:
            with self.engine.begin() as conn:
                conn.execute(pg_insert(SendLimit).values([{"key": k, "sent": ""} for k in new])
                             .on_conflict_do_nothing(index_elements=["key"]))
            self._known.update(new)

    def take(self, limits: Sequence[Limit], now: float) -> float:
        """0 and the send recorded in every limit if all allow one more now; else the seconds to wait."""
        if not limits:
            return 0.0
        keys = sorted({limit.key for limit in limits})
        self._ensure(keys)
        with self.engine.begin() as conn:
            rows = dict(conn.execute(select(SendLimit.key, SendLimit.sent).where(SendLimit.key.in_(keys))
                                     .order_by(SendLimit.key).with_for_update()).all())
            windows: dict[str, list[float]] = {}
            wait = 0.0
            for limit in limits:
                times = [t for t in map(float, rows.get(limit.key, "").split()) if t > now - limit.window]
                windows[limit.key] = times
                if len(times) >= limit.count:
                    wait = max(wait, times[-limit.count] + limit.window - now)
            if wait > 0 or len(rows) < len(keys):  # a row gone (an operator's cleanup): made again next time
                if len(rows) < len(keys):
                    self._known.difference_update(keys)
                return max(wait, 0.01)
            for limit in limits:
                times = (windows[limit.key] + [now])[-limit.count:]
                conn.execute(update(SendLimit).where(SendLimit.key == limit.key)
                             .values(sent=" ".join(repr(t) for t in times)))
            return 0.0

    def remaining(self, limit: Limit, now: float) -> int:
        """How many more sends the limit allows now (a read without a lock: a budget, not a slot)."""
        with self.engine.connect() as conn:
            sent = conn.execute(select(SendLimit.sent).where(SendLimit.key == limit.key)).scalar() or ""
        return max(0, limit.count - sum(1 for t in sent.split() if float(t) > now - limit.window))


class Pacer:
    """Where a send takes its slot: per-chat limits in this process, overall limits shared when `shared` is
    given (PostgreSQL), else in this process too."""

    def __init__(self, shared: SharedLimits | None = None, local: RateLimiter | None = None) -> None:
        self.local = local or RateLimiter()
        self.shared = shared

    def take(self, limits: Sequence[Limit], now: float) -> float:
        if self.shared is None:
            return self.local.take(limits, now)
        # the chat's slot first (a slot taken for a send the overall limit then defers only errs on the safe side)
        wait = self.local.take([limit for limit in limits if not limit.shared], now)
        if wait > 0:
            return wait
        return self.shared.take([limit for limit in limits if limit.shared], now)

    def remaining(self, limit: Limit, now: float) -> int:
        if self.shared is not None and limit.shared:
            return self.shared.remaining(limit, now)
        return self.local.remaining(limit, now)
