"""Digest Monday: every department's weekly meeting at the same instant (Monday 09:30 in one time zone), each
digest drawn with its chart and posted, by 2 replicas of `bizbot serve` on PostgreSQL, while people type
commands.

    .venv/bin/python bench/digest_monday.py [--url postgresql://postgres@127.0.0.1:5432/test] [--replicas 2]
        [--departments 1000] [--members 5] [--latency 0.15] [--max-seconds 600]

On a database of its own (created on the server of --url, dropped at the end): `--departments` Slack
workspaces of `--members` members, each with a little of last week's work (two customers, a lead and two
visits a member, four of five members' updates) and its weekly meeting, whose digest falls due at the instant.
The servers, the fake Slack Web API (answering after `--latency` seconds, one message a second per channel;
files uploaded the way files_upload_v2 does) and the commands are those of bench/burst.py.

Reported: seconds from the instant until every digest was posted (the chart uploaded and shared with the
digest as its comment: files.completeUploadExternal) and the first and median; the charts drawn per replica;
`/lead list` at --command-rate a second to the replicas in turn for `--quiet` seconds before the instant
(the baseline) and during the digests: ack p50/p99 of each; CPU of the load client, the servers (with their
chart workers) and the fake. Target: every digest within 2 minutes, commands unaffected.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import burst  # noqa: E402
from fakes.serve_process import ServeProcess  # noqa: E402
from procstat import cpu_seconds, tree_cpu_seconds  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from domain.meeting import weekly  # noqa: E402
from domain.store.engine import make_engine, normalize_url, upgrade  # noqa: E402
from domain.store.models import (  # noqa: E402
    Customer,
    DueItem,
    Identity,
    Lead,
    MeetingUpdate,
    Member,
    OutboxMessage,
    Visit,
)
from domain.team.members import ensure_org  # noqa: E402

ZONE = "Asia/Shanghai"


def seed(url: str, departments: int, members: int) -> list[str]:
    """The departments, their members, last week's work and the meeting (its digest due far away until the
    instant). Returns the Slack team ids."""
    from bot.bootstrap import bootstrap
    from bot.settings import Settings

    app = bootstrap(Settings(database_url=url, locale="en", timezone=ZONE))
    now = datetime.now(UTC)
    week = weekly.week_of((now - timedelta(days=7)).date())
    last_week = [now - timedelta(days=7 - d) for d in range(1, 6)]
    teams = [f"TD{d:05d}" for d in range(departments)]
    for n, team in enumerate(teams):
        with app.uow() as uow:
            org = ensure_org(uow, "slack", team, f"dept {n}", ZONE, "en")
            meeting = weekly.Schedule(True, now.weekday(), weekly.parse_clock("00:00"), f"C{n:05d}")
            org.settings = {**(org.settings or {}), "meeting": meeting.to_settings()}
            uow.session.merge(org)
            uow.commit()
            uow.session.execute(insert(Member), [
                {"org_id": org.id, "name": f"m{n}_{i}", "name_key": f"m{n}_{i}", "roles": "sales",
                 "active": True, "created_at": now, "locale": "en"} for i in range(members)])
            ids = list(uow.session.scalars(select(Member.id).where(Member.org_id == org.id).order_by(Member.id)))
            uow.session.execute(insert(Identity), [
                {"member_id": m, "platform": "slack", "workspace": team, "external_id": f"U{n:05d}X{i:03d}"}
                for i, m in enumerate(ids)])
            uow.session.execute(insert(Customer), [
                {"org_id": org.id, "number": i + 1, "name": f"c{i}", "name_key": f"c{i}", "owner_id": m,
                 "level": "regular", "risk": "low", "created_at": last_week[i % 5], "updated_at": now}
                for i, m in enumerate(ids * 2)])
            customers = list(uow.session.scalars(select(Customer.id).where(Customer.org_id == org.id)
                                                 .order_by(Customer.id)))
            uow.session.execute(insert(Lead), [
                {"org_id": org.id, "number": i + 1, "customer_id": customers[i], "owner_id": m,
                 "stage": ("research", "needs", "proposal", "negotiation")[i % 4], "currency": "CNY",
                 "key_account": False, "risk": "low", "version": 1, "created_at": last_week[i % 5],
                 "updated_at": now} for i, m in enumerate(ids)])
            uow.session.execute(insert(Visit), [
                {"org_id": org.id, "number": i + 1, "customer_id": customers[i], "member_id": m, "channel": "onsite",
                 "at": last_week[i % 5]} for i, m in enumerate(ids * 2)])
            uow.session.execute(insert(MeetingUpdate), [
                {"org_id": org.id, "week": week + timedelta(days=7), "member_id": m, "done": "visits",
                 "problems": "none", "plan": "close deals", "created_at": now, "updated_at": now}
                for m in ids[: max(1, members * 4 // 5)]])
            uow.session.execute(insert(DueItem).values(
                org_id=org.id, kind=weekly.MEETING, subject_id=org.id, key=f"{weekly.MEETING}:{org.id}",
                state="pending", due_at=burst.FAR))
            uow.commit()
    app.close()
    return teams


def lead_list_acks(servers: list[ServeProcess], team: str, base_url: str, rate: float, seconds: float,
                   until: threading.Event) -> tuple[list[float], int, int, list[float]]:
    return asyncio.run(burst.commands([f"{s.url}/slack/events" for s in servers], team, "U00000X000", base_url,
                                      rate, until, int(rate * seconds)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    admin_url = normalize_url(args.url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = "bizbot_monday_" + uuid.uuid4().hex[:10]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    servers: list[ServeProcess] = []
    slack = None
    engine = None
    cpu0 = time.process_time()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / name
    try:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        teams = seed(url, args.departments, args.members)
        print(f"  seeded {args.departments} departments × {args.members} members in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        slack = burst.Fake("slack", args.latency)
        env = {"BIZBOT_DATABASE_URL": url, "BIZBOT_LOCALE": "en", "BIZBOT_TIMEZONE": ZONE,
               "BIZBOT_LOG_LEVEL": "warning", "BIZBOT_SWEEP_SECONDS": "1", "BIZBOT_CPU": "off",
               "SLACK_BOT_TOKEN": burst.SLACK_TOKEN, "SLACK_SIGNING_SECRET": burst.SECRET,
               "SLACK_API_URL": slack.url}
        for r in range(args.replicas):
            (work / f"r{r}").mkdir(parents=True)
            servers.append(ServeProcess(env, work / f"r{r}"))
        for server in servers:
            server.wait_serving(120)
        # the replicas' first ticks give the new departments their recurring jobs: let them settle
        for _ in range(120):
            with engine.connect() as conn:
                before = conn.scalar(select(func.count()).select_from(DueItem))
            time.sleep(1.0)
            with engine.connect() as conn:
                if conn.scalar(select(func.count()).select_from(DueItem)) == before:
                    break
        lead_list_acks(servers, teams[0], slack.base_url, 20.0, 1.0, threading.Event())  # warm-up
        quiet = lead_list_acks(servers, teams[0], slack.base_url, args.command_rate, args.quiet,
                               threading.Event())
        server_cpu0 = [tree_cpu_seconds(s.proc.pid) for s in servers]
        fake_cpu0 = cpu_seconds(slack.proc.pid or 0)

        instant = datetime.now(UTC)
        t0 = time.monotonic()
        with engine.begin() as conn:
            conn.execute(update(DueItem).where(DueItem.kind == weekly.MEETING).values(due_at=instant))
        done = threading.Event()
        result: dict[str, Any] = {}

        def client() -> None:
            result["commands"] = lead_list_acks(servers, teams[0], slack.base_url, args.command_rate,
                                                args.max_seconds, done)

        load = threading.Thread(target=client, daemon=True)
        load.start()
        posted: list[float] = []
        seen = 0
        sent_q = (select(func.count()).select_from(OutboxMessage)
                  .where(OutboxMessage.key.like("meeting:digest:%"), OutboxMessage.status == "sent"))
        while time.monotonic() - t0 < args.max_seconds:
            with engine.connect() as conn:
                sent = conn.scalar(sent_q) or 0
            now = time.monotonic() - t0
            posted += [now] * (sent - seen)
            seen = sent
            if sent >= args.departments:
                break
            time.sleep(0.25)
        done.set()
        load.join(60)
        server_cpu = [tree_cpu_seconds(s.proc.pid) - c for s, c in zip(servers, server_cpu0, strict=True)]
        fake_cpu = cpu_seconds(slack.proc.pid or 0) - fake_cpu0
        stats = slack.stats()
        with engine.connect() as conn:
            by_replica = dict(conn.execute(select(OutboxMessage.claimed_by, func.count())
                                           .where(OutboxMessage.key.like("meeting:digest:%"),
                                                  OutboxMessage.status == "sent")
                                           .group_by(OutboxMessage.claimed_by)).all())
        return {"posted": posted, "files": stats["files"], "by_replica": by_replica, "quiet": quiet,
                "during": result.get("commands", ([], 0, 0, [])), "server_cpu": server_cpu, "fake_cpu": fake_cpu,
                "client_cpu": time.process_time() - cpu0}
    finally:
        for server in servers:
            server.stop()
        if slack is not None:
            slack.stop()
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--departments", type=int, default=1000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--command-rate", type=float, default=5.0, help="commands a second")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of commands before the instant")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; {args.replicas} replica(s), "
          f"platform latency {args.latency * 1000:.0f} ms", flush=True)
    r = run(args)
    posted = r["posted"]
    print(f"  digests posted: {len(posted)} of {args.departments} (files shared: {r['files']}); first "
          f"{posted[0] if posted else float('nan'):.1f} s, median {statistics.median(posted) if posted else 0:.1f} s, "
          f"all {burst.fmt(posted[-1] if len(posted) >= args.departments else None)} s after the instant; "
          f"by replica {sorted(r['by_replica'].values(), reverse=True)}")
    for label, (latencies, late, errors, slow) in (("before", r["quiet"]), ("during", r["during"])):
        print(f"  commands {label}: {len(latencies)} acked, p50 {burst.pct(latencies, 50) * 1000:.0f} ms, p99 "
              f"{burst.pct(latencies, 99) * 1000:.0f} ms, slowest {max(latencies, default=0) * 1000:.0f} ms, "
              f"over 200 ms {len(slow)}, late {late}, errors {errors}")
    print(f"  CPU s: load client {r['client_cpu']:.1f}, servers with their chart workers "
          f"{[round(c, 1) for c in r['server_cpu']]}, fake Slack {r['fake_cpu']:.1f}", flush=True)


if __name__ == "__main__":
    main()
