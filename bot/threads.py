"""The database threads: where use cases run, off the event loop, in three classes of urgency.

A job whose connection is found dead before it tried to commit is run once more (Sessions.once_more), so the
first command after a database restart is answered, not failed. Jobs wait in this module's own queues and are
handed to a thread only when one is free, most urgent first:

- `first`: what a platform's acknowledgement waits for (recording an event before answering it) — tiny jobs;
- `submit`: commands;
- `background`: the sweep's and the pumps' jobs, only when no command waits, and on at most half the threads
  (on SQLite, the one thread only between commands).

So a command waits at most for the jobs already running, never for a queue of background work, and an
acknowledgement never waits for a queue of commands.
"""
from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from domain.store.engine import Sessions

T = TypeVar("T")
FIRST, COMMAND, BACKGROUND = 0, 1, 2


class DatabaseThreads(ThreadPoolExecutor):
    def __init__(self, sessions: Sessions, threads: int, **kwargs: Any) -> None:
        super().__init__(threads, thread_name_prefix="bizbot-db", **kwargs)
        self.sessions = sessions
        self._size = threads
        self._most = max(1, threads // 2)  # background jobs running at once, at most
        self._changed = threading.Condition()
        self._waiting: tuple[deque[tuple[Callable[[], Any], Future[Any]]], ...] = (deque(), deque(), deque())
        self._busy = 0
        self._busy_behind = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.queue(COMMAND, functools.partial(fn, *args, **kwargs))

    def first(self) -> Executor:
        """An executor for the jobs an acknowledgement waits for: before the commands."""
        return _Class(self, FIRST)

    def background(self) -> Executor:
        """An executor for background jobs: behind the commands."""
        return _Class(self, BACKGROUND)

    def queue(self, urgency: int, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._changed:
            self._waiting[urgency].append((job, future))
        self._hand_on()
        return future

    def _next(self) -> tuple[int, Callable[[], Any], Future[Any]] | None:
        """The next job to run now, if a thread is free (called with the lock held)."""
        if self._busy >= self._size:
            return None
        for urgency, waiting in enumerate(self._waiting):
            if not waiting:
                continue
            if urgency == BACKGROUND and self._busy_behind >= self._most:
                return None
            job, future = waiting.popleft()
            return urgency, job, future
        return None

    def _hand_on(self) -> None:
        """Hand waiting jobs to free threads, most urgent first."""
        while True:
            with self._changed:
                picked = self._next()
                if picked is None:
                    return
                urgency, job, future = picked
                if not future.set_running_or_notify_cancel():
                    self._changed.notify_all()
                    continue
                self._busy += 1
                self._busy_behind += urgency == BACKGROUND
            try:
                inner = super().submit(self.sessions.once_more, job)
            except BaseException as exc:  # shut down: the job fails as the executor would have made it fail
                self._finished(urgency)
                future.set_exception(exc)
                continue
            inner.add_done_callback(functools.partial(self._done, urgency, future))

    def _finished(self, urgency: int) -> None:
        with self._changed:
            self._busy -= 1
            self._busy_behind -= urgency == BACKGROUND
            self._changed.notify_all()

    def _done(self, urgency: int, future: Future[Any], inner: Future[Any]) -> None:
        self._finished(urgency)
        exc = inner.exception()
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(inner.result())
        self._hand_on()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Background jobs still waiting are cancelled; commands and acknowledgements already submitted (the
        connection's release among them) are run first when `wait`."""
        with self._changed:
            cancelled = list(self._waiting[BACKGROUND])
            self._waiting[BACKGROUND].clear()
            if wait:
                self._changed.wait_for(lambda: not self._waiting[FIRST] and not self._waiting[COMMAND], timeout=30)
        for _job, future in cancelled:
            future.cancel()
        super().shutdown(wait, cancel_futures=cancel_futures)


class _Class(Executor):
    """DatabaseThreads.first and .background: the jobs submitted here run with that urgency."""

    def __init__(self, threads: DatabaseThreads, urgency: int) -> None:
        self.threads = threads
        self.urgency = urgency

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.threads.queue(self.urgency, functools.partial(fn, *args, **kwargs))
