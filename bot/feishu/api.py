"""Feishu's Open API through lark-oapi (its Client manages the tenant access token): messages sent, replied
to and revised, images and files uploaded, a user's profile, the bot's own identity.

Every call goes to FEISHU_DOMAIN (Feishu, Lark, or any base URL). A refusal comes back as FeishuError,
which says whether it may pass (throttling, a server or network failure) and how long Feishu asked to wait.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)

# Feishu's answers for "too many requests": the gateway's frequency limit, and im's per-chat and per-user
# send limits (230020: this chat, 230049: sent too often to this user)
THROTTLED = frozenset({99991400, 230020, 230049, 11232, 11233})
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
                       .domain(settings.feishu_domain).timeout(10).log_level(sdk.LogLevel.WARNING).build())

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

    def _call(self, fn: Any, request: Any, what: str) -> Any:
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
        v1 = im()
        body = (v1.CreateMessageRequestBody.builder().receive_id(receive_id).msg_type(msg_type)
                .content(json.dumps(content, ensure_ascii=False)))
        if uuid:
            body = body.uuid(uuid[:50])
        request = (v1.CreateMessageRequest.builder().receive_id_type(receive_id_type(receive_id))
                   .request_body(body.build()).build())
        data = self._call(self.client.im.v1.message.create, request, "im.message.create")
        return str(data.message_id)

    def reply(self, message_id: str, msg_type: str, content: dict[str, Any]) -> str:
        """im.v1.message.reply: an answer quoting the message it answers, in the same chat."""
        v1 = im()
        request = (v1.ReplyMessageRequest.builder().message_id(message_id)
                   .request_body(v1.ReplyMessageRequestBody.builder().msg_type(msg_type)
                                 .content(json.dumps(content, ensure_ascii=False)).build()).build())
        data = self._call(self.client.im.v1.message.reply, request, "im.message.reply")
        return str(data.message_id)

    def patch(self, message_id: str, card: dict[str, Any]) -> None:
        """im.v1.message.patch: a card sent earlier shows `card` (for everyone who has it: update_multi)."""
        v1 = im()
        request = (v1.PatchMessageRequest.builder().message_id(message_id)
                   .request_body(v1.PatchMessageRequestBody.builder()
                                 .content(json.dumps(card, ensure_ascii=False)).build()).build())
        self._call(self.client.im.v1.message.patch, request, "im.message.patch")

    def upload_image(self, data: bytes) -> str:
        v1 = im()
        request = (v1.CreateImageRequest.builder()
                   .request_body(v1.CreateImageRequestBody.builder().image_type("message")
                                 .image(io.BytesIO(data)).build()).build())
        return str(self._call(self.client.im.v1.image.create, request, "im.image.create").image_key)

    def upload_file(self, filename: str, data: bytes) -> str:
        v1 = im()
        kind = {"xlsx": "xls", "xls": "xls", "csv": "stream", "pdf": "pdf", "docx": "doc", "doc": "doc"}.get(
            filename.rsplit(".", 1)[-1].lower(), "stream")
        request = (v1.CreateFileRequest.builder()
                   .request_body(v1.CreateFileRequestBody.builder().file_type(kind).file_name(filename)
                                 .file(io.BytesIO(data)).build()).build())
        return str(self._call(self.client.im.v1.file.create, request, "im.file.create").file_key)

    # --- people -------------------------------------------------------------------------------------
    def profile(self, open_id: str) -> Profile:
        """contact.v3.user.get: the user's name (and union_id)."""
        import lark_oapi.api.contact.v3 as contact  # heavy: see lark()

        request = contact.GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build()
        user = self._call(self.client.contact.v3.user.get, request, "contact.user.get").user
        return Profile(user.name or user.en_name or user.nickname if user else None,
                       user.union_id if user else None)

    def bot(self) -> dict[str, Any]:
        """GET /open-apis/bot/v3/info (no typed request in the SDK): the bot's open_id and app_name. Asking
        also fetches the tenant access token, so it checks the app's credentials."""
        sdk = lark()
        request = (sdk.BaseRequest.builder().http_method(sdk.HttpMethod.GET).uri("/open-apis/bot/v3/info")
                   .token_types({sdk.AccessTokenType.TENANT}).build())
        try:
            response = self.client.request(request)
        except Exception as exc:
            raise FeishuError(f"bot.info: {type(exc).__name__}", passing=True) from None
        self._check(response, "bot.info")
        raw = response.raw
        try:
            body = json.loads(raw.content) if raw is not None and raw.content else {}
        except ValueError:
            body = {}
        return body.get("bot") or {}


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 3600 else None
