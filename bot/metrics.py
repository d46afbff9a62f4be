"""`/metrics` in Prometheus's text format (prometheus-client), one registry per application.

Counted where things happen: commands in the command registry (every adapter runs them through
`Registry.dispatch` or `Registry.submit`), the platforms' acknowledgements at their HTTP doors (bot.webhooks),
the sweep and the dispatcher around their runs (bot.server.Worker), failed sends in the dispatcher. What is in
the database — the outbox by state and platform, due items by state — is read on scrape, in one grouped
statement with a time limit, on the server's database threads (never on the event loop), and kept for
`DATABASE_EVERY` seconds so that frequent scrapes cost no more.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, literal, select, text, union_all

from domain.store.models import DueItem, Organisation, OutboxMessage
from handlers.registry import Ran

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DATABASE_TIMEOUT = 2.0  # seconds the scrape's database read may take
DATABASE_EVERY = 10.0  # seconds a database reading is reused for
# command latencies: a command is answered in milliseconds; Slack wants its acknowledgement within 3 s
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
WORK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def bizbot_version() -> str:
    """The installed package's version (its metadata), or 0+unknown when run from a tree never installed."""
    try:
        return version("bizbot")
    except PackageNotFoundError:
        return "0+unknown"


class DatabaseGauges(Collector):
    """The last database reading, as gauges; a reading that failed shows as bizbot_metrics_database_up 0."""

    def __init__(self) -> None:
        self.outbox: dict[tuple[str, str], int] = {}
        self.due: dict[str, int] = {}
        self.up = 0.0
        self.read_at: float | None = None

    def collect(self) -> Iterable[Metric]:
        outbox = GaugeMetricFamily("bizbot_outbox_messages", "Outbox messages by state and platform",
                                   labels=["state", "platform"])
        for (state, platform), count in sorted(self.outbox.items()):
            outbox.add_metric([state, platform], count)
        due = GaugeMetricFamily("bizbot_due_items", "Due items by state", labels=["state"])
        for state, count in sorted(self.due.items()):
            due.add_metric([state], count)
        up = GaugeMetricFamily("bizbot_metrics_database_up", "Whether the last scrape's database read succeeded")
        up.add_metric([], self.up)
        return [outbox, due, up]


def read_database(engine: Engine) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """The outbox by state and platform and the due items by state, in one statement (limited to
    DATABASE_TIMEOUT on PostgreSQL, where a slow count must not hold a connection)."""
    outbox = (select(literal("outbox").label("what"), OutboxMessage.status.label("state"),
                     Organisation.platform.label("platform"), func.count().label("n"))
              .join(Organisation, Organisation.id == OutboxMessage.org_id)
              .group_by(OutboxMessage.status, Organisation.platform))
    due = (select(literal("due").label("what"), DueItem.state.label("state"), literal("").label("platform"),
                  func.count().label("n"))
           .group_by(DueItem.state))
    boxes: dict[tuple[str, str], int] = {}
    items: dict[str, int] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(DATABASE_TIMEOUT * 1000)}"))
        for what, state, platform, n in conn.execute(union_all(outbox, due)):
            if what == "outbox":
                boxes[(state, platform)] = int(n)
            else:
                items[state] = int(n)
        conn.rollback()
    return boxes, items


class Metrics:
    """The application's metrics; `render` gives the /metrics page."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.commands = Counter("bizbot_commands", "Commands run, by command, platform and outcome "
                                "(ok, refused, invalid, failed)", ["command", "platform", "outcome"], registry=r)
        self.command_seconds = Histogram("bizbot_command_seconds", "Time to run a command (its database work)",
                                         ["command", "platform"], buckets=COMMAND_BUCKETS, registry=r)
        self.ack_seconds = Histogram("bizbot_ack_seconds", "Time until a platform's request is answered "
                                     "(Slack's acknowledgement, Telegram's webhook answer)", ["platform"],
                                     buckets=COMMAND_BUCKETS, registry=r)
        self.sweep_seconds = Histogram("bizbot_sweep_seconds", "Duration of the leader's sweep (recurring jobs "
                                       "and due items)", buckets=WORK_BUCKETS, registry=r)
        self.swept = Counter("bizbot_swept_items", "Due items fired by this replica's sweeps", registry=r)
        self.dispatch_seconds = Histogram("bizbot_dispatch_seconds", "Duration of one dispatcher run",
                                          buckets=WORK_BUCKETS, registry=r)
        self.sent = Counter("bizbot_dispatched_messages", "Outbox messages sent by this replica", registry=r)
        self.send_failures = Counter("bizbot_send_failures", "Failed sends, by platform and reason "
                                     "(rate_limited: a 429 with Retry-After; error: anything else)",
                                     ["platform", "reason"], registry=r)
        self.retries = Counter("bizbot_send_retries", "Failed sends scheduled to be tried again", ["platform"],
                               registry=r)
        self.parked = Counter("bizbot_send_parked", "Messages parked after their last attempt", ["platform"],
                              registry=r)
        self.purged = Counter("bizbot_purged_rows", "Rows deleted by the retention purge, by table", ["table"],
                              registry=r)
        self.leader = Gauge("bizbot_leader", "1 while this replica leads the scheduler", ["replica"], registry=r)
        info = Gauge("bizbot_info", "bizbot's version", ["version"], registry=r)
        info.labels(bizbot_version()).set(1)
        self.database = DatabaseGauges()
        r.register(self.database)
        self._leadership: Callable[[], tuple[str, bool]] | None = None

    # --- what the application tells ----------------------------------------------------------------
    def command_ran(self, ran: Ran) -> None:
        self.commands.labels(ran.command, ran.platform, ran.outcome).inc()
        self.command_seconds.labels(ran.command, ran.platform).observe(ran.seconds)

    def acknowledged(self, platform: str, seconds: float) -> None:
        self.ack_seconds.labels(platform).observe(seconds)

    def send_failed(self, platform: str, retry_after: float | None, parked: bool) -> None:
        self.send_failures.labels(platform, "rate_limited" if retry_after is not None else "error").inc()
        (self.parked if parked else self.retries).labels(platform).inc()

    def follow_leadership(self, status: Callable[[], tuple[str, bool]]) -> None:
        """Where the scrape learns this replica's id and whether it leads."""
        self._leadership = status

    # --- the page -----------------------------------------------------------------------------------
    async def render(self, engine: Engine, executor: Executor) -> bytes:
        """The page: the database part read on `executor` (the server's database threads) within
        DATABASE_TIMEOUT, or the last reading marked down when it fails or takes longer."""
        gauges = self.database
        if gauges.read_at is None or time.monotonic() - gauges.read_at >= DATABASE_EVERY:
            gauges.read_at = time.monotonic()
            try:
                loop = asyncio.get_running_loop()
                gauges.outbox, gauges.due = await asyncio.wait_for(
                    loop.run_in_executor(executor, read_database, engine), DATABASE_TIMEOUT)
                gauges.up = 1.0
            except Exception as exc:  # any failure of the read only marks the reading down
                gauges.up = 0.0
                log.warning("metrics: the database read failed (%s)", type(exc).__name__)
        if self._leadership is not None:
            replica, leads = self._leadership()
            self.leader.clear()
            self.leader.labels(replica).set(1 if leads else 0)
        return generate_latest(self.registry)
