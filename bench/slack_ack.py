"""Slack acknowledgement throughput and latency: bizbot against a bare slack-bolt app, in one run.

    .venv/bin/python bench/slack_ack.py [--requests 2000] [--seconds 5] [--rounds 5] [--url postgresql://...]

Every target is served the same way: uvicorn (one worker) on 127.0.0.1 in a server process of its
own, all started at the beginning and stopped at the end; the load generator (aiohttp, N concurrent workers) runs
in this process, so its CPU does not compete with the server's event loop for the GIL. Requests carry real Slack v0
signatures.
A FakeSlack (tests/fakes/slack_fake.py) answers the Web API calls (auth.test, users.info).

Targets:
  bare bolt   AsyncApp + AsyncSlackRequestHandler on Starlette; `/ping` only acks.
              Measured with process_before_response=True and =False; bizbot is compared to the faster.
  /visit      bizbot, `/visit Acme note="..."`: a real write (org and customer set up first).
  /lead list  bizbot, a real read of a few leads.

At each concurrency (1, 10, 50), per target: warm-up requests, then --requests requests or --seconds,
whichever ends first, taken in --rounds slices with the targets taking turns (so a busy neighbour
process slows them all alike and the ratios stay fair). Every request carries a trigger_id of its own, as
Slack sends it (bizbot answers a replayed trigger with an empty ack and runs nothing). An error is a non-200
answer or a body without the expected text (a late ack included).
Each server process's CPU (user + system, Linux /proc) is read around its measured slices: server CPU
per request says where the time goes, and bare/bizbot CPU per request is the throughput ratio the
server alone would allow. The load generator's own CPU per request is printed too: when it nears the
server's, the client, not the server, sets the pace.
Target: on SQLite, at concurrency 10, p99 < 50 ms and >= 40% of the bare app's throughput.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.slack_payloads import form_body, next_trigger_id, signed_headers, slash_command  # noqa: E402
from procstat import cpu_seconds  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
LEVELS = (1, 10, 50)
WARMUP = 50
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.40


# --- server process ------------------------------------------------------------------------
def _bare_asgi(api_url: str, process_before_response: bool):
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(base_url=api_url, token=TOKEN),
                    process_before_response=process_before_response)

    @bolt.command("/ping")
    async def ping(ack) -> None:
        await ack("pong")

    handler = AsyncSlackRequestHandler(bolt)

    async def endpoint(request: Request):
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])]), None


def _bizbot_asgi(api_url: str, db_url: str):
    from bot.bootstrap import bootstrap
    from bot.server import create_asgi
    from bot.settings import Settings

    settings = Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins="",
                        open_enrolment=True,  # every run's first user opens the department, as before
                        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url)
    app = bootstrap(settings)
    return create_asgi(app, run_worker=False, freeze_heap=True), app  # freeze_heap: as `bizbot serve`


def serve(kind: str, api_url: str, db_url: str, cpu: str, dialect: str, conn) -> None:
    """Server process: build the target, serve it on a pre-bound socket, stop when told."""
    import logging
    import socket
    import threading

    import uvicorn

    from bot.affinity import pin

    logging.basicConfig(level=logging.WARNING)
    # where `bizbot serve` would keep bizbot (BIZBOT_CPU); the bare apps are placed alike
    pin(cpu, dialect)
    if kind == "bizbot":
        asgi, app = _bizbot_asgi(api_url, db_url)
    else:
        asgi, app = _bare_asgi(api_url, process_before_response=(kind == "bolt-pbr"))
    # IPPROTO_TCP, not socket.socket()'s proto 0: asyncio sets TCP_NODELAY only on proto-6 sockets, and
    # without it every keep-alive response (h11 writes headers and body apart) waits ~40 ms for a delayed ACK.
    # uvicorn.run(host=..., port=...) in `bizbot serve` gets a proto-6 socket from getaddrinfo.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    if app is None:  # the bare apps' start-up heap is frozen too, as bizbot's (create_asgi's freeze_heap)
        import gc

        gc.collect()
        gc.freeze()
    conn.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    conn.recv()  # "stop"
    server.should_exit = True
    thread.join(10)
    if app is not None:
        app.close()


class Server:
    def __init__(self, kind: str, api_url: str, cpu: str, dialect: str, db_url: str = "") -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(kind, api_url, db_url, cpu, dialect, child), daemon=True)
        self.proc.start()
        if not self.conn.poll(60):
            self.proc.kill()
            raise RuntimeError(f"{kind} server did not start")
        self.url = self.conn.recv() + "/slack/events"
        self.pid = self.proc.pid or 0

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


# --- load generator ------------------------------------------------------------------------
@dataclass
class Target:
    label: str
    url: str
    body: bytes  # with TRIGGER where each request's own trigger_id goes
    expect: str
    pid: int = 0  # the server process, whose CPU is read around each measured slice


@dataclass
class Result:
    target: str
    concurrency: int
    count: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    cpu: float = 0.0  # the server process's CPU seconds over the measured slices
    client_cpu: float = 0.0  # the load generator's (this process's) CPU seconds over them

    def add(self, count: int, seconds: float, latencies: list[float], errors: int, first: str | None) -> None:
        self.count += count
        self.seconds += seconds
        self.latencies += latencies
        self.errors += errors
        self.first_error = self.first_error or first

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request, in ms."""
        return self.cpu / self.count * 1000 if self.count else float("nan")

    @property
    def client_cpu_ms(self) -> float:
        """Load generator CPU per request, in ms."""
        return self.client_cpu / self.count * 1000 if self.count else float("nan")

    def pct(self, p: float) -> float:
        ms = sorted(self.latencies)
        return ms[min(len(ms) - 1, math.ceil(p / 100 * len(ms)) - 1)] * 1000 if ms else float("nan")


async def _run_level(session, url: str, body: bytes, expect: str, concurrency: int,
                     total: int, seconds: float) -> tuple[int, float, list[float], int, str | None]:
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    remaining = total
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal remaining, errors, first_error
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            data = body.replace(b"TRIGGER", next_trigger_id().encode())
            headers = signed_headers(data, SECRET)
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    text = await response.text()
                    status = response.status
            except Exception as exc:  # a dropped connection is an error, not a crash
                status, text = 0, repr(exc)
            latencies.append(time.perf_counter() - t0)
            if status != 200 or expect not in text:
                errors += 1
                first_error = first_error or f"HTTP {status}: {text[:200]}"

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), time.perf_counter() - start, latencies, errors, first_error


async def measure(targets: list[Target], total: int, seconds: float, rounds: int) -> dict[tuple[str, int], Result]:
    """Per level, the targets take turns in short slices, so a noisy neighbour hits them all alike."""
    import aiohttp

    results: dict[tuple[str, int], Result] = {}
    for concurrency in LEVELS:
        for t in targets:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                await _run_level(session, t.url, t.body, t.expect, concurrency, WARMUP, 30)
            results[t.label, concurrency] = Result(t.label, concurrency)
        for r in range(rounds):
            for t in targets[r % len(targets):] + targets[:r % len(targets)]:
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                    await _run_level(session, t.url, t.body, t.expect, concurrency, concurrency, 30)  # connect
                    cpu, client = cpu_seconds(t.pid), time.process_time()
                    results[t.label, concurrency].add(*await _run_level(
                        session, t.url, t.body, t.expect, concurrency, math.ceil(total / rounds), seconds / rounds))
                    results[t.label, concurrency].cpu += cpu_seconds(t.pid) - cpu
                    results[t.label, concurrency].client_cpu += time.process_time() - client
        for t in targets:
            res = results[t.label, concurrency]
            print(f"  {t.label:<24} c={concurrency:<3} {res.rps:8.1f} req/s  p50 {res.pct(50):7.2f} ms  "
                  f"p99 {res.pct(99):7.2f} ms  errors {res.errors}/{res.count}  CPU ms/req: server {res.cpu_ms:.3f}, "
                  f"client {res.client_cpu_ms:.3f}", flush=True)
            if res.first_error:
                print(f"      first error: {res.first_error}", flush=True)
    return results


def command_body(api_url_base: str, team: str, command: str, text: str) -> bytes:
    """The command's form body, with TRIGGER in place of its trigger_id (each request gets its own)."""
    return form_body(slash_command(command=command, text=text, user_id="U1", team_id=team,
                                   response_url=f"{api_url_base}/response/bench", trigger_id="TRIGGER"))


def say(url: str, body: bytes) -> str:
    import httpx

    body = body.replace(b"TRIGGER", next_trigger_id().encode())
    response = httpx.post(url, content=body, headers=signed_headers(body, SECRET), timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"setup request failed: HTTP {response.status_code} {response.text[:300]}")
    return response.text


# --- report --------------------------------------------------------------------------------
def geo_mean(results: list[Result]) -> float:
    return math.exp(sum(math.log(max(r.rps, 1e-9)) for r in results) / len(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target and level (2000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time cap per target and level (5)")
    parser.add_argument("--rounds", type=int, default=5, help="slices the targets take turns in, per level (5)")
    parser.add_argument("--url", default=None, help="bizbot's database (default: SQLite in a temp dir)")
    parser.add_argument("--cpu", default="auto", help="BIZBOT_CPU for the server processes: auto (default, as "
                        "`bizbot serve`), off, or a CPU number; the bare apps are placed alike")
    args = parser.parse_args()

    from importlib.metadata import version

    from fakes.slack_fake import FakeSlack

    from bot.affinity import describe

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, slack_bolt {version('slack_bolt')}, "
          f"uvicorn {version('uvicorn')} (one worker each, loop/http 'auto'); concurrency {LEVELS}; per target "
          f"and level {WARMUP} warm-up, then up to {args.requests} requests or {args.seconds:g} s in "
          f"{args.rounds} interleaved slices", flush=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    team = "T" + uuid.uuid4().hex[:8].upper()  # a fresh org every run, also on a shared PostgreSQL
    with tempfile.TemporaryDirectory() as tmp, FakeSlack(team_id=team) as fake, ExitStack() as servers:
        fake.users["U1"] = {"real_name": "Bench", "locale": "en-US"}
        db_url = args.url or f"sqlite:///{Path(tmp) / 'bizbot.db'}"
        backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
        dialect = "postgresql" if db_url.startswith("postgres") else "sqlite"
        print(f"server processes: {describe(args.cpu, dialect)}, the bare apps alike", flush=True)
        pbr = servers.enter_context(Server("bolt-pbr", fake.api_url, args.cpu, dialect))
        default = servers.enter_context(Server("bolt-default", fake.api_url, args.cpu, dialect))
        bot = servers.enter_context(Server("bizbot", fake.api_url, args.cpu, dialect, db_url))

        ping = command_body(fake.base_url, team, "/ping", "")
        for server in (pbr, default):
            assert "pong" in say(server.url, ping)
        first = say(bot.url, command_body(fake.base_url, team, "/customer", "new Acme"))
        assert "Customer Acme" in first and "first member" in first, first[:300]
        for i in range(5):
            lead = say(bot.url, command_body(fake.base_url, team, "/lead",
                                             f"new Acme value={(i + 1) * 100000} source=web"))
            assert "Lead L" in lead, lead[:300]
        visit = Target("bizbot /visit", bot.url,
                       command_body(fake.base_url, team, "/visit", 'Acme note="bench visit"'), "Visit V", bot.pid)
        leads = Target("bizbot /lead list", bot.url, command_body(fake.base_url, team, "/lead", "list"), "Leads (",
                       bot.pid)
        for t in (visit, leads):
            text = say(t.url, t.body)
            assert t.expect in text, f"{t.label}: {text[:300]}"
            print(f"  first {t.label} answer: {text[:100]}...", flush=True)
        print(f"bizbot on {backend}", flush=True)
        bare_labels = ("bare bolt (pbr=True)", "bare bolt (pbr=False)")
        targets = [Target(bare_labels[0], pbr.url, ping, "pong", pbr.pid),
                   Target(bare_labels[1], default.url, ping, "pong", default.pid), visit, leads]
        results = asyncio.run(measure(targets, args.requests, args.seconds, args.rounds))
    late = len(fake.calls_to("response_url"))
    load_after = os.getloadavg()[0]

    def series(label: str) -> list[Result]:
        return [results[label, c] for c in LEVELS]

    best = max(bare_labels, key=lambda k: geo_mean(series(k)))
    other = next(k for k in bare_labels if k != best)
    print()
    print(f"{'target':<24} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}"
          f"   {'server CPU ms/req':>17} {'vs bare':>8}   {'client CPU ms/req':>17}")
    for t in targets:
        for r in series(t.label):
            bare = results[best, r.concurrency]
            ratio = "" if t.label in bare_labels else f"{r.rps / bare.rps:>7.0%}"
            by_cpu = "" if t.label in bare_labels else f"{bare.cpu_ms / r.cpu_ms:>7.0%}"
            print(f"{t.label:<24} {r.concurrency:>4} {r.rps:>9.1f} {r.pct(50):>8.2f} {r.pct(99):>8.2f} "
                  f"{r.errors:>7} {ratio:>8}   {r.cpu_ms:>17.3f} {by_cpu:>8}   {r.client_cpu_ms:>17.3f}")
    print("server CPU: user+system CPU of the target's server process per request over the measured slices "
          "(Linux /proc); its 'vs bare' is the ratio the throughput would have if the server's CPU were the "
          "only limit. client CPU: the load generator's (this process's) CPU per request.")
    print(f"\nbare bolt: {best} is faster (geometric mean {geo_mean(series(best)):.0f} req/s vs "
          f"{geo_mean(series(other)):.0f}); bizbot's ratio is against it.")
    if late:
        print(f"{late} command(s) missed bizbot's ack budget and were answered through response_url later.")
    print(f"load average (1 min) before {load_before:.2f}, after {load_after:.2f}: anything else running on the "
          f"machine lowers the absolute numbers; the interleaved slices keep the ratios fair.")
    note = "" if backend == "SQLite" else "  (the target is set for SQLite; informational here)"
    b10 = results[best, 10]
    print(f"\ntarget on {backend}: at concurrency 10, p99 < {TARGET_P99_MS:g} ms and >= {TARGET_RATIO:.0%} of "
          f"bare bolt's throughput ({b10.rps:.1f} req/s), no errors{note}")
    for t in (visit, leads):
        r = results[t.label, 10]
        ratio = r.rps / b10.rps
        ok = r.pct(99) < TARGET_P99_MS and ratio >= TARGET_RATIO and r.errors == 0
        print(f"  {'PASS' if ok else 'FAIL'}  {t.label.removeprefix('bizbot '):<10} p99 {r.pct(99):.2f} ms "
              f"({'ok' if r.pct(99) < TARGET_P99_MS else 'over'}), {r.rps:.1f} req/s = {ratio:.0%} of bare "
              f"({'ok' if ratio >= TARGET_RATIO else 'under'}), errors {r.errors}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
