"""Feishu's Open API through lark-oapi (its Client manages the tenant access token): messages sent, replied
to and revised, images and files uploaded, a user's profile, the bot's own identity.

Messages (sent, replied to, revised: a call or more per event) go through one long-lived HTTP client that
keeps its connections open, with the tenant access token lark-oapi's token manager holds (fetched once, and
again when it nears its expiry); lark-oapi's own transport opens a new connection for every call.

Every call goes to FEISHU_DOMAIN (Feishu, Lark, or any base URL). A refusal comes back as FeishuError,
which says whether it may pass (throttling, a server or network failure) and how long Feishu asked to wait.

The tokens lark-oapi fetches are kept in bizbot's own store (given to the SDK as its token cache): when Feishu
answers that the tenant access token is invalid or expired (revoked, the app's secret reset, a clock that
drifted), the store is emptied and the call is made once more with a token fetched anew.
"""
from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

import httpx

from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Feishu's answers for "too many requests": the gateway's frequency limit, and im's per-chat and per-user
# send limits (230020: this chat, 230049: sent too often to this user)
THROTTLED = frozenset({99991400, 230020, 230049, 11232, 11233})
# the access token is missing, invalid or expired: fetch a new one
TOKEN_REFUSED = frozenset({99991661, 99991663, 99991664, 99991665, 99991668})
# the message is gone or is no card of this app: a revision has nothing left to change
NOT_EDITABLE = frozenset({230001, 230011, 230002, 230099})
DEFAULT_WAIT = 1.0  # seconds, when Feishu throttles without saying how long


def lark() -> ModuleType:
    """lark-oapi, imported where Feishu is configured: importing it loads every Open API it wraps (~3 s)."""
    import lark_oapi  # heavy: its package imports every API module it has

    return lark_oapi


def im() -> ModuleType:
    import lark_oapi.api.im.v1 as im_v1  # heavy: see lark()

    return im_v1


class FeishuError(Exception):
    """An Open API call that failed: `code` is Feishu's (or the HTTP status), `retry_after` its wait."""

    def __init__(self, reason: str, code: int = 0, retry_after: float | None = None, passing: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.retry_after = retry_after
        self.passing = passing


@dataclass(frozen=True)
class Profile:
    name: str | None
    union_id: str | None = None


class TokenStore:
    """lark-oapi's token cache (its ICache: get, and set with an expiry as a Unix time), which bizbot can empty
    when Feishu refuses a token it still holds. One for the process: the SDK keeps one cache for all its
    clients."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str:
        with self._lock:
            value, expires = self._tokens.get(key, ("", 0.0))
        return value if expires > time.time() else ""

    def set(self, key: str, value: str, expire: int) -> None:
        with self._lock:
            self._tokens[key] = (value, float(expire))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenStore()


def receive_id_type(receive_id: str) -> str:
    """What a receive id is: a chat (oc_), a user's open_id (ou_) or union_id (on_)."""
    if receive_id.startswith("ou_"):
        return "open_id"
    if receive_id.startswith("on_"):
        return "union_id"
    return "chat_id"


class FeishuApi:
    """Synchronous calls (run them off the event loop)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.feishu_app_id and settings.feishu_app_secret is not None
        sdk = lark()
        self.domain = settings.feishu_domain
        self.client = (sdk.Client.builder().app_id(settings.feishu_app_id)
                       .app_secret(settings.feishu_app_secret.get_secret_value())
                       .domain(settings.feishu_domain).timeout(10).cache(TOKENS)
                       .log_level(sdk.LogLevel.WARNING).build())
        self.http = httpx.Client(base_url=self.client.config.domain, timeout=10.0,
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=32))
        self._token_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def token(self) -> str:
        """The tenant access token (lark-oapi's token manager caches it until ten minutes before it expires)."""
        from lark_oapi.core.token import TokenManager  # heavy: see lark()

        with self._token_lock:  # one fetch when many calls find the cache empty at once
            return str(TokenManager.get_self_tenant_token(self.client.config))

    def _open(self, method: str, path: str, what: str, body: dict[str, Any],
              params: dict[str, str] | None = None) -> dict[str, Any]:
        """One Open API call on the long-lived client: its `data`, or FeishuError as `_check` raises it."""
        return _fresh_token(lambda: self._open_once(method, path, what, body, params))

    def _open_once(self, method: str, path: str, what: str, body: dict[str, Any],
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, params=params, json=body,
                                         headers={"Authorization": f"Bearer {self.token()}"})
            answer = response.json() if response.content else {}
        except FeishuError:
            raise
        except Exception as exc:  # the network, the token endpoint, an answer that is not Feishu's JSON
            raise FeishuError(f"{what}: {type(exc).__name__}", passing=True) from None
        code = int(answer.get("code") or 0) if isinstance(answer, dict) else response.status_code
        status = response.status_code
        if code == 0 and status < 400:
            data = answer.get("data") if isinstance(answer, dict) else None
            return data if isinstance(data, dict) else {}
        throttled = status == 429 or code in THROTTLED
        wait = (_seconds(response.headers.get("x-ogw-ratelimit-reset"))
                or _seconds(response.headers.get("retry-after")))
        reason = f"{what}: {code} {answer.get('msg') if isinstance(answer, dict) else ''}".strip()
        raise FeishuError(reason, code, (wait or DEFAULT_WAIT) if throttled else None,
                          passing=throttled or status >= 500)

    def _check(self, response: Any, what: str) -> Any:
        """The response's data, or FeishuError with Feishu's code, message and wait."""
        raw = getattr(response, "raw", None)
        status = int(getattr(raw, "status_code", 0) or 0)
        code = int(response.code or 0) if response.code is not None else (0 if 200 <= status < 300 else status)
        if code == 0 and (status == 0 or status < 400):
            return getattr(response, "data", None)
        headers = {k.lower(): v for k, v in (getattr(raw, "headers", None) or {}).items()}
        throttled = status == 429 or code in THROTTLED
        wait = _seconds(headers.get("x-ogw-ratelimit-reset")) or _seconds(headers.get("retry-after"))
        reason = f"{what}: {code} {response.msg or ''}".strip()
        raise FeishuError(reason, code, (wait or DEFAULT_WAIT) if throttled else None,
                          passing=throttled or status >= 500)

    def _call(self, fn: Any, request: Callable[[], Any], what: str) -> Any:
        """A call through lark-oapi's typed API, with the request `request()` builds (anew if the call is made
        again: an upload's file is read as it is sent)."""
        return _fresh_token(lambda: self._call_once(fn, request(), what))

    def _call_once(self, fn: Any, request: Any, what: str) -> Any:
        try:
            response = fn(request)
        except FeishuError:
            raise
        except Exception as exc:  # the network, the token endpoint, an answer that is not Feishu's
            raise FeishuError(f"{what}: {type(exc).__name__}", passing=True) from None
        return self._check(response, what)

    # --- messages -----------------------------------------------------------------------------------
    def send(self, receive_id: str, msg_type: str, content: dict[str, Any], uuid: str | None = None) -> str:
        """im.v1.message.create: the new message's id. `uuid` makes a repeat of the same send a no-op
        (Feishu de-duplicates it for an hour)."""
        body = {"receive_id": receive_id, "msg_type": msg_type, "content": json.dumps(content, ensure_ascii=False)}
        if uuid:
            body["uuid"] = uuid[:50]
        data = self._open("POST", "/open-apis/im/v1/messages", "im.message.create", body,
                          {"receive_id_type": receive_id_type(receive_id)})
        return str(data.get("message_id"))

    def reply(self, message_id: str, msg_type: str, content: dict[str, Any]) -> str:
        """im.v1.message.reply: an answer quoting the message it answers, in the same chat."""
        data = self._open("POST", f"/open-apis/im/v1/messages/{message_id}/reply", "im.message.reply",
                          {"msg_type": msg_type, "content": json.dumps(content, ensure_ascii=False)})
        return str(data.get("message_id"))

    def patch(self, message_id: str, card: dict[str, Any]) -> None:
        """im.v1.message.patch: a card sent earlier shows `card` (for everyone who has it: update_multi)."""
        self._open("PATCH", f"/open-apis/im/v1/messages/{message_id}", "im.message.patch",
                   {"content": json.dumps(card, ensure_ascii=False)})

    def upload_image(self, data: bytes) -> str:
        v1 = im()

        def request() -> Any:
            return (v1.CreateImageRequest.builder()
                    .request_body(v1.CreateImageRequestBody.builder().image_type("message")
                                  .image(io.BytesIO(data)).build()).build())

        return str(self._call(self.client.im.v1.image.create, request, "im.image.create").image_key)

    def upload_file(self, filename: str, data: bytes) -> str:
        v1 = im()
        kind = {"xlsx": "xls", "xls": "xls", "csv": "stream", "pdf": "pdf", "docx": "doc", "doc": "doc"}.get(
            filename.rsplit(".", 1)[-1].lower(), "stream")

        def request() -> Any:
            return (v1.CreateFileRequest.builder()
                    .request_body(v1.CreateFileRequestBody.builder().file_type(kind).file_name(filename)
                                  .file(io.BytesIO(data)).build()).build())

        return str(self._call(self.client.im.v1.file.create, request, "im.file.create").file_key)

    # --- people -------------------------------------------------------------------------------------
    def profile(self, open_id: str) -> Profile:
        """contact.v3.user.get: the user's name (and union_id)."""
        import lark_oapi.api.contact.v3 as contact  # heavy: see lark()

        user = self._call(self.client.contact.v3.user.get,
                          lambda: contact.GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build(),
                          "contact.user.get").user
        return Profile(user.name or user.en_name or user.nickname if user else None,
                       user.union_id if user else None)

    def bot(self) -> dict[str, Any]:
        """GET /open-apis/bot/v3/info (no typed request in the SDK): the bot's open_id and app_name. Asking
        also fetches the tenant access token, so it checks the app's credentials."""
        sdk = lark()
        request = (sdk.BaseRequest.builder().http_method(sdk.HttpMethod.GET).uri("/open-apis/bot/v3/info")
                   .token_types({sdk.AccessTokenType.TENANT}).build())

        def ask() -> Any:
            try:
                response = self.client.request(request)
            except Exception as exc:
                raise FeishuError(f"bot.info: {type(exc).__name__}", passing=True) from None
            self._check(response, "bot.info")
            return response

        raw = _fresh_token(ask).raw
        try:
            body = json.loads(raw.content) if raw is not None and raw.content else {}
        except ValueError:
            body = {}
        return body.get("bot") or {}


def _fresh_token(attempt: Callable[[], T]) -> T:
    """`attempt()`; if Feishu refused the tenant access token, once more with a token fetched anew."""
    try:
        return attempt()
    except FeishuError as exc:
        if exc.code not in TOKEN_REFUSED:
            raise
        log.info("feishu refused the tenant access token (%s): fetching a new one", exc.code)
        TOKENS.clear()
    return attempt()


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 3600 else None
