"""Slack acknowledgement throughput and latency: bizbot against a bare slack-bolt app, in one run.

    .venv/bin/python bench/slack_ack.py [--requests 2000] [--seconds 5] [--url postgresql://...]

Every target is served the same way: uvicorn (one worker) on 127.0.0.1 in a server process of its
own; the load generator (aiohttp, N concurrent workers) runs in this process, so its CPU does not
compete with the server's event loop for the GIL. Requests carry real Slack v0 signatures.
A FakeSlack (tests/slack_fake.py) answers the Web API calls (auth.test, users.info).

Targets:
  bare bolt   AsyncApp + AsyncSlackRequestHandler on Starlette; `/ping` only acks.
              Measured with process_before_response=True and =False; bizbot is compared to the faster.
  /visit      bizbot, `/visit Acme note="..."`: a real write (org and customer set up first).
  /lead list  bizbot, a real read of a few leads.

At each concurrency (1, 10, 50): warm-up requests, then --requests requests or --seconds, whichever
ends first. An error is a non-200 answer or a body without the expected text (a late ack included).
Target (the issue): on SQLite, at concurrency 10, p99 < 50 ms and >= 40% of the bare app's throughput.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slack_payloads import form_body, signed_headers, slash_command  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
LEVELS = (1, 10, 50)
WARMUP = 50
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.40


# --- server process ------------------------------------------------------------------------
def _bare_asgi(api_url: str, process_before_response: bool):  # noqa: ANN202
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(base_url=api_url, token=TOKEN),
                    process_before_response=process_before_response)

    @bolt.command("/ping")
    async def ping(ack) -> None:  # noqa: ANN001
        await ack("pong")

    handler = AsyncSlackRequestHandler(bolt)

    async def endpoint(request: Request):  # noqa: ANN202
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])]), None


def _bizbot_asgi(api_url: str, db_url: str):  # noqa: ANN202
    from bot.bootstrap import bootstrap
    from bot.server import create_asgi
    from bot.settings import Settings

    settings = Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins="",
                        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url)
    app = bootstrap(settings)
    return create_asgi(app, run_worker=False), app


def serve(kind: str, api_url: str, db_url: str, conn) -> None:  # noqa: ANN001
    """Server process: build the target, serve it on a pre-bound socket, stop when told."""
    import logging
    import socket
    import threading

    import uvicorn

    logging.basicConfig(level=logging.WARNING)
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
    conn.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    conn.recv()  # "stop"
    server.should_exit = True
    thread.join(10)
    if app is not None:
        app.close()


class Server:
    def __init__(self, kind: str, api_url: str, db_url: str = "") -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(kind, api_url, db_url, child), daemon=True)
        self.proc.start()
        if not self.conn.poll(60):
            self.proc.kill()
            raise RuntimeError(f"{kind} server did not start")
        self.url = self.conn.recv() + "/slack/events"

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
class Result:
    target: str
    concurrency: int
    count: int
    seconds: float
    latencies: list[float]
    errors: int
    first_error: str | None

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ms = sorted(self.latencies)
        return ms[min(len(ms) - 1, math.ceil(p / 100 * len(ms)) - 1)] * 1000 if ms else float("nan")


async def _run_level(session, url: str, body: bytes, expect: str, concurrency: int,  # noqa: ANN001
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
            headers = signed_headers(body, SECRET)
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
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


async def measure(target: str, url: str, body: bytes, expect: str, total: int, seconds: float) -> list[Result]:
    import aiohttp

    results = []
    for concurrency in LEVELS:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await _run_level(session, url, body, expect, concurrency, WARMUP, 30)
            count, elapsed, latencies, errors, first = await _run_level(
                session, url, body, expect, concurrency, total, seconds)
        results.append(Result(target, concurrency, count, elapsed, latencies, errors, first))
        r = results[-1]
        print(f"  {target:<28} c={concurrency:<3} {r.rps:8.1f} req/s  p50 {r.pct(50):7.2f} ms  "
              f"p99 {r.pct(99):7.2f} ms  errors {errors}/{count}", flush=True)
        if first:
            print(f"      first error: {first}", flush=True)
    return results


def command_body(api_url_base: str, team: str, command: str, text: str) -> bytes:
    return form_body(slash_command(command=command, text=text, user_id="U1", team_id=team,
                                   response_url=f"{api_url_base}/response/bench"))


def say(url: str, body: bytes) -> str:
    import httpx

    response = httpx.post(url, content=body, headers=signed_headers(body, SECRET), timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"setup request failed: HTTP {response.status_code} {response.text[:300]}")
    return response.text


# --- report --------------------------------------------------------------------------------
def geo_mean(results: list[Result]) -> float:
    return math.exp(sum(math.log(max(r.rps, 1e-9)) for r in results) / len(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per level (default 2000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time cap per level (default 5)")
    parser.add_argument("--url", default=None, help="bizbot's database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    from importlib.metadata import version

    from slack_fake import FakeSlack

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, slack_bolt {version('slack_bolt')}, "
          f"uvicorn {version('uvicorn')} (one worker, loop/http 'auto'); levels {LEVELS}, "
          f"{WARMUP} warm-up + up to {args.requests} requests or {args.seconds:g} s per level", flush=True)
    started = time.perf_counter()
    team = "T" + uuid.uuid4().hex[:8].upper()  # a fresh org every run, also on a shared PostgreSQL
    with tempfile.TemporaryDirectory() as tmp, FakeSlack(team_id=team) as fake:
        fake.users["U1"] = {"real_name": "Bench", "locale": "en-US"}
        db_url = args.url or f"sqlite:///{Path(tmp) / 'bizbot.db'}"
        backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
        ping = command_body(fake.base_url, team, "/ping", "")
        bare: dict[str, list[Result]] = {}
        for kind, label in (("bolt-pbr", "bare bolt (pbr=True)"), ("bolt-default", "bare bolt (pbr=False)")):
            with Server(kind, fake.api_url) as server:
                assert "pong" in say(server.url, ping)
                bare[label] = asyncio.run(measure(label, server.url, ping, "pong", args.requests, args.seconds))

        print(f"bizbot on {backend}", flush=True)
        with Server("bizbot", fake.api_url, db_url) as server:
            first = say(server.url, command_body(fake.base_url, team, "/customer", "new Acme"))
            assert "Customer Acme" in first and "first member" in first, first[:300]
            for i in range(5):
                lead = say(server.url, command_body(fake.base_url, team, "/lead",
                                                    f"new Acme value={(i + 1) * 100000} source=web"))
                assert "Lead L" in lead, lead[:300]
            visit = command_body(fake.base_url, team, "/visit", 'Acme note="bench visit"')
            leads = command_body(fake.base_url, team, "/lead", "list")
            checks = {"/visit": (visit, "Visit V"), "/lead list": (leads, "Leads (")}
            for name, (body, expect) in checks.items():
                text = say(server.url, body)
                assert expect in text, f"{name}: {text[:300]}"
                print(f"  first {name} answer: {text[:110]}...", flush=True)
            bizbot = {name: asyncio.run(measure(f"bizbot {name}", server.url, body, expect, args.requests,
                                                args.seconds))
                      for name, (body, expect) in checks.items()}
        late = len(fake.calls_to("response_url"))

    best_label = max(bare, key=lambda k: geo_mean(bare[k]))
    base = bare[best_label]
    print()
    print(f"{'target':<28} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}")
    for label, results in bare.items():
        for r in results:
            print(f"{label:<28} {r.concurrency:>4} {r.rps:>9.1f} {r.pct(50):>8.2f} {r.pct(99):>8.2f} "
                  f"{r.errors:>7}")
    for name, results in bizbot.items():
        for r, b in zip(results, base, strict=True):
            print(f"{'bizbot ' + name:<28} {r.concurrency:>4} {r.rps:>9.1f} {r.pct(50):>8.2f} "
                  f"{r.pct(99):>8.2f} {r.errors:>7} {r.rps / b.rps:>7.0%}")
    others = [k for k in bare if k != best_label]
    print(f"\nbare bolt: {best_label} is faster (geometric mean {geo_mean(base):.0f} req/s vs "
          f"{', '.join(f'{geo_mean(bare[k]):.0f} for {k}' for k in others)}); bizbot's ratio is against it.")
    if late:
        print(f"{late} command(s) missed bizbot's ack budget and answered through response_url later.")
    note = "" if backend == "SQLite" else "  (the target is set for SQLite; informational here)"
    b10 = next(r for r in base if r.concurrency == 10)
    print(f"\ntarget on {backend}: at concurrency 10, p99 < {TARGET_P99_MS:g} ms and >= {TARGET_RATIO:.0%} of "
          f"bare bolt's throughput ({b10.rps:.1f} req/s), no errors{note}")
    for name, results in bizbot.items():
        r = next(r for r in results if r.concurrency == 10)
        ratio = r.rps / b10.rps
        ok = r.pct(99) < TARGET_P99_MS and ratio >= TARGET_RATIO and r.errors == 0
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<11} p99 {r.pct(99):.2f} ms "
              f"({'ok' if r.pct(99) < TARGET_P99_MS else 'over'}), throughput {r.rps:.1f} req/s = {ratio:.0%} "
              f"({'ok' if ratio >= TARGET_RATIO else 'under'}), errors {r.errors}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
