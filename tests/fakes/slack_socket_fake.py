"""A local fake of Slack's Socket Mode: the WebSocket that `apps.connections.open` hands out, on 127.0.0.1.

It greets a connecting client with `hello`, sends the envelopes a test gives it (a slash command, an
interaction, an event) and records what the client sends back: each envelope's acknowledgement, with the
payload bizbot answers with. It runs aiohttp's server on an event loop in a thread of its own.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._sockets: list[web.WebSocketResponse] = []
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake Socket Mode server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def send(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        """Send an envelope to the connected client; its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        message = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                   "accepts_response_payload": kind != "events_api", **extra}
        asyncio.run_coroutine_threadsafe(self._sockets[-1].send_str(json.dumps(message)), self._loop).result(10)
        return envelope_id

    def wait_connected(self, timeout: float = 10) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._sockets, timeout):
                raise AssertionError("no Socket Mode client connected")

    def ack_for(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        """The client's acknowledgement of an envelope (waited for)."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((a for a in self.acks if a.get("envelope_id") == envelope_id), None), timeout)
        if found is None:
            raise AssertionError(f"no acknowledgement of {envelope_id}; got {self.acks}")
        return found

    # --- the server ------------------------------------------------------------------
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._started.set()
        self._loop.run_forever()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A1"},
                                      "debug_info": {"host": "fake", "approximate_connection_time": 3600}}))
        with self._changed:
            self.connections += 1
            self._sockets.append(ws)
            self._changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                with self._changed:
                    self.acks.append(json.loads(message.data))
                    self._changed.notify_all()
        return ws
