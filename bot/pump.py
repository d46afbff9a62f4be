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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from bot.delivery import Dispatcher, Outcome, Prepared
from domain.delivery.due import sweep_batch
from domain.store.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
LIMITED_WAIT = 0.02  # seconds to wait when messages are due but a limit allows none now
HOLD = 2.0  # a message whose slot comes within this many seconds is held, not put back


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class Pump:
    def __init__(self, dispatcher: Dispatcher, uow: UowFactory, db: Executor, sends: Executor | None = None, *,
                 batch: int = 200, chunk: int = 25, threads: int = 32, idle: float = 5.0,
                 platforms: Sequence[str] | None = None) -> None:
        """`platforms`: the messages this pump sends, by their department's platform (Dispatcher.claim); one
        pump a platform keeps a platform whose limit holds its messages from slowing the others. At most
        four times `threads` messages are claimed and not yet recorded at a time (the send threads never wait for
        a chunk's slowest send to be recorded)."""
        self.dispatcher = dispatcher
        self.platforms = list(platforms) if platforms is not None else None
        self.uow = uow
        self.db = db
        self.sends = sends or ThreadPoolExecutor(threads, thread_name_prefix="bizbot-send")
        self.batch, self.chunk, self.idle = batch, chunk, idle
        self.window = 4 * threads
        self.sent = 0
        self.on_sent: Callable[[int], None] | None = None
        self.on_step: Callable[[float], None] | None = None  # told how long each step that sent took
        self.worked = False  # whether the last step had messages to send
        self._wake = asyncio.Event()
        self._stopping = False
        self._going: set[asyncio.Future[int]] = set()  # chunks on the wire or being recorded
        self._in_flight = 0  # their messages
        self._held: list[Prepared] = []  # read, their slot not yet come (a platform's overall limit)
        self._held_at = 0.0  # when (the dispatcher's clock, a timestamp) the first held one's slot comes

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.db, fn, *args)

    async def step(self) -> float:
        """Claim a batch and hand it to the send threads in chunks; returns how long to wait before the next step
        (0: at once). Each chunk is read in one job, sent concurrently and recorded in one job once its own
        sends are done, while the next chunks, and the next batch, are read: a full batch returns at once with
        its chunks still on the wire (up to `window` messages in flight); a batch that emptied the queue waits
        for them. A message whose slot has not come (an overall limit) is held, read and claimed, and tried
        again when its slot comes, rather than put back and read again."""
        dispatcher = self.dispatcher
        self.worked = False
        if self._held and self._now() >= self._held_at:
            held, self._held = self._held, []
            self._start(held)
            self.worked = True
        room = min(self.batch, self.window - self._in_flight - len(self._held))  # held ones count as in flight
        if room <= 0:
            if self._going:
                await asyncio.wait(self._going, return_when=asyncio.FIRST_COMPLETED)
                return 0.0
            return max(LIMITED_WAIT, self._held_at - self._now())  # all held: until the first slot comes
        ids: list[int] = await self._db(dispatcher.claim, room, self.platforms)
        self.worked = self.worked or bool(ids)
        for part in _chunks(ids, self.chunk):
            if self._stopping:
                await self._db(dispatcher.unclaim, list(part))
                continue
            self._start(await self._db(self._prepare, part))
        if ids and len(ids) >= room and not self._stopping:
            return 0.0
        await self.drain()
        if self._stopping:
            return 0.0
        if self._held:
            return max(LIMITED_WAIT, self._held_at - self._now())
        return await self._db(self._until_due)

    def _now(self) -> float:
        return self.dispatcher.clock.now().timestamp()

    def _start(self, ready: list[Prepared]) -> None:
        if not ready:
            return
        self._in_flight += len(ready)
        going = asyncio.ensure_future(self._send(ready))
        self._going.add(going)

        def gone(future: asyncio.Future[int]) -> None:
            self._going.discard(future)
            self._in_flight -= len(ready)

        going.add_done_callback(gone)

    async def drain(self) -> None:
        """Until every chunk in flight is sent and recorded; held messages are put back when stopping."""
        while self._going:
            await asyncio.wait(set(self._going))
        if self._stopping and self._held:
            held, self._held = self._held, []
            await self._db(self.dispatcher.unclaim, [prepared.msg_id for prepared in held])

    async def _send(self, ready: list[Prepared]) -> int:
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(self.sends, self._transmit, p) for p in ready))
        soon = [(p, o) for p, o in done if o.state == "deferred" and o.wait <= HOLD and not self._stopping]
        if soon:
            self._held += [p for p, _o in soon]
            self._held_at = self._now() + min(o.wait for _p, o in soon)
            held = {p.msg_id for p, _o in soon}
            done = [(p, o) for p, o in done if p.msg_id not in held]
        sent = await self._db(self._record, done) if done else 0
        self.sent += sent
        if self.on_sent is not None and sent:
            self.on_sent(sent)
        return sent

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
            started = time.monotonic()
            try:
                wait = await self.step()
            except Exception:
                log.exception("dispatch failed")
                wait = self.idle
            if self.on_step is not None and self.worked:
                self.on_step(time.monotonic() - started)
            if wait > 0 and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
        await self.drain()

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
