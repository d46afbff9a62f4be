"""DingTalk robot messages: bizbot's HTTP callback against a bare dingtalk-stream handler, in one run.

    .venv/bin/python bench/dingtalk_messages.py [--requests 1000] [--concurrency 10]

Both targets are served by uvicorn (one worker) on 127.0.0.1 in a server process of their own; the load
generator (httpx, N concurrent workers) runs in this process. Every request is a real robot message with
the callback's `timestamp` and `sign` headers, and a msgId of its own.

Targets:
  bare    a Starlette route that checks the signature, reads the body as the SDK's ChatbotMessage and hands
          it to a dingtalk-stream ChatbotHandler whose process() only acknowledges (AckMessage.STATUS_OK).
  bizbot  `bizbot serve`'s app in HTTP callback mode: `/help`, answered through the session webhook (a
          FakeDingTalk in the server process), on SQLite.

Target: at concurrency 10, bizbot >= 50% of the bare handler's throughput and p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.dingtalk_fake import FakeDingTalk  # noqa: E402
from fakes.dingtalk_payloads import body_of, robot_message, signed  # noqa: E402

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
WARMUP = 50


def _bare_asgi(secret: str):
    from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage
    from dingtalk_stream.frames import CallbackMessage
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.dingtalk.sign import check

    class Ack(ChatbotHandler):
        async def process(self, callback: CallbackMessage):
            ChatbotMessage.from_dict(callback.data)
            return AckMessage.STATUS_OK, "OK"

    handler = Ack()

    async def events(request: Request):
        if check(secret, request.headers.get("timestamp"), request.headers.get("sign"), int(time.time() * 1000)):
            return JSONResponse({}, status_code=403)
        message = CallbackMessage()
        message.data = await request.json()
        ack = await handler.raw_process(message)
        return JSONResponse({"code": ack.code})

    return Starlette(routes=[Route("/dingtalk/events", events, methods=["POST"])])


def _bizbot_asgi(db: str):
    from bot.bootstrap import bootstrap
    from bot.server import create_asgi
    from bot.settings import Settings
    from domain.kernel.clock import SystemClock

    fake = FakeDingTalk().start()
    settings = Settings(database_url=f"sqlite:///{db}", open_enrolment=True, dingtalk_client_id=fake.APP_KEY,
                        dingtalk_client_secret=fake.APP_SECRET, dingtalk_mode="http", dingtalk_api_url=fake.root)
    return create_asgi(bootstrap(settings, SystemClock()), run_worker=False, freeze_heap=True)


def _serve(kind: str, port: int, arg: str) -> None:
    import uvicorn

    asgi = _bare_asgi(arg) if kind == "bare" else _bizbot_asgi(arg)
    uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning",
                                  access_log=False)).run()


async def _load(url: str, n: int, concurrency: int, webhook_root: str) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue = iter(range(n))
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                now = datetime.now(UTC)
                payload = robot_message("/help", staff="bench01", nick="bench", now=now, webhook_root=webhook_root)
                start = time.perf_counter()
                response = await client.post("/dingtalk/events", content=body_of(payload),
                                             headers=signed(FakeDingTalk.APP_SECRET, now))
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, errors


def _wait_for(port: int, proc: mp.process.BaseProcess) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, FakeDingTalk() as sink:
        for kind, arg in (("bare", FakeDingTalk.APP_SECRET), ("bizbot", f"{tmp}/bench.db")):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            proc = mp.get_context("spawn").Process(target=_serve, args=(kind, port, arg), daemon=True)
            proc.start()
            _wait_for(port, proc)
            asyncio.run(_load(url, WARMUP, args.concurrency, sink.root))
            seconds, latencies, errors = asyncio.run(_load(url, args.requests, args.concurrency, sink.root))
            results[kind] = (args.requests / seconds, _p99(latencies), errors)
            proc.terminate()
            proc.join(5)
    for kind, (rate, p99, errors) in results.items():
        print(f"{kind:7} {rate:8.1f} msg/s  p99 {p99:6.1f} ms  errors {errors}")
    ratio = results["bizbot"][0] / results["bare"][0]
    ok = ratio >= TARGET_RATIO and results["bizbot"][1] < TARGET_P99_MS
    print(f"ratio {ratio:.2f} (target >= {TARGET_RATIO}), bizbot p99 {results['bizbot'][1]:.1f} ms "
          f"(target < {TARGET_P99_MS:.0f}) at concurrency {args.concurrency}: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
