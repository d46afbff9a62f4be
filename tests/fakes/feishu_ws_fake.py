"""A local fake of Feishu's long connection (长连接): the websocket that the Open API's `POST /callback/ws/endpoint`
hands out (its URL with a device_id, a service_id and a one-time ticket, and the client's configuration), on
127.0.0.1.

It speaks the protocol lark.ws.Client speaks: binary protobuf frames (pbbp2.Frame, encoded and decoded with the
SDK's own generated message class). A test sends an event — a message, a card callback — as Feishu does: a DATA
frame whose headers say `type: event`, its `message_id`, `trace_id`, `sum: 1`, `seq: 0`, and whose payload is
the schema 2.0 event's JSON (unencrypted: the connection itself is the app's). The client answers with the same
frame, its payload a JSON response `{"code": 200, "data": <base64 of the handler's result>}`; PING control frames
are answered with PONG. It can refuse a connection's handshake, as a busy gateway does, and close the current
connection. It runs the `websockets` server on an event loop in a thread of its own."""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import threading
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

DATA, CONTROL = 1, 0  # lark_oapi.ws.enum.FrameType
SERVICE_ID = 7


def _headers(frame: Any) -> dict[str, str]:
    return {h.key: h.value for h in frame.headers}


class FakeLongConnection:
    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.answers: dict[str, dict[str, Any]] = {}  # message_id → the client's response (data decoded)
        self.pings = 0
        self.connections = 0  # websockets accepted so far
        self.refused = 0  # handshakes refused so far
        self.refuse_next = 0  # how many of the next handshakes to refuse (503, as a busy gateway)
        self.endpoint_refusal: tuple[int, str] | None = None  # the endpoint call's answer instead of a URL
        self._tickets: set[str] = set()
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._sockets: list[ServerConnection] = []
        self._server: Server | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="FakeLongConnection", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake long connection did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- what the fake Open API answers to POST /callback/ws/endpoint ------------------------------------
    def endpoint(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Where to connect, with a ticket good for one connection, and the client's configuration (reconnect
        at once, no jitter: what Feishu's own answer configures, with test-sized numbers)."""
        if not isinstance(body, dict) or body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            return 200, {"code": 1000040351, "msg": "app id or secret is wrong"}
        if self.endpoint_refusal is not None:
            code, msg = self.endpoint_refusal
            return 200, {"code": code, "msg": msg}
        ticket = secrets.token_hex(8)
        with self._changed:
            self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}/ws?device_id=dev{next(self._ids)}&service_id={SERVICE_ID}&ticket={ticket}"
        return 200, {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": {
            "ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120}}}

    # --- what a test does --------------------------------------------------------------------------------
    def send(self, event: dict[str, Any], *, message_id: str | None = None) -> str:
        """Send an event (schema 2.0, as in an HTTP event's decrypted body) to the client connected last, as a
        DATA frame; its message_id."""
        message_id = message_id or f"ws-{next(self._ids)}"
        frame = Frame()
        frame.SeqID, frame.LogID, frame.service, frame.method = next(self._ids), next(self._ids), SERVICE_ID, DATA
        for key, value in (("type", "event"), ("message_id", message_id), ("trace_id", f"trace-{message_id}"),
                           ("sum", "1"), ("seq", "0")):
            header = frame.headers.add()
            header.key, header.value = key, value
        frame.payload = json.dumps(event, ensure_ascii=False).encode()
        with self._changed:
            socket = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(socket.send(frame.SerializeToString()), self._loop).result(10)
        return message_id

    def answer_to(self, message_id: str, timeout: float = 10) -> dict[str, Any]:
        """The client's response to a frame (waited for): its code, and its data as JSON (the handler's
        result: a card callback's toast)."""
        with self._changed:
            if not self._changed.wait_for(lambda: message_id in self.answers, timeout):
                raise AssertionError(f"no answer to {message_id}; got {list(self.answers)}")
            return self.answers[message_id]

    def drop(self) -> None:
        """Close the current connection, as the gateway does when it moves a client."""
        with self._changed:
            socket = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(socket.close(1000, "moved"), self._loop).result(10)

    def wait_connected(self, count: int = 1, timeout: float = 30) -> None:
        """Until `count` websockets have been accepted in all."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.connections >= count, timeout):
                raise AssertionError(f"{self.connections} long connection(s), not {count}")

    # --- the server --------------------------------------------------------------------------------------
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
        """Only /ws with the service id and a ticket the endpoint call issued and nobody used yet; a refusal
        as asked for."""
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        ticket = (query.get("ticket") or [""])[0]
        with self._changed:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                self._changed.notify_all()
                return Response(HTTPStatus.SERVICE_UNAVAILABLE.value, "Service Unavailable", Headers(), b"busy")
            if (parts.path != "/ws" or ticket not in self._tickets or not query.get("device_id")
                    or query.get("service_id") != [str(SERVICE_ID)]):
                return Response(HTTPStatus.UNAUTHORIZED.value, "Unauthorized", Headers(), b"invalid ticket")
            self._tickets.discard(ticket)
        return None

    async def _connect(self, socket: ServerConnection) -> None:
        with self._changed:
            self.connections += 1
            self._sockets.append(socket)
            self._changed.notify_all()
        async for raw in socket:
            frame = Frame()
            frame.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
            headers = _headers(frame)
            if frame.method == CONTROL:
                if headers.get("type") == "ping":
                    with self._changed:
                        self.pings += 1
                    pong = Frame()
                    pong.CopyFrom(frame)
                    del pong.headers[:]
                    header = pong.headers.add()
                    header.key, header.value = "type", "pong"
                    await socket.send(pong.SerializeToString())
                continue
            response = json.loads(frame.payload or b"{}")
            data = response.get("data")
            response["data"] = json.loads(base64.b64decode(data)) if data else None
            with self._changed:
                self.answers[headers.get("message_id", "")] = response
                self._changed.notify_all()
