"""A local fake of DingTalk's Stream gateway: the websocket that `/v1.0/gateway/connections/open` hands out (an
endpoint and a one-time ticket), on 127.0.0.1.

It sends the frames a test gives it — a robot message or a card callback, as DingTalk sends them: a CALLBACK
frame whose `data` is the callback's JSON as a string — and records what the client sends back, each frame's
acknowledgement (`{"code", "headers": {"messageId", ...}, "message", "data"}`). It can close the connection, as
the gateway does when it moves a client elsewhere. It runs the `websockets` server on an event loop in a thread
of its own."""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
from datetime import datetime
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from fakes.dingtalk_payloads import millis

MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"  # dingtalk_stream.ChatbotMessage.TOPIC
CARD_TOPIC = "/v1.0/card/instances/callback"  # dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK


class FakeStreamGateway:
    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.acks: list[dict[str, Any]] = []
        self.connections = 0  # websockets accepted so far
        self.subscriptions: list[list[str]] = []  # the topics of each connection request
        self._tickets: set[str] = set()
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._sockets: list[ServerConnection] = []
        self._server: Server | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="FakeStreamGateway", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake Stream gateway did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- what the fake Open API hands out -----------------------------------------------
    def issue(self, topics: list[str]) -> dict[str, Any]:
        """A connection request's answer: where to connect, with a ticket good for one connection."""
        ticket = secrets.token_hex(8)
        with self._changed:
            self._tickets.add(ticket)
            self.subscriptions.append(topics)
            self._changed.notify_all()
        return {"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": ticket}

    # --- what a test does -------------------------------------------------------------
    def send(self, topic: str, data: dict[str, Any], when: datetime, *, message_id: str | None = None) -> str:
        """Send a CALLBACK frame to the client connected last; its messageId."""
        message_id = message_id or f"stream-{next(self._ids)}"
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"topic": topic, "messageId": message_id, "contentType": "application/json",
                             "time": str(millis(when)), "appId": self.app_id},
                 "data": json.dumps(data, ensure_ascii=False)}
        with self._changed:
            socket = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(socket.send(json.dumps(frame, ensure_ascii=False)), self._loop).result(10)
        return message_id

    def drop(self) -> None:
        """Close the current connection (a normal closure, as the gateway's), once the client has answered it."""
        with self._changed:
            socket = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(socket.close(1000, "moved"), self._loop).result(10)

    def wait_connected(self, count: int = 1, timeout: float = 10) -> None:
        """Until `count` websockets have been accepted in all."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.connections >= count, timeout):
                raise AssertionError(f"{self.connections} Stream connection(s), not {count}")

    def ack_for(self, message_id: str, timeout: float = 10) -> dict[str, Any]:
        """The client's acknowledgement of a frame (waited for)."""
        with self._changed:
            found = self._changed.wait_for(lambda: next(
                (a for a in self.acks if (a.get("headers") or {}).get("messageId") == message_id), None), timeout)
        if found is None:
            raise AssertionError(f"no acknowledgement of {message_id}; got {self.acks}")
        return found

    # --- the server -------------------------------------------------------------------
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    async def _listen(self) -> Server:
        return await serve(self._connect, "127.0.0.1", 0, process_request=self._admit, ping_interval=None)

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """Only /connect with a ticket the Open API issued and nobody used yet."""
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._changed:
            if parts.path != "/connect" or ticket not in self._tickets:
                return Response(HTTPStatus.UNAUTHORIZED.value, "Unauthorized", Headers(), b"invalid ticket")
            self._tickets.discard(ticket)
        return None

    async def _connect(self, socket: ServerConnection) -> None:
        with self._changed:
            self.connections += 1
            self._sockets.append(socket)
            self._changed.notify_all()
        async for raw in socket:
            with self._changed:
                self.acks.append(json.loads(raw))
                self._changed.notify_all()
