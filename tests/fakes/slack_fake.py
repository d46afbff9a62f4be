"""A local fake of Slack's Web API and response URLs, reached through the client's base_url."""
from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from fakes.fake_server import FakeHandler, FakeHTTPServer, FakeServer

JSON_FIELDS = frozenset({"blocks", "view", "attachments", "metadata"})
PROFILE_FIELDS = frozenset({"display_name", "real_name", "email", "title"})
BOT_SCOPES = "app_mentions:read,chat:write,commands,im:write,users:read"

Args = dict[str, Any]
Answer = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request the fake received; header names are lower-case and never shown in repr."""

    method: str
    args: Args
    headers: dict[str, str] = field(repr=False)
    path: str = ""

    @property
    def token(self) -> str | None:
        """The bearer token the client authenticated with, if any."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class _Fault:
    status: int
    body: Answer
    headers: dict[str, str]


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _decode_form(raw: str) -> Args:
    args: Args = dict(parse_qsl(raw, keep_blank_values=True))
    for key in JSON_FIELDS & args.keys():
        try:
            args[key] = json.loads(args[key])
        except json.JSONDecodeError:
            pass
    return args


def _decode_body(content_type: str, body: bytes) -> Args:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        decoded = json.loads(body)
        return decoded if isinstance(decoded, dict) else {"_body": decoded}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _decode_form(body.decode("utf-8"))
    return {}


class _Server(FakeHTTPServer):
    fake: FakeSlack


class _Handler(FakeHandler):
    server: _Server
    content_type = "application/json; charset=utf-8"

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if url.path.startswith("/api/"):
            method = url.path.removeprefix("/api/")
        elif url.path.startswith("/response/"):
            method = "response_url"
        elif url.path.startswith("/upload/"):  # the upload URL files.getUploadURLExternal hands out
            status, answer, extra = self.server.fake._respond(Call("file_upload", {"data": body}, headers, url.path))
            self._send(status, answer, extra)
            return
        else:
            self._send(404, {"ok": False, "error": "unknown_path"})
            return
        args = _decode_form(url.query) | _decode_body(headers.get("content-type", ""), body)
        status, answer, extra = self.server.fake._respond(Call(method, args, headers, url.path))
        self._send(status, answer, extra)


class FakeSlack(FakeServer[Call]):
    """Slack's Web API on 127.0.0.1: records every call and answers like Slack does."""

    handler = _Handler
    server_class = _Server

    def __init__(
        self,
        team_id: str = "T1",
        team_name: str = "Acme",
        team_domain: str = "acme",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A1",
    ) -> None:
        super().__init__()
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_url: str | None = None  # what apps.connections.open hands out (a FakeSocketMode's URL)
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._delay = 0.0
        self._clock = itertools.count(1_700_000_000_000_100, 100)
        self._view_ids = itertools.count(1)
        self._answers: dict[str, Callable[[Args], Answer]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": lambda args: {"ok": True, "message_ts": self._next_ts()},
            "chat.update": self._update,
            "views.open": self._view,
            "views.push": self._view,
            "views.update": self._view,
            "views.publish": self._view,
            "conversations.open": self._conversations_open,
            "oauth.v2.access": self._oauth_v2_access,
            "apps.connections.open": self._connections_open,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self._file_ids = itertools.count(1)
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes uploaded to its URL

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        return self.root

    @property
    def api_url(self) -> str:
        """The Web API root to pass as slack_sdk's `base_url`."""
        return f"{self.base_url}/api/"

    def response_url(self, token: str = "hook") -> str:
        """A response_url that records POSTs as method "response_url"."""
        return f"{self.base_url}/response/{token}"

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP 429 and Retry-After."""
        headers = {"Retry-After": str(retry_after)}
        fault = _Fault(429, {"ok": False, "error": "ratelimited"}, headers)
        with self._changed:
            self._faults[method].extend([fault] * times)

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next `times` calls to `method` with `{"ok": false, "error": error}`."""
        fault = _Fault(200, {"ok": False, "error": error}, {})
        with self._changed:
            self._faults[method].extend([fault] * times)

    def break_down(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP `status`, as a failing server does."""
        fault = _Fault(status, {"ok": False, "error": "internal_error"}, {})
        with self._changed:
            self._faults[method].extend([fault] * times)

    def answer(self, method: str, body: Answer, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with exactly `body` (HTTP 200), however odd."""
        fault = _Fault(200, body, {})
        with self._changed:
            self._faults[method].extend([fault] * times)

    def delay(self, seconds: float) -> None:
        """Make every later answer wait `seconds` (after the call is recorded)."""
        self._delay = seconds

    def _respond(self, call: Call) -> tuple[int, Answer, dict[str, str]]:
        with self._changed:
            self.calls.append(call)
            fault = self._faults[call.method].popleft() if self._faults[call.method] else None
            self._changed.notify_all()
        if self._delay:
            time.sleep(self._delay)
        if fault is not None:
            return fault.status, fault.body, fault.headers
        if call.method == "response_url":
            return 200, {"ok": True}, {}
        if call.method == "file_upload":
            self.uploads[call.path.rsplit("/", 1)[-1]] = call.args["data"]
            return 200, {"ok": True}, {}
        answer = self._answers.get(call.method, lambda args: {"ok": True})(call.args)
        extra = {"X-OAuth-Scopes": BOT_SCOPES} if call.method == "auth.test" else {}
        return 200, answer, extra

    def _get_upload_url(self, args: Args) -> Answer:
        """Step 1 of files_upload_v2: a file id and the URL to POST its bytes to."""
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_ids):08d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/v1/{file_id}"}

    def _complete_upload(self, args: Args) -> Answer:
        """Step 3: share the uploaded files in a channel, with the message as the initial comment."""
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        channel = str(args.get("channel_id") or "")
        if channel and channel[0] not in "CGDZ":
            # as Slack does: a user id is no channel here; a direct message needs its D… id (conversations.open)
            return {"ok": False, "error": "invalid_arguments"}
        if not files or any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _next_ts(self) -> str:
        micros = next(self._clock)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, args: Args) -> Answer:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": "bizbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: Args) -> Answer:
        user_id = str(args.get("user", ""))
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        data = self.users[user_id]
        real_name = data.get("real_name", user_id)
        tz = data.get("tz", "Asia/Shanghai")
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": data.get("name", user_id.lower()),
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": data.get("display_name", real_name),
                "display_name_normalized": data.get("display_name", real_name),
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        user["profile"].update({k: v for k, v in data.items() if k in PROFILE_FIELDS})
        user.update({k: v for k, v in data.items() if k not in PROFILE_FIELDS | {"locale"}})
        if _truthy(args.get("include_locale")):
            user["locale"] = data.get("locale", "en-US")
        return {"ok": True, "user": user}

    def _channel_for(self, channel: str) -> str:
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _message(self, args: Args, ts: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        message.update({k: args[k] for k in ("blocks", "attachments", "thread_ts") if k in args})
        return message

    def _post_message(self, args: Args) -> Answer:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        channel = self._channel_for(str(args["channel"]))
        return {"ok": True, "channel": channel, "ts": ts, "message": self._message(args, ts)}

    def _update(self, args: Args) -> Answer:
        ts = str(args.get("ts", ""))
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, ts),
        }

    def _view(self, args: Args) -> Answer:
        submitted = args.get("view") or {}
        view_id = str(args.get("view_id") or f"V{next(self._view_ids):08d}")
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id.lower()}",
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        view.update(submitted if isinstance(submitted, dict) else {})
        view["id"] = view_id
        return {"ok": True, "view": view}

    def _connections_open(self, args: Args) -> Answer:
        """Socket Mode's WebSocket URL, once a test has set one (tests check which token asked for it)."""
        return ({"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"})

    def _conversations_open(self, args: Args) -> Answer:
        users = str(args.get("users", "")).split(",")
        channel = args.get("channel") or f"D{users[0]}"
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": channel}}

    def _oauth_v2_access(self, args: Args) -> Answer:
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {
                "id": "U1",
                "scope": "identify",
                "access_token": "xoxp-1-fake-user-token",
                "token_type": "user",
            },
            "scope": BOT_SCOPES,
            "token_type": "bot",
            "access_token": f"xoxb-{self.team_id}-fake-bot-token",
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def fake_slack_server(**settings: Any) -> Iterator[FakeSlack]:
    """Yield a running FakeSlack and stop it afterwards; wrap it in a pytest fixture."""
    with FakeSlack(**settings) as fake:
        yield fake
