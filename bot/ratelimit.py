"""Sliding-window send limits on the injected clock: how long until a message may go."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    key: str
    count: int
    seconds: float


class RateLimiter:
    """Per-process memory of recent sends; a replica limits its own sends."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}

    def wait(self, limits: list[Limit], now: float) -> float:
        """Seconds until every limit allows one more send (0 when it may go now)."""
        delay = 0.0
        for limit in limits:
            window = self._sent.get(limit.key)
            if not window:
                continue
            while window and window[0] <= now - limit.seconds:
                window.popleft()
            if len(window) >= limit.count:
                delay = max(delay, window[0] + limit.seconds - now)
        return delay

    def remaining(self, limit: Limit, now: float) -> int:
        """How many more sends the limit allows right now."""
        window = self._sent.get(limit.key)
        while window and window[0] <= now - limit.seconds:
            window.popleft()
        return max(0, limit.count - len(window or ()))

    def record(self, limits: list[Limit], now: float) -> None:
        for limit in limits:
            self._sent.setdefault(limit.key, deque()).append(now)
