"""The background machinery of `bizbot serve`: the outbox sent continuously at the platforms' limits, and the
sweep in bounded batches, both as short jobs on the database executor between commands.

- Sending: claim a batch (what the overall limits allow), read and render it in jobs of `chunk` messages,
  send them concurrently on a pool of send threads (never on the database thread: a command waits for no
  HTTP call), record the outcomes in jobs of `chunk`. A full batch is followed at once by the next; else the
  pump sleeps until the next message falls due or a limit's next slot, at most `idle` seconds, or until
  woken (the sweep made messages).
- Sweeping: `batches` batches of `batch` due items a tick, each its own job (commands interleave), every
  replica sweeping (SKIP LOCKED claims keep them apart); a tick that left items due is followed at once.
- Shutdown: `stop()` ends both loops at their next step; what was claimed and not sent is put back.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from bot.delivery import Dispatcher, Outcome, Prepared
from domain.delivery.due import sweep_batch
from domain.store.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
LIMITED_WAIT = 0.02  # seconds to wait when messages are due but a limit allows none now


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class Pump:
    def __init__(self, dispatcher: Dispatcher, uow: UowFactory, db: Executor, sends: Executor | None = None, *,
                 batch: int = 200, chunk: int = 25, threads: int = 32, idle: float = 5.0,
                 platforms: Sequence[str] | None = None) -> None:
        """`platforms`: the messages this pump sends, by their department's platform (Dispatcher.claim); one
        pump a platform keeps a platform whose limit holds its messages from slowing the others."""
        self.dispatcher = dispatcher
        self.platforms = list(platforms) if platforms is not None else None
        self.uow = uow
        self.db = db
        self.sends = sends or ThreadPoolExecutor(threads, thread_name_prefix="bizbot-send")
        self.batch, self.chunk, self.idle = batch, chunk, idle
        self.sent = 0
        self.on_sent: Callable[[int], None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.db, fn, *args)

    async def step(self) -> float:
        """One batch claimed, sent and recorded; returns how long to wait before the next (0: at once). The
        batch goes in chunks, each read in one job and then sent concurrently and recorded in one job as soon
        as its own sends are done, so one chunk is on the wire or recorded while the next is read."""
        dispatcher = self.dispatcher
        ids: list[int] = await self._db(dispatcher.claim, self.batch, self.platforms)
        if not ids:
            return await self._db(self._until_due)
        going: list[asyncio.Future[int]] = []
        for part in _chunks(ids, self.chunk):
            if self._stopping:
                await self._db(dispatcher.unclaim, list(part))
                continue
            going.append(asyncio.ensure_future(self._send(await self._db(self._prepare, part))))
        sent = sum(await asyncio.gather(*going))
        self.sent += sent
        if self.on_sent is not None:
            self.on_sent(sent)
        return 0.0 if len(ids) >= self.batch else await self._db(self._until_due)

    async def _send(self, ready: list[Prepared]) -> int:
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(self.sends, self._transmit, p) for p in ready))
        return await self._db(self._record, done) if done else 0

    def _transmit(self, prepared: Prepared) -> tuple[Prepared, Outcome]:
        return prepared, self.dispatcher.transmit(prepared)

    def _prepare(self, ids: Sequence[int]) -> list[Prepared]:
        """Read and render claimed messages in one short job; one that fails is recorded alone."""
        dispatcher = self.dispatcher
        with self.uow() as uow:
            ready, failed = dispatcher.prepare_many(uow, ids)
        for msg_id, exc in failed:
            dispatcher.record_failure(msg_id, exc)
        return ready

    def _record(self, done: Sequence[tuple[Prepared, Outcome]]) -> int:
        """Record outcomes in one short job; if that fails, each in a job of its own."""
        dispatcher = self.dispatcher
        try:
            with self.uow() as uow:
                sent = dispatcher.record_many(uow, done)
                uow.commit()
                return sent
        except Exception:
            log.exception("recording %d sends at once failed; recording them one by one", len(done))
        sent = 0
        for prepared, outcome in done:
            try:
                with self.uow() as uow:
                    sent += dispatcher.record(uow, prepared, outcome)
            except Exception as exc:
                dispatcher.record_failure(prepared.msg_id, exc)
        return sent

    def _until_due(self) -> float:
        """Seconds until the next pending message of this pump's platforms falls due (a little if one is due but
        a limit holds it), at most `idle`."""
        with self.uow() as uow:
            first = self.dispatcher.next_due(uow, self.platforms)
            if first is None:
                return self.idle
            wait = (first - uow.now).total_seconds()
        return min(self.idle, max(LIMITED_WAIT, wait))

    async def run(self) -> None:
        """Send until stopped; a step that fails is logged and the loop goes on after `idle`."""
        while not self._stopping:
            try:
                wait = await self.step()
            except Exception:
                log.exception("dispatch failed")
                wait = self.idle
            if wait > 0 and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass

    def close(self) -> None:
        if isinstance(self.sends, ThreadPoolExecutor):
            self.sends.shutdown(wait=False, cancel_futures=True)


class Sweeper:
    """The sweep in bounded batches on the database executor: `batches` a tick, each a job of its own."""

    def __init__(self, uow: UowFactory, db: Executor, fence: Callable[[UnitOfWork], bool] | None = None, *,
                 batch: int = 200, batches: int = 10) -> None:
        self.uow, self.db, self.fence = uow, db, fence
        self.batch, self.batches = batch, batches
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def tick(self) -> tuple[int, bool]:
        """Fire up to `batches` batches; returns how many items were fired and whether more are due."""
        loop = asyncio.get_running_loop()
        fired = 0
        for _ in range(self.batches):
            if self._stopping:
                return fired, False
            done, more = await loop.run_in_executor(self.db, sweep_batch, self.uow, self.batch, self.fence)
            fired += done
            if not more:
                return fired, False
        return fired, True
