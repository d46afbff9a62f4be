"""/dingtalk/events: the robot's HTTP callback (DINGTALK_MODE=http). Its `timestamp` and `sign` headers
are checked before anything is read as a request: no signature or a stale one gets 401, a forged one 403,
and nothing changes. A robot message or a card callback is handled before DingTalk gets its answer: 200
when handled (or when it never can be), 503 when its handling failed for a reason that may pass."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.dingtalk import sign
from bot.dingtalk.app import DingTalkAdapter, card_once

log = logging.getLogger(__name__)


def events(adapter: DingTalkAdapter) -> Callable[[Request], Awaitable[Response]]:
    secret = adapter.settings.dingtalk_client_secret
    assert secret is not None

    async def endpoint(request: Request) -> Response:
        timestamp = request.headers.get("timestamp")
        problem = sign.check(secret.get_secret_value(), timestamp, request.headers.get("sign"), adapter.now_ms())
        if problem is not None:
            log.warning("dingtalk callback refused: %s signature", problem)
            return JSONResponse({"ok": False}, status_code=403 if problem == "forged" else 401)
        try:
            body: Any = json.loads(await request.body())
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            log.warning("dingtalk callback refused: the body is no JSON object")
            return JSONResponse({"ok": False}, status_code=400)
        if "outTrackId" in body:
            handled = await adapter.on_card(body, card_once(body, timestamp or ""))
        elif "msgId" in body and "conversationId" in body:
            handled = await adapter.on_message(body)
        else:
            log.info("dingtalk callback ignored: neither a robot message nor a card callback")
            return JSONResponse({})
        return JSONResponse({}) if handled else JSONResponse({"ok": False}, status_code=503)

    return endpoint
