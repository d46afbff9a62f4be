"""A local fake of DingTalk's Open API (and of a robot's session webhook): access tokens, Stream connections
(a FakeStreamGateway's endpoint and ticket), robot messages to people and groups, interactive cards sent and
updated, media uploads, and throttling when asked to."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.fake_server import FakeHandler, FakeServer


@dataclass
class Call:
    method: str  # the path, e.g. /v1.0/robot/groupMessages/send
    verb: str
    body: dict[str, Any]
    token: str | None
    query: dict[str, list[str]] = field(default_factory=dict)


class FakeDingTalk(FakeServer[Call]):
    APP_KEY = "dingappkey"
    APP_SECRET = "app-secret-for-tests"

    def __init__(self, expire_in: int = 7200) -> None:
        super().__init__()
        self.expire_in = expire_in
        self.tokens: set[str] = set()
        self.issued = 0
        self.throttle: dict[str, int] = {}  # path → how many calls to answer "too fast" first
        self.cards: dict[str, dict[str, Any]] = {}  # cardBizId → the card data it shows now
        self.card_targets: dict[str, dict[str, Any]] = {}
        self.sent = 0
        self.uploads: dict[str, dict[str, Any]] = {}  # media_id → {"type", "filename", "mime", "data"}
        self.gateway: Any = None  # a FakeStreamGateway: where /v1.0/gateway/connections/open sends a client
        self.stream_refused = False  # answer the connection request as DingTalk does when it will not

    def revoke(self) -> None:
        """Every token issued so far is refused from now on (as once expired)."""
        with self._changed:
            self.tokens.clear()

    def answer(self, verb: str, path: str, query: dict[str, list[str]], body: Any, token: str | None
               ) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self.calls.append(Call(path, verb, body if isinstance(body, dict) else {}, token, query))
            self._changed.notify_all()
            if self.throttle.get(path, 0) > 0:
                self.throttle[path] -= 1
                if path.startswith("/robot/sendBySession"):
                    return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
                return 429, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "requestid": "r1",
                             "message": "QPS limit exceeded"}
            if path == "/v1.0/gateway/connections/open":
                if body.get("clientId") != self.APP_KEY or body.get("clientSecret") != self.APP_SECRET:
                    return 401, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"}
                if self.gateway is None or self.stream_refused:
                    return 503, {"code": "ServiceUnavailable", "message": "服务暂不可用"}
                return 200, self.gateway.issue([s.get("topic") for s in body.get("subscriptions") or []])
            if path == "/v1.0/oauth2/accessToken":
                if body.get("appKey") != self.APP_KEY or body.get("appSecret") != self.APP_SECRET:
                    return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"}
                self.issued += 1
                made = f"token-{self.issued}"
                self.tokens.add(made)
                return 200, {"accessToken": made, "expireIn": self.expire_in}
            if path == "/media/upload":
                if (query.get("access_token") or [""])[0] not in self.tokens:
                    return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
                media = f"@media{len(self.calls)}"
                self.uploads[media] = body.get("files", {}).get("media", {}) | {"type": body.get("fields", {}).get(
                    "type")}
                return 200, {"errcode": 0, "errmsg": "ok", "type": self.uploads[media]["type"], "media_id": media,
                             "created_at": 1}
            if path.startswith("/robot/sendBySession"):
                return 200, {"errcode": 0, "errmsg": "ok"}
            if token not in self.tokens:
                return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
            self.sent += 1
            if path in ("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send"):
                return 200, {"processQueryKey": f"pqk{self.sent}", "invalidStaffIdList": [],
                             "flowControlledStaffIdList": []}
            if path == "/v1.0/im/v1.0/robot/interactiveCards/send":
                biz = body["cardBizId"]
                self.cards[biz] = json.loads(body["cardData"])
                self.card_targets[biz] = body
                return 200, {"processQueryKey": f"pqk{self.sent}"}
            if path == "/v1.0/im/robots/interactiveCards" and verb == "PUT":
                biz = body.get("cardBizId")
                if biz not in self.cards:
                    return 400, {"code": "param.error", "message": "card not found"}
                self.cards[biz] = json.loads(body["cardData"])
                return 200, {"success": True, "result": True}
            return 404, {"code": "NotFound", "message": path}

    def messages_to(self, chat: str) -> list[dict[str, Any]]:
        """Markdown messages and cards sent to a person (staffId) or a group (openConversationId), oldest first:
        each as {"kind", "text", "buttons", "biz"}."""
        out: list[dict[str, Any]] = []
        for call in self.calls_to_any(("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send",
                                       "/v1.0/im/v1.0/robot/interactiveCards/send")):
            body = call.body
            if call.method.endswith("interactiveCards/send"):
                to = body.get("openConversationId") or json.loads(body.get("singleChatReceiver") or "{}").get("userId")
                if to == chat:
                    card = json.loads(body["cardData"])
                    out.append({"kind": "card", "biz": body["cardBizId"], "card": card})
                continue
            if chat in (body.get("userIds") or []) or body.get("openConversationId") == chat:
                out.append({"kind": body["msgKey"], "param": json.loads(body["msgParam"])})
        return out

    def calls_to_any(self, methods: tuple[str, ...]) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method in methods]


class _Handler(FakeHandler):
    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = {}
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw)
        elif raw and "multipart" in (self.headers.get("Content-Type") or ""):
            body = _multipart(self.headers["Content-Type"], raw)
        fake: FakeDingTalk = self.server.fake  # type: ignore[attr-defined]
        status, answer = fake.answer(self.command, parts.path, parse_qs(parts.query), body,
                                     self.headers.get("x-acs-dingtalk-access-token"))
        self._send(status, answer)


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body: its plain fields and its files ({"filename", "mime", "data"})."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = {"filename": filename, "mime": part.get_content_type(), "data": data}
        else:
            fields[str(name)] = data.decode("utf-8")
    return {"multipart": len(raw), "fields": fields, "files": files}


FakeDingTalk.handler = _Handler
