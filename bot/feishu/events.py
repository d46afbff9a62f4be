"""POST /feishu/events: Feishu's HTTP event subscription and card callbacks.

Every request is checked here with answers Feishu and an operator can read: a body that is not encrypted
with the app's Encrypt Key (AES-256-CBC, the key being the SHA-256 of the Encrypt Key), or whose
X-Lark-Signature (SHA-256 of timestamp + nonce + Encrypt Key + body) does not match, or whose timestamp is
more than five minutes away, gets 401; a wrong Verification Token 403; the URL verification challenge is
answered. Nothing is changed by a refused request. A checked event goes to the adapter
(FeishuAdapter.receive), which acknowledges a message at once and works on it after.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.feishu.api import lark

if TYPE_CHECKING:
    from bot.feishu.app import FeishuAdapter

log = logging.getLogger(__name__)

STALE = 300  # seconds a signed request stays valid


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def decrypt(encrypted: str, encrypt_key: str) -> dict[str, Any]:
    """The event inside an encrypted body (lark-oapi's AESCipher), or Refused (401)."""
    try:
        plain = json.loads(lark().AESCipher(encrypt_key).decrypt_str(encrypted))
    except Exception:  # padding, base64, UTF-8 or JSON: not encrypted with this app's key
        raise Refused(401, "not encrypted with the app's Encrypt Key") from None
    if not isinstance(plain, dict):
        raise Refused(400, "the event is not an object")
    return plain


def check(headers: Any, body: bytes, encrypt_key: str, token: str, now: float) -> dict[str, Any]:
    """The decrypted event of a request Feishu really sent, or Refused."""
    try:
        outer = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(outer, dict) or not isinstance(outer.get("encrypt"), str):
        raise Refused(401, "the body is not encrypted")
    event = decrypt(outer["encrypt"], encrypt_key)
    if event.get("type") == "url_verification":
        if not hmac.compare_digest(str(event.get("token") or "").encode(), token.encode()):
            raise Refused(403, "wrong verification token")
        return event
    stamp = headers.get("x-lark-request-timestamp") or ""
    nonce = headers.get("x-lark-request-nonce") or ""
    given = headers.get("x-lark-signature") or ""
    if not stamp or not given or not hmac.compare_digest(signature(stamp, nonce, encrypt_key, body).encode(),
                                                         given.encode()):
        raise Refused(401, "bad signature")
    if not stamp.isdecimal() or abs(now - int(stamp)) > STALE:
        raise Refused(401, "stale request")
    raw_header = event.get("header")
    header: dict[str, Any] = raw_header if isinstance(raw_header, dict) else {}
    given_token = str(header.get("token") or event.get("token") or "")
    if not hmac.compare_digest(given_token.encode(), token.encode()):
        raise Refused(403, "wrong verification token")
    return event


def endpoint(adapter: FeishuAdapter) -> Callable[[Request], Awaitable[Response]]:
    settings = adapter.settings
    assert settings.feishu_encrypt_key is not None and settings.feishu_verification_token is not None
    encrypt_key = settings.feishu_encrypt_key.get_secret_value()
    token = settings.feishu_verification_token.get_secret_value()

    async def feishu_events(request: Request) -> Response:
        body = await request.body()
        try:
            event = check(request.headers, body, encrypt_key, token, time.time())
        except Refused as exc:
            log.warning("feishu request refused (%s): %s", exc.status, exc)
            return JSONResponse({"msg": "refused"}, status_code=exc.status)
        if event.get("type") == "url_verification":
            return JSONResponse({"challenge": event.get("challenge")})
        raw_header = event.get("header")
        header: dict[str, Any] = raw_header if isinstance(raw_header, dict) else {}
        # read from the event checked above (lark-oapi's dispatcher would decrypt and verify it again)
        return JSONResponse(await adapter.receive(str(header.get("event_type") or ""), event))

    return feishu_events
