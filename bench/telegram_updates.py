"""Telegram webhook updates/s and latency: bizbot's /visit against a bare python-telegram-bot app, in one run.

    .venv/bin/python bench/telegram_updates.py [--updates 1000] [--seconds 15] [--url postgresql://...]

Both targets are served the same way: uvicorn (one worker) on 127.0.0.1 in a server process of its own,
fed the same kind of webhook update (a group command from one user, with the secret-token header) and
talking to the same FakeTelegram (tests/fakes/telegram_fake.py), which runs in a process of its own too (its
request threads would otherwise fight the load generator for the GIL). The load generator
(httpx.AsyncClient, N concurrent workers) runs in this process.

  bare     PTB `Application` (updater=None) + CommandHandler("ping") answering "pong" (quoting the
           message), behind one Starlette route that awaits `application.process_update(Update.de_json(...))`.
  bizbot   the real server (`create_asgi(app, run_worker=False)`, TelegramAdapter started in its lifespan:
           getMe, setMyCommands, setWebhook) on SQLite in a temp dir (or --url). Set up with
           `/customer new Acme` from the group's first user (who becomes admin), then measured with
           `/visit Acme note="bench N"`: a real write and a sendMessage "Visit V... recorded".

Latency is from the client sending the webhook POST to the fake receiving the sendMessage that quotes
that update's message (matched by reply_parameters.message_id); both stamps are time.monotonic(), which
on Linux is one system-wide clock (CLOCK_MONOTONIC) for all processes. updates/s = updates completed
(HTTP 200 and the expected sendMessage) / wall time of the level. Each level (concurrency 1, 10, 50):
warm-up updates, then --updates updates or --seconds, whichever ends first; every update_id is distinct.
The two targets take turns level by level, so a change in the machine's load hits both alike.

"CPU ms/upd" is user+system CPU per completed update of the server process, the fake and the load
generator (Linux /proc; PostgreSQL's own processes are not counted). "1/server CPU" is the updates/s
the server's event loop could reach if its own CPU were the only limit. On a shared 2-core machine the
end-to-end ratio depends on what else runs: when the machine (load generator, fake, other processes)
is the bottleneck, both targets slow down alike and the ratio drifts towards 100%; when it is not, the
ratio approaches the server-CPU ratio, which is the steadier of the two numbers and is printed as well.

Target: at concurrency 10, bizbot >= 50% of the bare app's updates/s and p99 < 100 ms.

Artefacts of the harness that are removed, the same for both targets:
- The fake's HTTP server is socketserver's, whose listen backlog is 5: at concurrency 50 the
  sendMessage connections (it speaks HTTP/1.0, one connection per call) overflow it and get reset
  (httpx.ReadError), so the fake process raises its backlog to 128.
- This venv has no `sniffio` (anyio 4 no longer needs it); httpcore then tries `import sniffio` several
  times per request, each a failed import that scans sys.path (~0.1 ms). The load generator sets
  sys.modules["sniffio"] = None so its own failed imports are instant. The servers are left as they
  are: that cost is part of what both bots pay in this environment.
- One httpx client (one connection) per worker: httpcore's pool rescans every queued request and
  connection on each event, which with 50 workers sharing one pool cost ~10 ms of client CPU a request.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.telegram_payloads import command_update, json_body, webhook_headers  # noqa: E402
from procstat import cpu_seconds  # noqa: E402

TOKEN = "123:BENCH-token"
SECRET = "bench-webhook-secret"
LEVELS = (1, 10, 50)
WARMUP = 50
FAKE_BACKLOG = 128
TARGET_RATIO = 0.50
TARGET_P99_MS = 100.0
WEBHOOK = "/telegram/webhook"


def quoted(params: dict[str, Any]) -> int | None:
    """The message id a sendMessage quotes (reply_parameters, or the older reply_to_message_id)."""
    reply = params.get("reply_parameters")
    mid = reply.get("message_id") if isinstance(reply, dict) else params.get("reply_to_message_id")
    try:
        return int(mid) if mid is not None else None
    except (TypeError, ValueError):
        return None


class Child:
    """A spawned process that sends one line (its URL) when ready, then answers requests on a pipe."""

    def __init__(self, name: str, target: Any, *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self.name = name
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(*args, child), daemon=True)
        self.proc.start()
        if not self.conn.poll(90):
            self.proc.kill()
            raise SystemExit(f"{name} did not start")
        self.root = self.conn.recv()
        if not self.root:
            raise SystemExit(f"{name} failed to start (see its log above)")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def ask(self, *request: Any) -> Any:
        self.conn.send(request)
        return self.conn.recv()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send(("stop",))
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


# --- fake Bot API process ------------------------------------------------------------------
def fake_process(conn) -> None:
    from fakes import telegram_fake
    from fakes.telegram_fake import FakeTelegram

    telegram_fake._Server.request_queue_size = FAKE_BACKLOG  # see the module docstring
    with FakeTelegram(token=TOKEN) as fake:
        conn.send(fake.root)
        while True:
            command, *_args = conn.recv()
            if command == "stop":
                return
            if command == "clear":
                fake.clear()
                conn.send(None)
            elif command == "replies":  # (quoted message id, at, ok, text) of every sendMessage
                conn.send([(quoted(c.params), c.at, c.ok, str(c.params.get("text")))
                           for c in fake.calls_to("sendMessage")])
            elif command == "webhook":
                conn.send(fake.webhook)
            elif command == "calls":
                conn.send([(c.method, c.status) for c in fake.calls])


# --- server process ------------------------------------------------------------------------
def _bare_asgi(api_root: str):
    import contextlib

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
    from telegram import Update
    from telegram.ext import Application, CommandHandler, ContextTypes

    application = Application.builder().token(TOKEN).base_url(f"{api_root}/bot").updater(None).build()

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("pong", do_quote=True)

    application.add_handler(CommandHandler("ping", ping))

    async def webhook(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return JSONResponse({"ok": False}, status_code=403)
        await application.process_update(Update.de_json(await request.json(), application.bot))
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        await application.initialize()
        await application.start()
        try:
            yield
        finally:
            await application.stop()
            await application.shutdown()

    return Starlette(routes=[Route(WEBHOOK, webhook, methods=["POST"])], lifespan=lifespan), None


def _bizbot_asgi(api_root: str, db_url: str):
    from bot.bootstrap import bootstrap
    from bot.server import create_asgi
    from bot.settings import Settings

    settings = Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins="",
                        open_enrolment=True,  # every run's first user opens the department, as before
                        telegram_bot_token=TOKEN, telegram_api_url=api_root,
                        telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                        telegram_webhook_secret=SECRET)
    app = bootstrap(settings)
    return create_asgi(app, run_worker=False, freeze_heap=True), app  # freeze_heap: as `bizbot serve`


def serve(kind: str, api_root: str, db_url: str, cpu: str, dialect: str, conn) -> None:
    """Server process: build the target, serve it on a pre-bound socket, stop when told."""
    import logging
    import socket
    import threading

    import uvicorn

    from bot.affinity import pin

    logging.basicConfig(level=logging.WARNING)
    # where `bizbot serve` would keep bizbot (BIZBOT_CPU); the bare app is placed alike
    pin(cpu, dialect)
    asgi, app = _bizbot_asgi(api_root, db_url) if kind == "bizbot" else _bare_asgi(api_root)
    # IPPROTO_TCP, not socket.socket()'s proto 0: asyncio sets TCP_NODELAY only on proto-6 sockets; without
    # it a keep-alive response (h11 writes headers and body apart) can wait ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            conn.send("")
            return
        time.sleep(0.01)
    if app is None:  # the bare app's start-up heap is frozen too, as bizbot's (create_asgi's freeze_heap)
        import gc

        gc.collect()
        gc.freeze()
    conn.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    conn.recv()  # ("stop",)
    server.should_exit = True
    thread.join(10)
    if app is not None:
        app.close()


# --- load generator ------------------------------------------------------------------------
class Feed:
    """Group command updates from one user in one chat, with run-wide distinct update and message ids."""

    def __init__(self, user_id: int, chat_id: int) -> None:
        self.user_id = user_id
        self.chat_id = chat_id
        # a random base: a shared PostgreSQL remembers update_ids (dedupe) across runs
        self.update_id = random.randrange(10**8, 2 * 10**9)
        self.message_id = 1000

    def __call__(self, text: str) -> tuple[int, bytes]:
        self.update_id += 1
        self.message_id += 1
        update = command_update(text=text, user_id=self.user_id, chat_id=self.chat_id, chat_type="group",
                                update_id=self.update_id, message_id=self.message_id, first_name="Bench",
                                username="bench")
        return self.message_id, json_body(update)


@dataclass
class Result:
    target: str
    concurrency: int
    sent: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # webhook POST sent -> sendMessage at the fake
    http: list[float] = field(default_factory=list)  # webhook POST sent -> HTTP 200 received
    errors: int = 0
    first_error: str | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # seconds of CPU: server, fake, load generator

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @staticmethod
    def _pct(values: list[float], p: float) -> float:
        ms = sorted(values)
        return ms[min(len(ms) - 1, math.ceil(p / 100 * len(ms)) - 1)] * 1000 if ms else float("nan")

    def pct(self, p: float) -> float:
        return self._pct(self.latencies, p)

    def http_pct(self, p: float) -> float:
        return self._pct(self.http, p)

    def cpu_ms(self, who: str) -> float:
        return self.cpu[who] / self.done * 1000 if self.done else float("nan")


async def run_level(clients: list[Any], fake: Child, server: Child, target: str, bodies: list[tuple[int, bytes]],
                    expect: str, seconds: float) -> Result:
    """One httpx client (and connection) per worker; see the module docstring."""
    url = server.root + WEBHOOK
    headers = webhook_headers(SECRET)
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    failures: list[str] = []
    queue = iter(bodies)
    deadline = time.monotonic() + seconds

    async def worker(client: Any) -> None:
        for mid, body in queue:
            t0 = time.monotonic()
            sent[mid] = t0
            try:
                response = await client.post(url, content=body, headers=headers)
                status, text = response.status_code, response.text
            except Exception as exc:  # a dropped connection is an error, not a crash
                status, text = 0, repr(exc)
            if status == 200:
                answered[mid] = time.monotonic() - t0
            else:
                failures.append(f"message {mid}: HTTP {status}: {text[:200]}")
            if time.monotonic() > deadline:
                return

    fake.ask("clear")
    cpu0 = {"server": server.cpu(), "fake": fake.cpu(), "client": time.process_time()}
    start = time.monotonic()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.monotonic() - start
    cpu1 = {"server": server.cpu(), "fake": fake.cpu(), "client": time.process_time()}

    # each sendMessage is made before its webhook POST is answered, so all are recorded by now
    replies: dict[int, tuple[float, bool, str]] = {}
    for mid, at, ok, text in fake.ask("replies"):
        if mid is not None and mid not in replies:
            replies[mid] = (at, ok, text)
    result = Result(target, len(clients), len(sent), elapsed, cpu={k: cpu1[k] - cpu0[k] for k in cpu0})
    for mid, t0 in sent.items():
        if mid not in answered:
            continue
        reply = replies.get(mid)
        if reply is None or not reply[1] or expect not in reply[2]:
            failures.append(f"message {mid}: HTTP 200 but " + (
                "no sendMessage quoting it" if reply is None else f"sendMessage ok={reply[1]} {reply[2][:200]!r}"))
            continue
        result.latencies.append(reply[0] - t0)
        result.http.append(answered[mid])
    result.errors = len(failures)
    result.first_error = failures[0] if failures else None
    return result


@dataclass
class Target:
    name: str
    server: Child
    text: Any  # () -> the next command line
    expect: str


async def measure(fake: Child, targets: list[Target], feed: Feed, updates: int,
                  seconds: float) -> dict[str, list[Result]]:
    """Level by level, the targets one after the other, so a change in the machine's load hits both alike."""
    import httpx

    results: dict[str, list[Result]] = {t.name: [] for t in targets}
    for concurrency in LEVELS:
        for t in targets:
            clients = [httpx.AsyncClient(limits=httpx.Limits(max_connections=1), timeout=30)
                       for _ in range(concurrency)]
            try:
                warm = [feed(t.text()) for _ in range(WARMUP)]
                await run_level(clients, fake, t.server, t.name, warm, t.expect, 30)
                bodies = [feed(t.text()) for _ in range(updates)]
                r = await run_level(clients, fake, t.server, t.name, bodies, t.expect, seconds)
            finally:
                for client in clients:
                    await client.aclose()
            results[t.name].append(r)
            print(f"  {t.name:<7} c={concurrency:<3} {r.done:5d}/{r.sent:<5d} in {r.seconds:5.2f} s  "
                  f"{r.rate:7.1f} updates/s  p50 {r.pct(50):7.2f} ms  p99 {r.pct(99):7.2f} ms  CPU ms/update: "
                  f"server {r.cpu_ms('server'):.2f}, fake {r.cpu_ms('fake'):.2f}, client {r.cpu_ms('client'):.2f}"
                  f"  errors {r.errors}", flush=True)
            if r.first_error:
                print(f"      first error: {r.first_error}", flush=True)
    return results


def post_once(fake: Child, server: Child, feed: Feed, text: str) -> str:
    """One update, checked: HTTP 200 and a sendMessage quoting it; returns that message's text."""
    import httpx

    fake.ask("clear")
    mid, body = feed(text)
    response = httpx.post(server.root + WEBHOOK, content=body, headers=webhook_headers(SECRET), timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"{text!r}: HTTP {response.status_code} {response.text[:300]}")
    said = [(ok, t) for m, _at, ok, t in fake.ask("replies") if m == mid]
    if not said or not said[0][0]:
        raise SystemExit(f"{text!r}: no successful sendMessage quoting it; calls: {fake.ask('calls')}")
    return said[0][1]


# --- report --------------------------------------------------------------------------------
def tree_version() -> str:
    """The commit measured, and whether bot/, handlers/ or domain/ differ from it."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "handlers", "domain"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "(not a git checkout)"
    return f"at {head or '?'}" + (" with uncommitted changes in bot/, handlers/ or domain/" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=1000, help="measured updates per level (default 1000)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time cap per level (default 15)")
    parser.add_argument("--url", default=None, help="bizbot's database (default: SQLite in a temp dir)")
    parser.add_argument("--cpu", default="auto", help="BIZBOT_CPU for the server processes: auto (default, as "
                        "`bizbot serve`), off, or a CPU number; the bare app is placed alike")
    args = parser.parse_args()
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]  # the load generator only; see above

    from importlib.metadata import version

    from bot.affinity import describe

    print(f"bizbot {tree_version()}; python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}, python-telegram-bot {version('python-telegram-bot')}, httpx "
          f"{version('httpx')}, uvicorn {version('uvicorn')} (one worker, loop/http 'auto'); levels {LEVELS}, "
          f"{WARMUP} warm-up + up to {args.updates} updates or {args.seconds:g} s per level", flush=True)
    started = time.monotonic()
    # a fresh group and user every run, also on a shared PostgreSQL
    feed = Feed(user_id=random.randrange(10**6, 10**9), chat_id=-random.randrange(10**9, 5 * 10**9))
    counter = iter(range(1, 10**9))
    with tempfile.TemporaryDirectory() as tmp, Child("fake Bot API", fake_process) as fake:
        db_url = args.url or f"sqlite:///{Path(tmp) / 'bizbot.db'}"
        backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
        dialect = "postgresql" if db_url.startswith("postgres") else "sqlite"
        print(f"server processes: {describe(args.cpu, dialect)}, the bare app alike", flush=True)
        with Child("bare server", serve, "bare", fake.root, "", args.cpu, dialect) as bare_server, \
                Child("bizbot server", serve, "bizbot", fake.root, db_url, args.cpu, dialect) as bizbot_server:
            assert post_once(fake, bare_server, feed, "/ping") == "pong"
            assert fake.ask("webhook").get("secret_token") == SECRET
            first = post_once(fake, bizbot_server, feed, "/customer new Acme")
            assert "first member" in first and "Customer Acme" in first, first[:300]
            visit = post_once(fake, bizbot_server, feed, '/visit Acme note="bench 0"')
            assert "Visit V" in visit, visit[:300]
            print(f"bizbot on {backend}; first /visit answer: {visit[:100]!r}", flush=True)
            results = asyncio.run(measure(fake, [
                Target("bare", bare_server, lambda: "/ping", "pong"),
                Target("bizbot", bizbot_server, lambda: f'/visit Acme note="bench {next(counter)}"', "Visit V"),
            ], feed, args.updates, args.seconds))
    bare, bizbot = results["bare"], results["bizbot"]

    print()
    print(f"{'target':<15} {'conc':>4} {'updates/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'http p99':>8} {'errors':>6} "
          f"{'vs bare':>7}   {'CPU ms/upd: server':>18} {'fake':>5} {'client':>6}  {'1/server CPU':>12} {'vs bare':>7}")

    def row(name: str, r: Result, b: Result | None) -> str:
        vs = f"{r.rate / b.rate:.0%}" if b else ""
        cap = 1000 / r.cpu_ms("server")
        cap_vs = f"{b.cpu_ms('server') / r.cpu_ms('server'):.0%}" if b else ""
        return (f"{name:<15} {r.concurrency:>4} {r.rate:>9.1f} {r.pct(50):>8.2f} {r.pct(99):>8.2f} "
                f"{r.http_pct(99):>8.2f} {r.errors:>6} {vs:>7}   {r.cpu_ms('server'):>18.2f} {r.cpu_ms('fake'):>5.2f} "
                f"{r.cpu_ms('client'):>6.2f}  {cap:>12.0f} {cap_vs:>7}")

    for r in bare:
        print(row("bare PTB /ping", r, None))
    for r, b in zip(bizbot, bare, strict=True):
        print(row("bizbot /visit", r, b))
    print("p50/p99: webhook POST sent -> sendMessage received by the fake; http p99: POST sent -> HTTP 200.\n"
          "1/server CPU: the updates/s the server's one event loop could reach if its CPU were the only limit "
          "(its\nCPU per update, measured above); what the ratio becomes when the machine is not the bottleneck.")

    b10 = next(r for r in bare if r.concurrency == 10)
    r10 = next(r for r in bizbot if r.concurrency == 10)
    ratio = r10.rate / b10.rate
    on = "" if backend == "SQLite" else f" (on {backend})"
    errors = "" if r10.errors == 0 else f"; {r10.errors} errors FAIL"
    print(f"\nbizbot/bare at concurrency 10{on}: {ratio:.0%} (target ≥ {TARGET_RATIO:.0%}) "
          f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'}; p99 {r10.pct(99):.1f} ms (target < {TARGET_P99_MS:g} ms) "
          f"{'PASS' if r10.pct(99) < TARGET_P99_MS else 'FAIL'}{errors}")
    cpu_ratio = b10.cpu_ms("server") / r10.cpu_ms("server")
    print(f"server CPU per update at concurrency 10: bizbot {r10.cpu_ms('server'):.2f} ms, bare "
          f"{b10.cpu_ms('server'):.2f} ms -> server-bound bizbot/bare {cpu_ratio:.0%} (target ≥ {TARGET_RATIO:.0%}) "
          f"{'PASS' if cpu_ratio >= TARGET_RATIO else 'FAIL'}")
    print(f"bare at concurrency 10: {b10.rate:.0f} updates/s, p99 {b10.pct(99):.1f} ms "
          f"(a quiet machine serves it 300-400 updates/s); total {time.monotonic() - started:.0f} s, load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
