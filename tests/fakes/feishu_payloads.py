"""Feishu's event payloads (schema 2.0) as its servers send them to an HTTP event subscription: encrypted
with the app's Encrypt Key (AES-256-CBC, key = SHA-256 of the Encrypt Key, a random IV in front, base64)
and signed (X-Lark-Signature = SHA-256 of timestamp + nonce + Encrypt Key + body)."""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from typing import Any

from Crypto.Cipher import AES

from fakes.feishu_fake import BOT_OPEN_ID, TENANT

APP_ID = "cli_a1b2c3d4e5f6"
_events = itertools.count(1)


def encrypt(plain: dict[str, Any], encrypt_key: str) -> bytes:
    key = hashlib.sha256(encrypt_key.encode()).digest()
    data = json.dumps(plain, ensure_ascii=False).encode()
    pad = AES.block_size - len(data) % AES.block_size
    iv = os.urandom(16)
    sealed = iv + AES.new(key, AES.MODE_CBC, iv).encrypt(data + bytes([pad]) * pad)
    return json.dumps({"encrypt": base64.b64encode(sealed).decode()}).encode()


def signed_headers(body: bytes, encrypt_key: str, timestamp: int | None = None, nonce: str = "n0nce"
                   ) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sign = hashlib.sha256((stamp + nonce + encrypt_key).encode() + body).hexdigest()
    return {"Content-Type": "application/json; charset=utf-8", "X-Lark-Request-Timestamp": stamp,
            "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": sign,
            "X-Request-Id": f"req-{stamp}-{nonce}"}


def next_event_id() -> str:
    return f"5e3702a84e847582be8db7fb73{next(_events):06d}"


def header(event_type: str, token: str, event_id: str | None = None, tenant: str = TENANT) -> dict[str, Any]:
    return {"event_id": event_id or next_event_id(), "token": token, "create_time": str(int(time.time() * 1000)),
            "event_type": event_type, "tenant_key": tenant, "app_id": APP_ID}


def url_verification(token: str, challenge: str = "ajls384kdjx98XX") -> dict[str, Any]:
    return {"challenge": challenge, "token": token, "type": "url_verification"}


def message(text: str, token: str, *, open_id: str, chat_id: str, chat_type: str = "p2p",
            mentions: list[dict[str, Any]] | None = None, event_id: str | None = None, tenant: str = TENANT,
            message_type: str = "text", content: dict[str, Any] | None = None) -> dict[str, Any]:
    """im.message.receive_v1: `text` as the client sends it (mentions as @_user_N keys)."""
    return {"schema": "2.0", "header": header("im.message.receive_v1", token, event_id, tenant), "event": {
        "sender": {"sender_id": {"union_id": "on_" + open_id[3:], "user_id": None, "open_id": open_id},
                   "sender_type": "user", "tenant_key": tenant},
        "message": {"message_id": f"om_in{next(_events):08d}", "root_id": "", "parent_id": "",
                    "create_time": str(int(time.time() * 1000)), "update_time": str(int(time.time() * 1000)),
                    "chat_id": chat_id, "chat_type": chat_type, "message_type": message_type,
                    "content": json.dumps(content if content is not None else {"text": text}, ensure_ascii=False),
                    "mentions": mentions or [], "user_agent": "Mozilla/5.0 Lark/7.30"}}}


def mention(key: str, open_id: str, name: str, tenant: str = TENANT) -> dict[str, Any]:
    return {"key": key, "id": {"union_id": "on_" + open_id[3:], "user_id": None, "open_id": open_id},
            "name": name, "tenant_key": tenant}


def bot_mention(key: str = "@_user_1") -> dict[str, Any]:
    return mention(key, BOT_OPEN_ID, "bizbot")


def card_action(value: dict[str, Any], token: str, *, open_id: str, message_id: str, chat_id: str,
                form_value: dict[str, Any] | None = None, event_id: str | None = None, tenant: str = TENANT,
                tag: str = "button") -> dict[str, Any]:
    """card.action.trigger (the new card callback): who clicked what, on which message."""
    action: dict[str, Any] = {"value": value, "tag": tag, "timezone": "Asia/Shanghai"}
    if form_value is not None:
        action.update(form_value=form_value, name="submit")
    return {"schema": "2.0", "header": header("card.action.trigger", token, event_id, tenant), "event": {
        "operator": {"tenant_key": tenant, "user_id": None, "open_id": open_id, "union_id": "on_" + open_id[3:]},
        "token": "c-" + next_event_id(), "action": action, "host": "im_message", "delivery_type": "",
        "context": {"open_message_id": message_id, "open_chat_id": chat_id}}}


def bot_menu(event_key: str, token: str, *, open_id: str, event_id: str | None = None, tenant: str = TENANT
             ) -> dict[str, Any]:
    """application.bot.menu_v6: a click in the bot's menu."""
    return {"schema": "2.0", "header": header("application.bot.menu_v6", token, event_id, tenant), "event": {
        "operator": {"operator_name": "someone", "operator_id": {"union_id": "on_" + open_id[3:], "user_id": None,
                                                                 "open_id": open_id}},
        "event_key": event_key, "timestamp": int(time.time())}}
