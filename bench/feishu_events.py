"""Feishu events into `bizbot serve` over HTTP against a bare lark-oapi handler that only acknowledges, in one run.

    .venv/bin/python bench/feishu_events.py [--requests 1000] [--concurrency 10] [--rounds 5]

Both targets run in server processes of their own (uvicorn, one worker, 127.0.0.1), started together and taking
turns in --rounds slices (so a busy neighbour slows both alike; bizbot's cards of a slice are all sent before the
next slice starts, so its work after the acknowledgement never runs during the bare handler's slice); the load
generator (aiohttp) and a FakeFeishu (tests/fakes/feishu_fake.py, the Open API bizbot sends its cards to) run here.
Every request is an im.message.receive_v1 event with an event_id of its own, encrypted with the Encrypt Key and
signed as Feishu does. bizbot acknowledges the event once it is checked and then, after its answer, records the
event_id, runs the command (`/customer list` in a private chat) and sends its card; the bare handler
(EventDispatcherHandler.do with a handler that does nothing) only acknowledges. Printed per target: events/s
acknowledged, p50 and p99 of the acknowledgement, the server process's and this process's (load generator and fake)
CPU per event; for bizbot also "cards/s": events over the time from each slice's first event to its last card
reaching the fake (so the work after the acknowledgement is not left out), and the Open API calls it made (token
fetches included).
Target: at concurrency 10, bizbot >= 50% of the bare handler's throughput, p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from fakes.feishu_fake import FakeFeishu  # noqa: E402
from fakes.feishu_payloads import encrypt, message, signed_headers  # noqa: E402
from procstat import cpu_seconds  # noqa: E402

KEY, TOKEN = "bench-encrypt-key", "bench-verification-token"
USER, CHAT = "ou_bench0000000000000000000000000001", "oc_benchdm000000000000000000000001"


def _bare():
    import lark_oapi as lark
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    handler = (lark.EventDispatcherHandler.builder(KEY, TOKEN)
               .register_p2_im_message_receive_v1(lambda data: None).build())

    async def endpoint(request: Request) -> Response:
        raw = lark.RawRequest()
        raw.uri, raw.body = request.url.path, await request.body()
        raw.headers = {"X-Lark-Request-Timestamp": request.headers.get("x-lark-request-timestamp", ""),
                       "X-Lark-Request-Nonce": request.headers.get("x-lark-request-nonce", ""),
                       "X-Lark-Signature": request.headers.get("x-lark-signature", "")}
        answer = handler.do(raw)
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/feishu/events", endpoint, methods=["POST"])]), None


def _bizbot(api_url: str, db_url: str):
    from bot.bootstrap import bootstrap
    from bot.server import create_asgi
    from bot.settings import Settings

    settings = Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins="", open_enrolment=True,
                        feishu_app_id="cli_bench", feishu_app_secret="s", feishu_verification_token=TOKEN,
                        feishu_encrypt_key=KEY, feishu_domain=api_url)
    app = bootstrap(settings)
    return create_asgi(app, run_worker=False, freeze_heap=True), app


def serve(kind: str, api_url: str, db_url: str, conn) -> None:
    import logging
    import socket
    import threading

    import uvicorn

    logging.basicConfig(level=logging.WARNING)
    asgi, app = _bizbot(api_url, db_url) if kind == "bizbot" else _bare()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    conn.send(f"http://127.0.0.1:{sock.getsockname()[1]}/feishu/events")
    conn.recv()
    server.should_exit = True
    thread.join(10)
    if app is not None:
        app.close()


def events(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """`count` encrypted, signed events, each with an event_id of its own (made before any timing starts)."""
    bodies = []
    for _ in range(count):
        body = encrypt(message("/customer list", TOKEN, open_id=USER, chat_id=CHAT), KEY)
        bodies.append((body, signed_headers(body, KEY)))
    return bodies


async def load(url: str, bodies: list[tuple[bytes, dict[str, str]]], concurrency: int
               ) -> tuple[float, list[float], int]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    queue = iter(bodies)
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            nonlocal errors
            for body, headers in queue:
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


@dataclass
class Result:
    seconds: float = 0.0  # sending the events until the last acknowledgement, over the slices
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    cards: float = 0.0  # bizbot: from a slice's first event until its last card reached the fake, over the slices


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000, help="events per target, over all rounds")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="slices the targets take turns in")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    per_round = max(1, args.requests // args.rounds)
    count = per_round * args.rounds
    with FakeFeishu() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.users[USER] = {"name": "Bench"}
        servers = {}
        for kind in ("bare", "bizbot"):
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=serve, args=(kind, fake.root, f"sqlite:///{tmp}/bench.db", child), daemon=True)
            proc.start()
            servers[kind] = (proc, conn, conn.recv())
        for _proc, _conn, url in servers.values():
            asyncio.run(load(url, events(50), args.concurrency))  # warm-up
        fake.wait_for("im.message.create", 50, timeout=60)
        fake.clear()
        results = {kind: Result() for kind in servers}
        for _ in range(args.rounds):  # the targets take turns, so a busy neighbour slows both alike
            for kind, (proc, _, url) in servers.items():
                bodies = events(per_round)
                done = len(fake.calls_to("im.message.create"))
                server, client, started = cpu_seconds(proc.pid), time.process_time(), time.perf_counter()
                seconds, latencies, errors = asyncio.run(load(url, bodies, args.concurrency))
                result = results[kind]
                if kind == "bizbot":  # its cards are all sent before the next slice starts
                    fake.wait_for("im.message.create", done + per_round, timeout=300)
                    result.cards += time.perf_counter() - started
                result.server_cpu += cpu_seconds(proc.pid) - server
                result.client_cpu += time.process_time() - client
                result.seconds += seconds
                result.latencies += latencies
                result.errors += errors
        calls: dict[str, int] = {}
        for call in fake.calls:
            calls[call.method] = calls.get(call.method, 0) + 1
        for proc, conn, _ in servers.values():
            conn.send("stop")
            proc.join(15)
        for kind, result in results.items():
            ordered = sorted(result.latencies)
            p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.5, 0.99))
            print(f"{kind:7} {count / result.seconds:8.1f} events/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                  f"errors {result.errors}  CPU ms/event: server {result.server_cpu / count * 1000:.2f}, "
                  f"client {result.client_cpu / count * 1000:.2f}"
                  + (f"  cards {count / result.cards:.1f}/s" if result.cards else ""))
        print("bizbot's Open API calls:", ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
        ratio = results["bare"].seconds / results["bizbot"].seconds
        print(f"bizbot / bare throughput: {ratio:.0%} (target >= 50%); concurrency {args.concurrency}, "
              f"{args.rounds} rounds of {per_round} events each")


if __name__ == "__main__":
    main()
