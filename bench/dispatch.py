"""How much a command costs end to end, against a bare SQLAlchemy baseline measured in the same run.

    .venv/bin/python bench/dispatch.py [--n 2000] [--url sqlite:///...]

Baseline: one Core INSERT + commit per iteration (the least any recorded command can cost).
bizbot: `/visit` through the registry (parse, validate, access check, use case, audit row, commit).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from bot.bootstrap import bootstrap
from bot.console.app import Console
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.store.engine import make_engine


def bare_baseline(url: str, n: int) -> list[float]:
    engine = make_engine(url)
    meta = MetaData()
    table = Table("bench_rows", meta, Column("id", Integer, primary_key=True), Column("note", String(200)))
    meta.create_all(engine)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(table).values(note=f"visit {i}"))
        times.append(time.perf_counter() - t0)
    engine.dispose()
    return times


def bizbot_visits(url: str, n: int) -> tuple[list[float], int]:
    clock = FakeClock(datetime(2026, 11, 23, 2, tzinfo=UTC))
    app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai"), clock)
    console = Console(app, clock, out=open("/dev/null", "w"), user="bench")
    console.handle("/customer new Acme")
    ctx = console.actor_ctx()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        reply = app.registry.dispatch(ctx, f'/visit Acme channel=phone note="call {i}"')
        times.append(time.perf_counter() - t0)
        assert not reply.error, reply.text
    tracemalloc.start()  # a separate, shorter pass: tracing slows Python down several times
    for i in range(min(n, 200)):
        app.registry.dispatch(ctx, f'/visit Acme channel=phone note="traced {i}"')
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    app.close()
    return times, peak


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"mean {statistics.fmean(ms):.3f} ms  p50 {ms[len(ms) // 2]:.3f} ms  "
            f"p95 {ms[int(len(ms) * 0.95)]:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--url", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_url = args.url or f"sqlite:///{Path(tmp) / 'baseline.db'}"
        bot_url = args.url or f"sqlite:///{Path(tmp) / 'bizbot.db'}"
        base = bare_baseline(base_url, args.n)
        bot, peak = bizbot_visits(bot_url, args.n)
    ratio = statistics.fmean(bot) / statistics.fmean(base)
    print(f"commands: {args.n}")
    print(f"baseline (Core insert+commit): {summary(base)}")
    print(f"bizbot /visit end to end:      {summary(bot)}")
    print(f"ratio bizbot/baseline (mean):  {ratio:.1f}x")
    print(f"throughput: {1 / statistics.fmean(bot):.0f} commands/s on one core")
    print(f"traced memory peak over 200 commands: {peak / 1024:.0f} KiB")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
