"""A 09:00 burst against `bizbot serve`: reminders due at one instant, swept and delivered by 1 or 2 replicas on
PostgreSQL (or one process on SQLite) within the platforms' limits, while people type commands.

    .venv/bin/python bench/burst.py [--url postgresql://postgres@127.0.0.1:5432/test | sqlite://] [--replicas 1 2]
        [--latency 0 0.15] [--departments 50] [--members 100] [--each 1] [--telegram 600] [--max-seconds 300]

For every (replicas, latency) case, on a database of its own (on PostgreSQL created on the server of --url and
dropped at the end; on SQLite a file of its own, one process): `--departments` Slack workspaces × `--members`
members, and one Telegram group of `--telegram` members, each member with `--each` callback reminders (due
items) due at the same instant (several to one person go out merged, as one message). The servers are
`bizbot serve` processes on 127.0.0.1 (tests/fakes/serve_process.py), all started before the instant and
stopped (SIGTERM) at the end. The Slack and Telegram Web APIs are fakes (tests/fakes) in processes of their
own, answering after `--latency` seconds and enforcing the platforms' limits: Slack one message a second
per channel, Telegram 30 a second per bot and one a second per chat (tests/fakes/telegram_fake.py); a send
that breaks one is answered 429 with Retry-After and counted as a limit broken.

Reported per case:
  sweep       seconds from the instant until no reminder is still due (all in the outbox)
  delivered   messages the fakes accepted, lost (members with no accepted message) and doubled (more than
              one to a member), limits broken (429s)
  rate        Slack and Telegram messages a second, from the instant to the last accepted send, total and
              per replica (sent rows by the replica that claimed them)
  commands    `/lead list` sent to the replicas in turn during the burst (--command-rate a second; each
              replica's first three before the instant, not counted): ack p50 and p99, and how many were
              late (an ack without the list)
  CPU         the load client's (this process: seeding, polling, the commands), each fake's, each server's

The machine this was written on has 2 cores shared with other work: the default sizes (5,000 Slack and 600
Telegram reminders) keep a case to a minute or two; the platforms' targets are stated for 100,000.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from fakes.serve_process import ServeProcess  # noqa: E402
from fakes.slack_payloads import form_body, next_trigger_id, signed_headers, slash_command  # noqa: E402
from procstat import cpu_seconds  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from domain.delivery.calendar import quiet  # noqa: E402
from domain.store.engine import make_engine, normalize_url, upgrade  # noqa: E402
from domain.store.models import Callback, Customer, DueItem, Identity, Member, OutboxMessage  # noqa: E402
from domain.team.members import ensure_org  # noqa: E402

SECRET = "bench-signing-secret"
SLACK_TOKEN = "xoxb-bench-token"
TELEGRAM_TOKEN = "123456:bench-telegram-token"
GROUP = "-1001"
FAR = datetime(2030, 1, 1, tzinfo=UTC)
WORKING_ZONES = ["Asia/Shanghai"] + [f"Etc/GMT{-h:+d}" for h in range(-11, 15) if h]


# --- the fake platforms, each in a process of its own ----------------------------------------------------
def _slack_class() -> Any:
    from fakes.slack_fake import FakeSlack

    class LimitedSlack(FakeSlack):
        """FakeSlack that answers a chat.postMessage 429 (Retry-After: 1) when it breaks one a second per
        channel, and counts the messages it accepted per channel."""

        def __init__(self, latency: float) -> None:
            super().__init__()
            self.delay(latency)
            self.lock = threading.Lock()
            self.last: dict[str, float] = {}
            self.accepted: Counter[str] = Counter()
            self.broken = 0
            self.first = self.final = 0.0

        def _respond(self, call: Any) -> tuple[int, Any, dict[str, str]]:
            if call.method != "chat.postMessage":
                return super()._respond(call)
            channel = str(call.args.get("channel"))
            now = time.monotonic()
            with self.lock:
                if now - self.last.get(channel, -1e9) < 0.95:
                    self.broken += 1
                    refused = True
                else:
                    self.last[channel] = now
                    refused = False
            if refused:  # an accepted call waits its latency in FakeSlack._respond
                time.sleep(self._delay)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            with self.lock:
                self.accepted[channel] += 1
                self.first = self.first or time.monotonic()
                self.final = time.monotonic()
            return super()._respond(call)

    return LimitedSlack


def fake_process(kind: str, latency: float, conn: Any) -> None:
    """Runs one fake platform until told to stop; answers "stats" with what it saw."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    if kind == "slack":
        fake = _slack_class()(latency)
    else:
        from fakes.telegram_fake import FakeTelegram

        fake = FakeTelegram(token=TELEGRAM_TOKEN, enforce_limits=True)
        fake.delay(latency)
    with fake:
        url = fake.api_url if kind == "slack" else fake.root
        conn.send((url, fake.root))
        while True:
            what = conn.recv()
            if what == "stop":
                return
            if kind == "slack":
                with fake.lock:
                    conn.send({"accepted": dict(fake.accepted), "broken": fake.broken, "first": fake.first,
                               "final": fake.final, "files": len(fake.calls_to("files.completeUploadExternal"))})
            else:
                sends = fake.calls_to("sendMessage")
                ok = [c for c in sends if c.ok]
                conn.send({"accepted": dict(Counter(str(c.params.get("chat_id")) for c in ok)),
                           "broken": sum(1 for c in sends if c.status == 429),
                           "first": min((c.at for c in ok), default=0.0),
                           "final": max((c.at for c in ok), default=0.0)})


class Fake:
    def __init__(self, kind: str, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=fake_process, args=(kind, latency, child), daemon=True)
        self.proc.start()
        if not self.conn.poll(60):
            self.proc.kill()
            raise RuntimeError(f"fake {kind} did not start")
        self.url, self.base_url = self.conn.recv()

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


# --- the data ------------------------------------------------------------------------------------------
def seed(url: str, departments: int, members: int, telegram: int, each: int = 1) -> tuple[list[str], int]:
    """Departments, members with their identities, `each` customers, callbacks and due items a member (due far
    away until the instant). Returns the Slack team ids and the reminders' count."""
    from bot.bootstrap import bootstrap
    from bot.settings import Settings

    app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai"))
    now = datetime.now(UTC)
    teams = [f"TB{d:04d}" for d in range(departments)]
    places = [("slack", team, team, members) for team in teams]
    if telegram:
        places.append(("telegram", GROUP, "telegram", telegram))
    total = 0
    for n_place, (platform, external, workspace, count) in enumerate(places):
        with app.uow() as uow:
            org = ensure_org(uow, platform, external, f"bench {n_place}", "Asia/Shanghai", "en")
            # a time zone where it is working hours for the next half hour, so nothing waits for the morning
            for zone in WORKING_ZONES:
                org.timezone = zone
                if not quiet(org, now) and not quiet(org, now + timedelta(minutes=30)):
                    break
            else:
                raise SystemExit("no time zone is in working hours now")
            uow.session.merge(org)
            uow.commit()
            uow.session.execute(insert(Member), [
                {"org_id": org.id, "name": f"m{n_place}_{i}", "name_key": f"m{n_place}_{i}", "roles": "sales",
                 "active": True, "created_at": now, "locale": "en"} for i in range(count)])
            ids = list(uow.session.scalars(select(Member.id).where(Member.org_id == org.id).order_by(Member.id)))
            uow.session.execute(insert(Identity), [
                {"member_id": m, "platform": platform, "workspace": workspace,
                 "external_id": f"U{n_place:04d}X{i:05d}" if platform == "slack" else str(500_000 + i)}
                for i, m in enumerate(ids)])
            uow.session.execute(insert(Customer), [
                {"org_id": org.id, "number": i + 1, "name": f"c{i}", "name_key": f"c{i}", "owner_id": m,
                 "level": "regular", "risk": "low", "cadence_days": 30, "created_at": now, "updated_at": now}
                for i, m in enumerate(ids * each)])
            owners = dict(uow.session.execute(select(Customer.id, Customer.owner_id)
                                              .where(Customer.org_id == org.id)).all())
            uow.session.execute(insert(Callback), [
                {"org_id": org.id, "number": i + 1, "customer_id": c, "owner_id": owners[c],
                 "due_date": date.today(), "reason": "cadence", "status": "open", "created_at": now}
                for i, c in enumerate(sorted(owners))])
            callbacks = list(uow.session.scalars(select(Callback.id).where(Callback.org_id == org.id)))
            uow.session.execute(insert(DueItem), [
                {"org_id": org.id, "kind": "callback", "subject_id": cb, "state": "pending", "key": f"callback:{cb}",
                 "due_at": FAR} for cb in callbacks])
            uow.commit()
            total += len(callbacks)
    app.close()
    return teams, total


# --- the commands during the burst --------------------------------------------------------------------
async def commands(urls: list[str], team: str, user: str, api_base: str, rate: float, until: threading.Event,
                   limit: int) -> tuple[list[float], int, int, list[float]]:
    """`/lead list` at `rate` a second to the replicas in turn until `until` is set (at most `limit`)."""
    import httpx

    latencies: list[float] = []
    slow: list[float] = []  # when (seconds after the first) the commands slower than 200 ms were sent
    first = time.perf_counter()
    late = errors = 0
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(url: str) -> None:
            nonlocal late, errors
            body = form_body(slash_command(command="/lead", text="list", user_id=user, team_id=team,
                                           response_url=f"{api_base}/response/bench", trigger_id=next_trigger_id()))
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=signed_headers(body, SECRET))
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append(time.perf_counter() - started)
            if latencies[-1] > 0.2:
                slow.append(round(started - first, 1))
            if response.status_code != 200:
                errors += 1
            elif "Leads" not in response.text and "No leads" not in response.text and "no leads" not in response.text:
                late += 1

        tasks = []
        for i in range(limit):
            if until.is_set():
                break
            tasks.append(asyncio.ensure_future(one(urls[i % len(urls)])))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return latencies, late, errors, slow


def fmt(seconds: float | None) -> str:
    return "not within the bound" if seconds is None else f"{seconds:.1f}"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- one case ------------------------------------------------------------------------------------------
def run_case(admin_url: str, replicas: int, latency: float, args: argparse.Namespace) -> dict[str, Any]:
    sqlite = admin_url.startswith("sqlite")
    name = "bizbot_burst_" + uuid.uuid4().hex[:10]
    work = Path(tempfile.mkdtemp(prefix="bizbot-burst-"))
    if sqlite:  # a file of its own, one process
        admin = None
        url = f"sqlite:///{work / 'burst.db'}"
    else:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    fakes: list[Fake] = []
    servers: list[ServeProcess] = []
    engine = None
    cpu0 = time.process_time()
    try:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        teams, reminders = seed(url, args.departments, args.members, args.telegram, args.each)
        print(f"  seeded {reminders} reminders (({args.departments} workspaces × {args.members} + Telegram "
              f"{args.telegram}) × {args.each}) in {time.perf_counter() - t:.1f} s", flush=True)
        slack, telegram = Fake("slack", latency), Fake("telegram", latency)
        fakes = [slack, telegram]
        env = {"BIZBOT_DATABASE_URL": url, "BIZBOT_LOCALE": "en", "BIZBOT_TIMEZONE": "Asia/Shanghai",
               "BIZBOT_LOG_LEVEL": "warning", "BIZBOT_SWEEP_SECONDS": "1", "BIZBOT_CPU": "off",
               "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
               "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_URL": telegram.url,
               "TELEGRAM_WEBHOOK_URL": "https://bench.invalid/telegram", "TELEGRAM_WEBHOOK_SECRET": "bench-secret"}
        for r in range(replicas):
            (work / f"r{r}").mkdir()
            servers.append(ServeProcess(env, work / f"r{r}"))
        for server in servers:
            server.wait_serving(90)
        # warm-up, not counted: each replica's first commands (statements compiled, modules loaded)
        asyncio.run(commands([f"{s.url}/slack/events" for s in servers], teams[0], "U0000X00000", slack.base_url,
                             20.0, threading.Event(), 3 * len(servers)))
        server_cpu0 = [cpu_seconds(s.proc.pid) for s in servers]
        fake_cpu0 = [cpu_seconds(f.proc.pid or 0) for f in fakes]

        # the instant: every reminder due now
        instant = datetime.now(UTC)
        t0 = time.monotonic()
        with engine.begin() as conn:
            conn.execute(update(DueItem).where(DueItem.kind == "callback").values(due_at=instant))
        done = threading.Event()
        result: dict[str, Any] = {}

        def client() -> None:
            result["commands"] = asyncio.run(commands(
                [f"{s.url}/slack/events" for s in servers], teams[0], "U0000X00000", slack.base_url,
                args.command_rate, done, int(args.command_rate * args.max_seconds)))

        load = threading.Thread(target=client, daemon=True)
        load.start()
        swept_at = finished_at = None
        pending_q = (select(func.count()).select_from(DueItem)
                     .where(DueItem.state == "pending", DueItem.due_at <= instant))
        waiting_q = (select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.status.in_(("pending", "sending"))))
        while time.monotonic() - t0 < args.max_seconds:
            with engine.connect() as conn:
                pending = conn.scalar(pending_q) or 0
                waiting = conn.scalar(waiting_q) or 0
            now = time.monotonic() - t0
            if swept_at is None and pending == 0:
                swept_at = now
            if swept_at is not None and waiting == 0:
                finished_at = now
                break
            time.sleep(0.25)
        done.set()
        load.join(60)
        server_cpu = [cpu_seconds(s.proc.pid) - c for s, c in zip(servers, server_cpu0, strict=True)]
        fake_cpu = [cpu_seconds(f.proc.pid or 0) - c for f, c in zip(fakes, fake_cpu0, strict=True)]
        stats = {"slack": slack.stats(), "telegram": telegram.stats()}
        with engine.connect() as conn:
            by_replica = dict(conn.execute(select(OutboxMessage.claimed_by, func.count())
                                           .where(OutboxMessage.status == "sent")
                                           .group_by(OutboxMessage.claimed_by)).all())
            statuses = dict(conn.execute(select(OutboxMessage.status, func.count())
                                         .group_by(OutboxMessage.status)).all())
        accepted = {k: sum(s["accepted"].values()) for k, s in stats.items()}
        doubled = sum(n - 1 for s in stats.values() for n in s["accepted"].values() if n > 1)
        reached = sum(len(s["accepted"]) for s in stats.values())
        latencies, late, errors, slow = result.get("commands", ([], 0, 0, []))
        return {
            "replicas": replicas, "latency": latency, "reminders": reminders,
            "sweep_s": swept_at, "done_s": finished_at, "accepted": accepted,
            "lost": reminders // args.each - reached, "doubled": doubled,
            "broken": {k: s["broken"] for k, s in stats.items()},
            "rate": {k: accepted[k] / max(s["final"] - t0, 1e-9) if accepted[k] else 0.0 for k, s in stats.items()},
            "first_s": {k: s["first"] - t0 if accepted[k] else None for k, s in stats.items()},
            "sending": {k: accepted[k] / max(s["final"] - s["first"], 1e-9) if accepted[k] > 1 else 0.0
                        for k, s in stats.items()},
            "by_replica": by_replica, "statuses": statuses,
            "acks": len(latencies), "ack_p50_ms": pct(latencies, 50) * 1000, "ack_p99_ms": pct(latencies, 99) * 1000,
            "ack_p90_ms": pct(latencies, 90) * 1000, "ack_max_ms": max(latencies, default=0.0) * 1000,
            "over_200": sum(1 for v in latencies if v > 0.2), "slow_at": slow,
            "late": late, "errors": errors,
            "client_cpu": time.process_time() - cpu0, "server_cpu": server_cpu, "fake_cpu": fake_cpu,
        }
    finally:
        for server in servers:
            server.stop()
        for fake in fakes:
            fake.stop()
        if engine is not None:
            engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.15])
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--telegram", type=int, default=600)
    parser.add_argument("--each", type=int, default=1, help="reminders a member (merged into one message)")
    parser.add_argument("--command-rate", type=float, default=5.0, help="commands a second during the burst")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="a case's bound")
    args = parser.parse_args()
    admin_url = normalize_url(args.url)
    if admin_url.startswith("sqlite") and args.replicas != [1]:
        raise SystemExit("on SQLite, one process: --replicas 1")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}", flush=True)
    for latency in args.latency:
        for replicas in args.replicas:
            print(f"case: {replicas} replica(s), platform latency {latency * 1000:.0f} ms", flush=True)
            r = run_case(admin_url, replicas, latency, args)
            per = {k: v / replicas for k, v in r["rate"].items()}
            print(f"  swept into the outbox {fmt(r['sweep_s'])} s after the instant; all delivered at "
                  f"{fmt(r['done_s'])} s")
            print(f"  accepted: {r['accepted']}; lost {r['lost']}, doubled {r['doubled']}, limits broken (429s) "
                  f"{r['broken']}; outbox {r['statuses']}")
            print("  rate (msg/s, instant to last send): " + ", ".join(
                f"{k} {v:.1f} ({per[k]:.1f} per replica)" for k, v in r["rate"].items())
                  + f"; sent by replica {sorted(r['by_replica'].values(), reverse=True)}")
            print("  first message after the instant (s): " + ", ".join(
                f"{k} {fmt(v)}" for k, v in r["first_s"].items()) + "; rate first to last send (msg/s): "
                + ", ".join(f"{k} {v:.1f}" for k, v in r["sending"].items()))
            print(f"  commands during the burst: {r['acks']} acked, p50 {r['ack_p50_ms']:.0f} ms, p99 "
                  f"{r['ack_p99_ms']:.0f} ms (p90 {r['ack_p90_ms']:.0f}, slowest {r['ack_max_ms']:.0f}, over 200 ms "
                  f"{r['over_200']}, sent at {r['slow_at']} s), late {r['late']}, errors {r['errors']}")
            print(f"  CPU s: load client {r['client_cpu']:.1f}, servers "
                  f"{[round(c, 1) for c in r['server_cpu']]}, fakes (slack, telegram) "
                  f"{[round(c, 1) for c in r['fake_cpu']]}", flush=True)


if __name__ == "__main__":
    main()
