"""`bizbot serve`: one ASGI app (health, readiness, Slack, Telegram, Feishu), the scheduler and the outbox
dispatcher."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import webhooks
from bot.affinity import pin
from bot.backup import BackupError, daily
from bot.bootstrap import App
from bot.charts import ChartRenderer
from bot.delivery import Dispatcher, Sender
from bot.dingtalk.app import DingTalkAdapter
from bot.dingtalk.endpoint import events as dingtalk_events
from bot.dingtalk.sender import DingTalkSender
from bot.dingtalk.stream import Stream as DingTalkStream
from bot.feishu import events as feishu_events
from bot.feishu.app import FeishuAdapter
from bot.feishu.sender import FeishuSender
from bot.leader import SCHEDULER, Leadership
from bot.metrics import CONTENT_TYPE
from bot.pump import Pump, Sweeper
from bot.ratelimit import Pacer, SharedLimits
from bot.slack.app import SlackAdapter
from bot.slack.sender import SlackSender
from bot.telegram.app import TelegramAdapter
from bot.telegram.sender import TelegramSender
from bot.threads import DatabaseThreads
from domain.delivery.due import ensure_recurring, sweep
from domain.delivery.retention import purge
from domain.store.models import Lease, Organisation
from domain.store.uow import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
PURGE_EVERY = timedelta(hours=1)
READY_TIMEOUT = 2.0  # /readyz answers within this (and a little), whatever the database does


def senders(app: App, feishu: FeishuAdapter | None = None) -> dict[str, Sender]:
    found: dict[str, Sender] = {}
    if app.settings.slack_enabled:
        found["slack"] = SlackSender(app.settings, app.engine)
    if app.settings.telegram_enabled:
        found["telegram"] = TelegramSender(app.settings)
    if app.settings.feishu_enabled:
        found["feishu"] = FeishuSender(app.settings, feishu.api if feishu is not None else None)
    if app.settings.dingtalk_enabled:
        found["dingtalk"] = DingTalkSender(app.settings)
    return found


class Worker:
    """The background machinery: every replica sweeps due items in bounded batches and sends the outbox
    continuously (bot.pump); the leader also keeps the recurring jobs, the day's backup and the retention
    purge. `tick_sync` is the same work done at once in the calling thread (the tests)."""

    def __init__(self, app: App, executor: Executor, dispatcher: Dispatcher,
                 leadership: Leadership | None = None) -> None:
        self.app = app
        self.executor = executor
        self.dispatcher = dispatcher
        self.leadership = leadership or Leadership(app.engine, app.clock, ttl=app.settings.lease_ttl)
        settings = app.settings
        # each pump its own send threads (made as needed): a platform's sends never queue behind another's
        self.pumps = [Pump(dispatcher, app.services.uow, executor, batch=max(50, 4 * settings.send_threads),
                           threads=settings.send_threads, idle=settings.sweep_seconds, platforms=lane)
                      for lane in dispatcher.lanes()]
        for pump in self.pumps:
            pump.on_sent = app.metrics.sent.inc
            pump.on_step = app.metrics.dispatch_seconds.observe
        self.sweeper = Sweeper(app.services.uow, executor, self._fence, batch=settings.sweep_batch,
                               batches=settings.sweep_batches)
        self._backup_failed_at: datetime | None = None
        self._purged_at: datetime | None = None
        self._recurring: tuple[Any, datetime] | None = None  # the departments last seen, and when
        self.last_tick_at: datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def _fence(self, uow: UnitOfWork) -> bool:
        """Whether this replica may sweep now: the leader while it leads; any other while its heartbeat is
        surely live (claims with SKIP LOCKED keep replicas apart)."""
        if self.leadership.leader:
            return self.leadership.fence(uow)
        return self.leadership.replica.alive()

    def tick_sync(self) -> int:
        self.last_tick_at = self.app.clock.now()
        metrics = self.app.metrics
        if self.leadership.claim():
            with metrics.sweep_seconds.time():
                self.lead()
        with metrics.dispatch_seconds.time():
            sent = self.dispatcher.run_once()
        metrics.sent.inc(sent)
        return sent

    def lead(self) -> None:
        """The leader's part of a tick: recurring jobs, the sweep and the day's backup, each only while this
        process still leads (the sweep asks before every batch)."""
        if not self.recurring():
            return
        fired = sweep(self.app.services.uow, fence=self.leadership.fence)
        self.app.metrics.swept.inc(fired)
        self.housekeeping(fired)

    def recurring(self) -> bool:
        """Give new departments their recurring jobs: looked at when the departments changed, and hourly, not
        for every department every tick. False if this process no longer leads."""
        with self.app.uow() as uow:
            if not self.leadership.fence(uow):
                return False
            seen = uow.session.execute(select(func.count(Organisation.id), func.max(Organisation.id))).one()
            now = self.app.clock.now()
            if self._recurring is None or self._recurring[0] != tuple(seen) or \
                    now - self._recurring[1] >= PURGE_EVERY:
                ensure_recurring(uow)
                self._recurring = (tuple(seen), now)
        return True

    def housekeeping(self, fired: int) -> None:
        leadership = self.leadership
        if leadership.leader:
            leadership.swept(fired)
        if leadership.leader:
            self.backup_if_due()
        if leadership.leader:
            self.purge_if_due()

    async def background(self) -> None:
        """Start the pump and the sweep loop (`bizbot serve`)."""
        self._tasks = [*(asyncio.create_task(pump.run(), name=f"bizbot-pump-{'-'.join(pump.platforms or ())}")
                         for pump in self.pumps),
                       asyncio.create_task(self._sweep_loop(), name="bizbot-sweep")]

    async def _sweep_loop(self) -> None:
        loop = asyncio.get_running_loop()
        metrics = self.app.metrics
        while not self._stopping.is_set():
            started = time.monotonic()
            more = False
            try:
                self.last_tick_at = self.app.clock.now()
                # the lease's calls wait on the network with a bound: on a thread of their own
                leads = await asyncio.to_thread(self.leadership.claim)
                if leads and not await loop.run_in_executor(self.executor, self.recurring):
                    leads = False
                fired, more = await self.sweeper.tick()
                metrics.sweep_seconds.observe(time.monotonic() - started)
                if fired:
                    metrics.swept.inc(fired)
                    for pump in self.pumps:
                        pump.wake()
                if leads and not more:
                    await asyncio.to_thread(self.housekeeping, fired)
            except Exception:
                log.exception("sweep failed")
            if more:
                await asyncio.sleep(0)  # commands' jobs queued meanwhile go first
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.app.settings.sweep_seconds)

    async def shutdown(self, within: float = 3.0) -> None:
        """Stop sweeping and sending at the next step; after `within` seconds whatever is left is cancelled
        (claims not sent go back: released with this process's heartbeat)."""
        self._stopping.set()
        self.sweeper.stop()
        for pump in self.pumps:
            pump.stop()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=within)
            for task in pending:
                task.cancel()
        for pump in self.pumps:
            pump.close()

    def purge_if_due(self) -> None:
        """The hourly retention purge (domain.delivery.retention), by the replica that runs the sweep: bounded
        batches, so a large backlog goes over several hours; a failure is logged and tried an hour later."""
        now = self.app.clock.now()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        try:
            purged = purge(self.app.services.uow, self.app.settings.retention)
        except Exception:  # the purge is housekeeping: whatever stopped it, the tick goes on
            log.exception("retention purge failed")
            return
        for table, count in purged.counts.items():
            self.app.metrics.purged.labels(table).inc(count)
        if any(purged.counts.values()):
            log.info("retention purge: %s%s", ", ".join(f"{n} {t}" for t, n in purged.counts.items() if n),
                     "" if purged.done else " (more next hour)")

    def backup_if_due(self) -> None:
        """The day's backup (BIZBOT_BACKUP_DIR), by the replica that runs the sweep; a failure is logged
        and tried again an hour later, not on every tick."""
        settings, now = self.app.settings, self.app.clock.now()
        if not settings.backup_dir:
            return
        if self._backup_failed_at is not None and now - self._backup_failed_at < timedelta(hours=1):
            return
        try:
            daily(settings.database_url, Path(settings.backup_dir), settings.backup_keep, settings.backup_hour,
                  settings.timezone, now)
            self._backup_failed_at = None
        except BackupError as exc:
            self._backup_failed_at = now
            log.error("backup failed: %s", exc)



class DatabaseProbe:
    """/readyz's database check: it reads the scheduler's lease on a thread of its own and waits a bounded
    time for it. A read the network swallowed is not repeated while it hangs (one stuck thread at most):
    the next checks wait on it again, each for as long as the bound."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._pending: Future[Any] | None = None
        self._started = 0.0

    def _read(self) -> Any:
        with self.app.engine.connect() as conn:
            return conn.execute(select(Lease.holder, Lease.acquired_at, Lease.expires_at, Lease.last_sweep_at)
                                .where(Lease.name == SCHEDULER)).first()

    async def check(self, timeout: float) -> tuple[dict[str, Any], Any]:
        """The database's state for /readyz, and the scheduler's lease row (None if unknown or absent)."""
        if self._pending is None or self._pending.done():
            self._pending, self._started = _in_thread(self._read), time.monotonic()
        pending = self._pending
        try:
            lease = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)), timeout)
        except TimeoutError:
            return {"ok": False, "error": "timeout",
                    "waiting_seconds": round(time.monotonic() - self._started, 1)}, None
        except Exception as exc:  # any database failure means "not ready", whatever the driver raised
            return {"ok": False, "error": type(exc).__name__}, None
        return {"ok": True}, lease


def _in_thread(fn: Callable[[], T]) -> Future[T]:
    """`fn()` on a daemon thread of its own (one that may never return does not hold the process up)."""
    future: Future[T] = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    threading.Thread(target=run, name="bizbot-readyz", daemon=True).start()
    return future


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def database_threads(app: App) -> DatabaseThreads:
    """Where use cases run, off the event loop. On SQLite one thread (one writer never waits for another's
    lock), which holds its connection and session from one command to the next (Sessions.hold); on
    PostgreSQL several, each unit of work checking a connection out of the pool."""
    if app.engine.dialect.name == "sqlite":
        return DatabaseThreads(app.sessions, 1, initializer=app.sessions.hold)
    return DatabaseThreads(app.sessions, 8)


def create_asgi(app: App, *, run_worker: bool = True, leadership: Leadership | None = None,
                freeze_heap: bool = False) -> Starlette:
    """The ASGI app `bizbot serve` runs. `freeze_heap` (the server process: `serve`, the benches) freezes
    what start-up allocated (gc.freeze); a test process starting many servers leaves it off."""
    settings = app.settings
    executor = database_threads(app)
    slack = None
    routes: list[Route] = []

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    probe = DatabaseProbe(app)
    socket_mode: list[Any] = []  # the Socket Mode handler, once connected

    async def readyz(request: Request) -> Response:
        database, lease = await probe.check(READY_TIMEOUT)
        scheduler: dict[str, Any] = {"running": run_worker, **worker.leadership.status(),
                                     "last_tick_at": _iso(worker.last_tick_at)}
        if lease is not None:  # the database's word on who leads and when it last swept
            scheduler.update(holder=lease.holder, leader_since=_iso(lease.acquired_at),
                             lease_expires_at=_iso(lease.expires_at), last_sweep_at=_iso(lease.last_sweep_at))
        platforms: dict[str, Any] = {}
        if slack is not None:
            platforms["slack"] = {"mode": "socket" if settings.slack_app_token else "http"}
            if settings.slack_app_token:
                platforms["slack"]["connected"] = bool(socket_mode) and await socket_mode[0].client.is_connected()
        if telegram is not None:
            application = telegram.application
            platforms["telegram"] = {"mode": "webhook" if settings.telegram_webhook_url else "polling",
                                     "running": application.running}
            if not settings.telegram_webhook_url:
                platforms["telegram"]["polling"] = application.updater is not None and application.updater.running
        if feishu is not None:
            platforms["feishu"] = dict(feishu.status)
        if dingtalk is not None:
            platforms["dingtalk"] = {"mode": settings.dingtalk_mode}
            if dingtalk_stream is not None:
                platforms["dingtalk"]["connected"] = dingtalk_stream.connected
        ok = database["ok"]
        body = {"status": "ready" if ok else "unavailable", **({} if ok else {"reason": database["error"]}),
                "database": database, "scheduler": scheduler, "platforms": platforms}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(await app.metrics.render(app.engine, executor), media_type=CONTENT_TYPE)

    routes += [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    if settings.slack_enabled:
        slack = SlackAdapter(app, settings, executor=executor)
        handler = AsyncSlackRequestHandler(slack.bolt)

        async def slack_endpoint(request: Request) -> Response:
            return await handler.handle(request)

        routes += [Route("/slack/events", webhooks.slack_events(handler.handle, app.metrics.acknowledged),
                         methods=["POST"])]
        if settings.slack_client_id:
            routes += [Route("/slack/install", slack_endpoint, methods=["GET"]),
                       Route("/slack/oauth_redirect", slack_endpoint, methods=["GET"])]

    telegram = None
    if settings.telegram_enabled:
        telegram = TelegramAdapter(app, settings, executor)

        routes += [Route("/telegram/webhook", webhooks.telegram_webhook(telegram, app.metrics.acknowledged),
                         methods=["POST"])]

    feishu = None
    if settings.feishu_enabled:
        feishu = FeishuAdapter(app, settings, executor)
        if settings.feishu_http:
            routes += [Route("/feishu/events", feishu_events.endpoint(feishu), methods=["POST"])]
    dingtalk, dingtalk_stream = None, None
    if settings.dingtalk_enabled:
        dingtalk = DingTalkAdapter(app, settings, executor)
        if settings.dingtalk_mode == "http":
            routes += [Route("/dingtalk/events", dingtalk_events(dingtalk), methods=["POST"])]
        else:
            dingtalk_stream = DingTalkStream(dingtalk)

    leadership = leadership or Leadership(app.engine, app.clock, ttl=settings.lease_ttl)
    # a platform's overall limit is held in PostgreSQL for every replica; on SQLite (one process) in memory
    pacer = Pacer(SharedLimits(app.engine) if app.engine.dialect.name == "postgresql" else None)
    charts = ChartRenderer()
    dispatcher = Dispatcher(app.services.uow, senders(app, feishu), replica=leadership.replica,
                            on_failure=app.metrics.send_failed, pacer=pacer, charts=charts)
    worker = Worker(app, executor.background(), dispatcher, leadership)
    app.metrics.follow_leadership(lambda: (worker.leadership.replica.holder, worker.leadership.leader))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        socket = None
        if run_worker:
            await worker.background()
        if telegram is not None:
            await telegram.start()
        if feishu is not None:
            await feishu.start()  # the bot's identity is asked for in the background: Feishu may be down
        if slack is not None and settings.slack_app_token:
            socket = AsyncSocketModeHandler(slack.bolt, settings.slack_app_token.get_secret_value())
            await socket.connect_async()
            socket_mode.append(socket)
        if dingtalk_stream is not None:  # connects on a thread of its own: an outage holds nothing up
            dingtalk_stream.start()
        if freeze_heap:
            # what start-up loaded (modules, the registry, babel's and SQLAlchemy's caches) lives as long as
            # the process: moved out of the cyclic collector's reach, a full collection no longer walks it and
            # no longer stalls every request in flight (Telegram's p99 at concurrency 10: ~110 ms → ~25 ms)
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if socket is not None:
                await socket.close_async()
            if slack is not None:
                await slack.drain()  # replies still being worked out after their ack
            if telegram is not None:
                await telegram.stop()
            if feishu is not None:
                await feishu.stop()
            if dingtalk_stream is not None:
                dingtalk_stream.stop()
            await worker.shutdown()
            charts.close()
            executor.submit(app.sessions.release)  # the connection a database thread holds goes with it
            executor.shutdown(wait=True)
            worker.leadership.release()

    # a body over webhooks.MAX_BODY is refused before it is read
    asgi = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(webhooks.BodyLimit)])
    asgi.state.slack = slack
    asgi.state.telegram = telegram
    asgi.state.feishu = feishu
    asgi.state.dingtalk = dingtalk
    asgi.state.worker = worker
    return asgi


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts, so that a port in use is one clear OSError."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a previous run's TIME_WAIT is no obstacle
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: App, listening: socket.socket | None = None) -> None:
    listening = listening or listen(app.settings.http_host, app.settings.http_port)
    leadership = Leadership(app.engine, app.clock, ttl=app.settings.lease_ttl)
    leadership.claim()  # on SQLite, a second process stops here with a clear message
    pin(app.settings.cpu, app.engine.dialect.name)  # before uvicorn and the database thread start
    asgi = create_asgi(app, leadership=leadership, freeze_heap=True)
    # no log_config: uvicorn's records go to the root logger's handler (bot.logs), which redacts secrets
    server = uvicorn.Server(uvicorn.Config(asgi, log_config=None, access_log=False))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down gracefully first
        server.run(sockets=[listening])
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run: the application did not start (its log says why)


