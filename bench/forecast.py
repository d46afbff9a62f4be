"""The forecast and the funnel at department size: 50 members, 100,000 leads, each with its stage history.

    .venv/bin/python bench/forecast.py [--members 50] [--leads 100000] [--rounds 5] [--url URL]

Prints the median time of `/forecast all` and of `/funnel` for the quarter and the year (the domain use cases,
audit and commit included, the chart excluded). Target: each under 300 ms, on SQLite and on PostgreSQL.
Without --url it runs on a SQLite file in a temporary directory; with a PostgreSQL server's URL
(postgresql://postgres@127.0.0.1:5432/test) on a database of its own created there, vacuumed and analysed after
the seeding as autovacuum does after a bulk load. Both are removed at the end.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bot.bootstrap import bootstrap
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.kernel.vocab import PIPELINE
from domain.store.engine import normalize_url
from domain.store.models import STAGE_BITS, Customer, Lead, Member, StageChange
from domain.targets import forecast as fc
from domain.team.members import actor_for, ensure_org

NOW = datetime(2026, 12, 15, 2, tzinfo=UTC)


def seed(app, members: int, leads: int) -> None:
    rnd = random.Random(7)
    with app.uow() as uow:
        org = ensure_org(uow, "console", "bench", "bench", "Asia/Shanghai", "en")
        uow.commit()
        uow.session.execute(insert(Member), [
            {"org_id": org.id, "name": f"m{i}", "name_key": f"m{i}", "roles": "manager" if i == 0 else "sales",
             "active": True, "created_at": NOW - timedelta(days=400)} for i in range(members)])
        ids = list(uow.session.scalars(select(Member.id).where(Member.org_id == org.id).order_by(Member.id)))
        uow.session.execute(insert(Customer), [
            {"org_id": org.id, "number": i + 1, "name": f"c{i}", "name_key": f"c{i}", "owner_id": ids[i % members],
             "level": "regular", "risk": "low", "created_at": NOW - timedelta(days=400),
             "updated_at": NOW - timedelta(days=400)} for i in range(leads // 10)])
        customers = list(uow.session.scalars(select(Customer.id).where(Customer.org_id == org.id)))
        lead_rows, history = [], []
        for n in range(leads):
            steps = rnd.randint(1, len(PIPELINE) + 1)
            path = list(PIPELINE[:min(steps, len(PIPELINE))])
            if steps > len(PIPELINE):
                path.append(rnd.choice(("won", "lost")))
            start = NOW - timedelta(days=rnd.randint(1, 360))
            times = [start + timedelta(days=4 * k, hours=rnd.randint(0, 20)) for k in range(len(path))]
            lead_rows.append({"org_id": org.id, "number": n + 1, "customer_id": customers[n % len(customers)],
                              "owner_id": ids[n % members], "stage": path[-1],
                              "value": Decimal(rnd.randint(1, 500) * 1000),
                              "currency": "CNY", "next_date": (NOW + timedelta(days=rnd.randint(-20, 120))).date(),
                              "key_account": False, "risk": "low", "version": 1, "created_at": start,
                              "updated_at": times[-1]})
            history.append([(None if k == 0 else path[k - 1], path[k], times[k], None if k == 0 else times[k - 1],
                             sum(STAGE_BITS[s] for s in set(path[:k]))) for k in range(len(path))])
        uow.session.execute(insert(Lead), lead_rows)
        lead_ids = list(uow.session.scalars(select(Lead.id).where(Lead.org_id == org.id).order_by(Lead.number)))
        rows = [{"org_id": org.id, "lead_id": lid, "from_stage": a, "to_stage": b, "actor_id": ids[0],
                 "reason": "price" if b == "lost" else None, "at": at, "entered_at": entered,
                 "reached_before": before}
                for lid, steps in zip(lead_ids, history, strict=True) for a, b, at, entered, before in steps]
        for k in range(0, len(rows), 20000):
            uow.session.execute(insert(StageChange), rows[k:k + 20000])
        uow.commit()
    if app.engine.dialect.name == "postgresql":
        # what autovacuum does after a bulk load in a running database: without statistics the planner takes the
        # fresh tables for empty
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("stage_changes", "leads", "contracts", "members"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"seeded {members} members, {leads} leads, {len(rows)} stage changes")


@contextmanager
def database(server_url: str | None) -> Iterator[str]:
    """A database of the bench's own, removed at the end: a SQLite file in a temporary directory, or a new
    database on the PostgreSQL server of `server_url`."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    admin_url = normalize_url(server_url)
    name = f"bizbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", help="a PostgreSQL server's URL (default: SQLite)")
    args = parser.parse_args()
    with database(args.url) as url:
        app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai", admins=""), FakeClock(NOW))
        try:
            run(app, args)
        finally:
            app.close()


def run(app, args: argparse.Namespace) -> None:
    seed(app, args.members, args.leads)
    with app.uow() as uow:
        manager = uow.session.scalar(select(Member).where(Member.name == "m0"))
        actor = actor_for(uow, manager)
    print(f"{app.engine.dialect.name}:")
    for name, use_case in (("forecast all", lambda uow: fc.forecast(uow, actor, "all")),
                           ("funnel quarter", lambda uow: fc.funnel(uow, actor, "quarter")),
                           ("funnel year", lambda uow: fc.funnel(uow, actor, "year"))):
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            with app.uow() as uow:
                use_case(uow)
            times.append((time.perf_counter() - t) * 1000)
        print(f"{name}: median {statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f}) "
              f"over {args.rounds} rounds; target < 300 ms")


if __name__ == "__main__":
    main()
