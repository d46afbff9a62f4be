"""Run an ASGI app with uvicorn on 127.0.0.1 in a background thread, for end-to-end tests."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from bot.bootstrap import App, bootstrap
from bot.server import create_asgi
from bot.settings import Settings
from domain.kernel.clock import FakeClock


class ServerThread:
    def __init__(self, asgi: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so TCP_NODELAY applies
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class AppStack:
    """bizbot's real ASGI app (bootstrap + create_asgi, no background worker) served on 127.0.0.1,
    with an httpx client to it; `settings` are the adapter's, on top of a test department's."""

    def __init__(self, db_url: str, clock: FakeClock, **settings: Any) -> None:
        self.settings = Settings(**{
            # the test departments open as bizbot opened them before enrolment was closed by default: the first
            # user of a new group or workspace becomes its admin (tests of enrolment itself set it False)
            "database_url": db_url, "locale": "en", "timezone": "Asia/Shanghai", "admins": "",
            "open_enrolment": True, **settings,
        })
        self.app: App = bootstrap(self.settings, clock)
        self.asgi = create_asgi(self.app, run_worker=False)
        self.serving = ServerThread(self.asgi)
        self.url = self.serving.url
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def close(self) -> None:
        self.http.close()
        self.serving.stop()
        self.app.close()

    def deliver(self) -> int:
        """Run the outbox dispatcher once: what it sent."""
        return self.asgi.state.worker.tick_sync()
