"""The database's threads: where use cases run, off the event loop.

A `concurrent.futures.Executor` (so `loop.run_in_executor` works with it) with a faster path for the event
loop, `await executor.run(fn, *args)`. `run_in_executor` on a ThreadPoolExecutor costs, per call, a
concurrent Future chained to an asyncio Future and one write to the loop's self-pipe (and a wake-up from
epoll) when the result is ready. Here a result goes straight to its asyncio Future on the loop, and results
that finish while the loop has not yet picked up earlier ones ride on the wake-up already on its way: under
load, several commands' results cost one wake-up.

On SQLite it has one thread (one writer never fights another for the lock); on PostgreSQL several.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()
_OVERDUE = object()


class Late(Exception):
    """The work did not finish within its budget and goes on; `result` is the future its outcome reaches."""

    def __init__(self, result: asyncio.Future[Any]) -> None:
        super().__init__("not finished within its budget")
        self.result = result


class _Mailbox:
    """Results waiting for one event loop, handed over with one wake-up however many they are."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.results: list[tuple[asyncio.Future[Any], BaseException | None, Any]] = []
        self.scheduled = False
        # futures whose wait ran out of time (`run_within`), and the futures their outcomes go to instead;
        # touched on the loop's thread only
        self.overdue: dict[asyncio.Future[Any], asyncio.Future[Any]] = {}

    def post(self, fut: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
        with self.lock:
            self.results.append((fut, error, value))
            if self.scheduled:
                return  # the loop is already coming for the results
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.deliver)
        except RuntimeError:  # the loop has closed: nobody waits for these results any more
            with self.lock:
                self.results.clear()
                self.scheduled = False

    def deliver(self) -> None:
        """On the loop: set every waiting result."""
        with self.lock:
            results, self.results = self.results, []
            self.scheduled = False
        for fut, error, value in results:
            if fut.done():  # cancelled, or its wait ran out of time and the outcome goes on to another future
                fut = self.overdue.pop(fut, None)
                if fut is None or fut.done():
                    continue
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)


class DbExecutor(Executor):
    def __init__(self, workers: int, name: str = "bizbot-db", *, on_start: Callable[[], Any] | None = None,
                 on_stop: Callable[[], Any] | None = None) -> None:
        """`on_start` and `on_stop` run in each thread as it starts and as it stops (at shutdown): the
        server's threads hold a connection there (domain.store.engine.Sessions.hold)."""
        self._on_start, self._on_stop = on_start, on_stop
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._mailboxes: dict[asyncio.AbstractEventLoop, _Mailbox] = {}
        self._lock = threading.Lock()
        self._shutdown = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a database thread and wait for it, from the event loop."""
        _mailbox, fut = self._start(fn, args)
        return await fut

    async def run_within(self, budget: float, fn: Callable[..., T], *args: Any) -> T:
        """As `run`, waiting at most `budget` seconds: then `Late` is raised, and the outcome reaches the
        future it carries when the work is done. One future and one timer: an answer that must leave in time
        (Slack's 3 seconds) costs no task of its own."""
        mailbox, fut = self._start(fn, args)
        loop = mailbox.loop
        moved: list[asyncio.Future[Any]] = []

        def overdue() -> None:
            if not fut.done():
                later = loop.create_future()
                moved.append(later)
                mailbox.overdue[fut] = later
                fut.set_result(_OVERDUE)

        timer = loop.call_later(budget, overdue)
        try:
            value = await fut
        finally:
            timer.cancel()
        if value is _OVERDUE:
            raise Late(moved[0])
        return value

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:  # type: ignore[override]
        """As `concurrent.futures.Executor.submit` (so `loop.run_in_executor` works too)."""
        fut: Future[T] = Future()
        self._put((None, fut, (lambda: fn(*args, **kwargs)) if kwargs else fn, args if not kwargs else ()))
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        for _ in self._threads:
            self._jobs.put(_STOP)
        if wait:
            for thread in self._threads:
                thread.join()

    # --- internals ------------------------------------------------------------------
    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[_Mailbox, asyncio.Future[Any]]:
        """Queue `fn(*args)` for a database thread; the running loop's mailbox and the future it will set."""
        loop = asyncio.get_running_loop()
        mailbox = self._mailboxes.get(loop) or self._mailbox(loop)
        fut: asyncio.Future[Any] = loop.create_future()
        self._put((mailbox, fut, fn, args))
        return mailbox, fut

    def _put(self, job: tuple[Any, ...]) -> None:
        if self._shutdown:
            raise RuntimeError("cannot schedule new work after shutdown")
        self._jobs.put(job)

    def _mailbox(self, loop: asyncio.AbstractEventLoop) -> _Mailbox:
        with self._lock:
            # loops that have closed are forgotten (a test suite starts many)
            for old in [k for k in self._mailboxes if k.is_closed()]:
                del self._mailboxes[old]
            return self._mailboxes.setdefault(loop, _Mailbox(loop))

    def _work(self) -> None:
        if self._on_start is not None:
            self._on_start()
        try:
            self._serve()
        finally:
            if self._on_stop is not None:
                self._on_stop()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            mailbox, fut, fn, args = job
            if mailbox is None and not fut.set_running_or_notify_cancel():
                continue
            try:
                value = fn(*args)
            except BaseException as exc:  # handed to whoever waits, as run_in_executor would
                if mailbox is None:
                    fut.set_exception(exc)
                else:
                    mailbox.post(fut, exc, None)
                continue
            if mailbox is None:
                fut.set_result(value)
            else:
                mailbox.post(fut, None, value)


async def run_in(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the executor's threads, awaited from the event loop (the fast path for a DbExecutor)."""
    if isinstance(executor, DbExecutor):
        return await executor.run(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


async def run_within(executor: Executor, budget: float, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the executor's threads, waiting at most `budget` seconds, then raising `Late` (the
    work goes on; its outcome reaches the future `Late` carries)."""
    if isinstance(executor, DbExecutor):
        return await executor.run_within(budget, fn, *args)
    task = asyncio.ensure_future(run_in(executor, fn, *args))
    done, _pending = await asyncio.wait([task], timeout=budget)
    if not done:
        raise Late(task)
    return task.result()
