"""`/receivables all` for a large department: 20,000 signed contracts with 60,000 payment milestones.

    .venv/bin/python bench/receivables.py [--url postgresql://...] [--contracts 20000] [--runs 7]

Seeds one department (a manager, 20 sales members, 2,000 customers) with signed contracts of three milestones
each — paid, open with due dates spread over the last 150 days and the next 60, or waiting for their trigger —
by bulk inserts, then runs the command through the console as the manager (who sees the whole department) and
prints the median and the slowest time of the measured runs (after one warm-up run), and the same for the
ageing query alone. Target: under 200 ms on SQLite and PostgreSQL.
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select, text

from bot.bootstrap import bootstrap
from bot.console.app import Console
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.receivables import ageing
from domain.store.models import Base, Contract, Customer, Member, Milestone
from domain.team.members import actor_for, find_member

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


def seed(app, contracts: int) -> None:
    out = io.StringIO()
    console = Console(app, app.clock, out=out, user="boss")  # type: ignore[arg-type]
    console.handle("/help")
    for i in range(20):
        console.handle(f"/team add rep{i} role=sales")
    with app.uow() as uow:
        org_id = uow.session.scalar(select(Member.org_id).where(Member.name == "boss"))
        reps = list(uow.session.scalars(select(Member.id).where(Member.name.like("rep%"))))
        conn = uow.connection()
        conn.execute(insert(Customer), [
            {"org_id": org_id, "number": n, "name": f"Customer {n}", "name_key": f"customer {n}",
             "owner_id": reps[n % len(reps)], "level": "regular", "risk": "unassessed", "created_at": NOW,
             "updated_at": NOW} for n in range(1, 2001)])
        customers = list(conn.execute(select(Customer.id, Customer.owner_id).where(Customer.org_id == org_id)))
        rng = random.Random(7)
        rows = []
        for n in range(1, contracts + 1):
            cid, owner = customers[n % len(customers)]
            rows.append({"org_id": org_id, "number": n, "customer_id": cid, "owner_id": owner, "title": f"Deal {n}",
                         "amount": Decimal(300000), "currency": "CNY" if n % 10 else "USD", "state": "signed",
                         "risk": "unassessed", "signed_on": TODAY - timedelta(days=200), "signed_at": NOW,
                         "created_at": NOW, "updated_at": NOW})
        for chunk in range(0, len(rows), 5000):
            conn.execute(insert(Contract), rows[chunk:chunk + 5000])
        found = list(conn.execute(select(Contract.id, Contract.customer_id, Contract.owner_id, Contract.currency)
                                  .where(Contract.org_id == org_id)))
        milestones = []
        for kid, cid, owner, currency in found:
            for seq, share in ((1, 30), (2, 60), (3, 10)):
                state = rng.choice(("paid", "open", "open", "waiting")) if seq > 1 else "paid"
                due = TODAY + timedelta(days=rng.randint(-150, 60)) if state != "waiting" else None
                amount = Decimal(300000 * share // 100)
                milestones.append({
                    "org_id": org_id, "contract_id": kid, "customer_id": cid, "owner_id": owner, "seq": seq,
                    "share": Decimal(share), "amount": amount, "currency": currency,
                    "trigger": ("signing", "delivery", "acceptance")[seq - 1], "days": 0, "due_date": due,
                    "received": amount if state == "paid" else Decimal(0), "invoiced": Decimal(0), "state": state,
                    "risk_raised": False, "created_at": NOW, "updated_at": NOW})
        for chunk in range(0, len(milestones), 5000):
            conn.execute(insert(Milestone), milestones[chunk:chunk + 5000])
        uow.commit()
    # as autovacuum leaves a table in production: statistics, and (PostgreSQL) a visibility map for index-only scans
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None, help="a database URL (default: a new SQLite file)")
    parser.add_argument("--contracts", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.url or f"sqlite:///{tmp}/bench.db"
    app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai", admins="console:boss",
                             open_enrolment=True), FakeClock(NOW))
    if args.url:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with app.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    started = time.perf_counter()
    seed(app, args.contracts)
    with app.uow() as uow:
        count = uow.session.scalar(select(text("count(*)")).select_from(Milestone))
    print(f"{app.engine.dialect.name}: seeded {args.contracts} contracts, {count} milestones "
          f"in {time.perf_counter() - started:.1f} s")
    out = io.StringIO()
    console = Console(app, app.clock, out=out, user="boss")  # type: ignore[arg-type]

    def command() -> None:
        console.handle("/receivables all")

    def query() -> None:
        with app.uow() as uow:
            ageing.ageing(uow, actor_for(uow, find_member(uow, 1, "boss")), "all")

    for name, fn in (("/receivables all (console, end to end)", command), ("ageing query alone", query)):
        times = timed(fn, args.runs)
        print(f"{name}: median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms "
              f"over {args.runs} runs")
    print(out.getvalue().splitlines()[-12:][0] if out.getvalue() else "")
    app.close()


if __name__ == "__main__":
    main()
