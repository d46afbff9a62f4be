"""The weekly digest at department size: 50 members, 10,000 records in the week (and as many the week before).

    .venv/bin/python bench/digest.py [--members 50] [--records 10000] [--rounds 5] [--url URL]

Prints the time to build the digest — every digest figure from the registry for last week and the
week before, the answers, the pipeline, the open action items — and to draw its chart, against a
bare baseline measured in the same run: the same periods counted with one plain SQL COUNT per table
and nothing else. Target: digest with chart under one second.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.bootstrap import bootstrap
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.meeting import weekly as meeting
from domain.store.models import (
    ActionItem,
    Callback,
    Customer,
    Lead,
    MeetingUpdate,
    Member,
    Organisation,
    StageChange,
    Visit,
)
from domain.team.members import ensure_org

WEEK = date(2026, 11, 30)  # the meeting's week; its digest covers 23–29 November
NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai
STAGES = ("research", "screening", "first_contact", "needs", "proposal", "negotiation", "follow_up", "won", "lost")


def seed(app, members: int, records: int) -> int:
    """`records` rows in last week and as many in the week before, spread over five tables."""
    with app.uow() as uow:
        org = ensure_org(uow, "console", "bench", "bench", "Asia/Shanghai", "en")
        org.settings = {**org.settings, "meeting": meeting.Schedule(True).to_settings()}
        uow.commit()
        uow.session.execute(insert(Member), [
            {"org_id": org.id, "name": f"m{i}", "name_key": f"m{i}", "roles": "sales" if i % 5 else "service",
             "active": True, "created_at": NOW} for i in range(members)])
        ids = list(uow.session.scalars(select(Member.id).order_by(Member.id)))
        share = records // 5
        for week_start in (datetime(2026, 11, 23, 1, 0, tzinfo=UTC), datetime(2026, 11, 16, 1, 0, tzinfo=UTC)):
            def at(i: int, start: datetime = week_start) -> datetime:
                return start + timedelta(seconds=(i * 604_79) % 604_000)

            base = uow.session.scalar(select(func.count(Customer.id))) or 0
            uow.session.execute(insert(Customer), [
                {"org_id": org.id, "number": base + i + 1, "name": f"c{base + i}", "name_key": f"c{base + i}",
                 "owner_id": ids[i % members],
                 "level": "regular", "risk": "low", "created_at": at(i), "updated_at": at(i)} for i in range(share)])
            cids = list(uow.session.scalars(select(Customer.id).where(Customer.id > base).order_by(Customer.id)))
            lbase = uow.session.scalar(select(func.max(Lead.id))) or 0
            uow.session.execute(insert(Lead), [
                {"org_id": org.id, "number": lbase + i + 1, "customer_id": cids[i], "owner_id": ids[i % members],
                 "stage": STAGES[i % 9],
                 "currency": "CNY", "key_account": False, "risk": "low", "version": 1, "created_at": at(i),
                 "updated_at": at(i)} for i in range(share)])
            lids = list(uow.session.scalars(select(Lead.id).where(Lead.id > lbase).order_by(Lead.id)))
            uow.session.execute(insert(StageChange), [
                {"org_id": org.id, "lead_id": lids[i], "from_stage": "research", "to_stage": STAGES[i % 9],
                 "actor_id": ids[i % members], "at": at(i)} for i in range(share)])
            vbase = uow.session.scalar(select(func.count(Visit.id))) or 0
            uow.session.execute(insert(Visit), [
                {"org_id": org.id, "number": vbase + i + 1, "customer_id": cids[i], "member_id": ids[i % members],
                 "channel": "onsite", "at": at(i)} for i in range(share)])
            cbase = uow.session.scalar(select(func.count(Callback.id))) or 0
            uow.session.execute(insert(Callback), [
                {"org_id": org.id, "number": cbase + i + 1, "customer_id": cids[i], "owner_id": ids[i % members],
                 "due_date": at(i).date(), "reason": "cadence", "status": "done" if i % 2 else "open",
                 "done_at": at(i) if i % 2 else None, "created_at": at(i)} for i in range(share)])
        uow.session.execute(insert(MeetingUpdate), [
            {"org_id": org.id, "week": WEEK, "member_id": m, "done": "visits " * 20, "problems": "none",
             "plan": "close deals", "created_at": NOW, "updated_at": NOW} for m in ids[: members * 4 // 5]])
        uow.session.execute(insert(ActionItem), [
            {"org_id": org.id, "number": i + 1, "week": WEEK, "owner_id": ids[i % members], "what": f"item {i}",
             "due_date": WEEK + timedelta(days=3), "status": "open", "created_by_id": ids[0], "created_at": NOW}
            for i in range(20)])
        uow.commit()
        return org.id


def bare(app, org_id: int) -> int:
    """The floor: one plain COUNT per table for each of the two weeks."""
    total = 0
    with app.uow() as uow:
        for first in (date(2026, 11, 23), date(2026, 11, 16)):
            start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=8)
            end = start + timedelta(days=7)
            for column in (Customer.created_at, Lead.created_at, StageChange.at, Visit.at, Callback.done_at):
                total += uow.session.scalar(select(func.count()).select_from(column.class_).where(
                    column >= start, column < end)) or 0
            total += uow.session.scalar(select(func.count(Callback.id)).where(
                Callback.due_date >= first, Callback.due_date < first + timedelta(days=7))) or 0
    return total


def build(app, org_id: int) -> tuple[float, float, int]:
    """Seconds for the digest (figures, answers, pipeline, actions, text) and for its chart."""
    t0 = time.perf_counter()
    with app.uow() as uow:
        org = uow.session.get(Organisation, org_id)
        d = meeting.build_digest(uow, org, WEEK)
        text = meeting.digest_text(d)
    t1 = time.perf_counter()
    png = meeting.digest_chart(d, "en")
    t2 = time.perf_counter()
    assert text and png[:4] == b"\x89PNG"
    return t1 - t0, t2 - t1, len(png)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai", admins=""),
                        FakeClock(NOW))
        t = time.perf_counter()
        org_id = seed(app, args.members, args.records)
        print(f"seeded {args.members} members, {args.records:,} records in the week and as many the week before "
              f"({app.engine.dialect.name}) in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        build(app, org_id)
        print(f"first digest (loads the font): {time.perf_counter() - t:.3f}s")
        figures, charts, bares = [], [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            bare(app, org_id)
            bares.append(time.perf_counter() - t)
            f, c, size = build(app, org_id)
            figures.append(f)
            charts.append(c)
        f, c, b = statistics.median(figures), statistics.median(charts), statistics.median(bares)
        print(f"digest figures+answers+actions: {f * 1000:.1f} ms   chart: {c * 1000:.1f} ms ({size:,} bytes)   "
              f"total: {(f + c) * 1000:.1f} ms (median of {args.rounds}; target < 1000 ms)")
        print(f"bare SQL counts (12 COUNT queries): {b * 1000:.1f} ms   "
              f"figures / bare: {f / b:.1f}x   digest with chart / bare: {(f + c) / b:.1f}x")
        app.close()


if __name__ == "__main__":
    main()
