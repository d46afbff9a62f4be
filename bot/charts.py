"""Charts drawn as they are sent: a chart stored as its description (domain.reporting.chart.describe) becomes
a PNG in a worker process, so drawing never runs on the event loop, on a database thread or inside a
transaction. The pool is made when the first chart is drawn, and ends with the server."""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from domain.delivery.outbox import Attachment
from domain.reporting.chart import DESCRIBED, draw


def is_chart(attachment: Attachment) -> bool:
    return attachment.mime == DESCRIBED


def draw_chart(attachment: Attachment) -> Attachment:
    """The chart drawn in this process (the console, the tests that do not start a pool)."""
    return replace(attachment, mime="image/png", data=draw(attachment.data))


class ChartRenderer:
    """A pool of worker processes that draw charts, made lazily (`workers` processes, spawned: no copy of the
    server's threads and connections)."""

    def __init__(self, workers: int = 1, timeout: float = 60.0) -> None:
        self.workers = workers
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.drawn = 0

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def draw(self, attachment: Attachment) -> Attachment:
        png = self.pool().submit(draw, attachment.data).result(self.timeout)
        self.drawn += 1
        return replace(attachment, mime="image/png", data=png)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
