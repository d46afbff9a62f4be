"""The doors chat platforms knock on (/slack/events, /telegram/webhook), safe whatever comes through them.

A body over MAX_BODY is refused (413) before it is read; a body that is no request of the platform gets a
4xx and one line in the log — never a 500 or a traceback. Telegram does not deliver an update again after
a 200, so an update whose handling failed for a reason that may pass is answered 503: Telegram delivers it
again, and the update is recorded as seen only once handled, so it then runs, once.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.slack.shape import body_problem
from domain.kernel.logcontext import bind

if TYPE_CHECKING:
    from bot.telegram.app import TelegramAdapter

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # far above any Slack payload or Telegram update


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is refused with 413 — by its Content-Length before
    any of it is read, or, sent without one (chunked), as soon as what has arrived passes the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            if not length.isdigit():
                await _refuse(scope, send, 400, "a Content-Length that is no number")
            elif int(length) > self.limit:
                await _refuse(scope, send, 413, f"a body of {int(length)} bytes")
            else:  # the server reads no more than Content-Length says
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _refuse(scope, send, 413, f"a body of more than {self.limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, status: int, what: str) -> None:
    log.warning("%s %s refused: %s", scope.get("method"), scope.get("path"), what)
    await JSONResponse({"ok": False}, status_code=status, headers={"Connection": "close"})(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


Acknowledged = Callable[[str, float], None]  # told the platform and the seconds its request waited for an answer


def slack_events(handle: Callable[[Request], Awaitable[Response]],
                 acknowledged: Acknowledged | None = None) -> Callable[[Request], Awaitable[Response]]:
    """/slack/events: Bolt (`handle`) gets only a body it can read; what it cannot is refused (400). The
    request's event (its event_id or trigger_id) is in the log context while it is handled."""

    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        body = await request.body()
        problem = body_problem(request.headers, body)
        if problem is None:
            bind(platform="slack", event=_slack_event(request.headers.get("content-type", ""), body))
            try:
                return await handle(request)
            except Exception as exc:
                problem = f"unreadable ({type(exc).__name__})"
            finally:
                if acknowledged is not None:
                    acknowledged("slack", time.perf_counter() - start)
        log.warning("slack request refused: %s", problem)
        return JSONResponse({"ok": False}, status_code=400)

    return endpoint


def _slack_event(content_type: str, body: bytes) -> str | None:
    """What names one Slack request for the logs: an event's event_id, else a command's or an action's
    trigger_id (None when neither is there)."""
    try:
        if content_type.startswith("application/json"):
            data: Any = json.loads(body)
        else:
            form = parse_qs(body.decode("utf-8", "replace"))
            data = json.loads(form["payload"][0]) if "payload" in form else {k: v[0] for k, v in form.items()}
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    found = data.get("event_id") or data.get("trigger_id")
    return str(found)[:80] if found else None


def telegram_webhook(telegram: TelegramAdapter, acknowledged: Acknowledged | None = None
                     ) -> Callable[[Request], Awaitable[Response]]:
    """/telegram/webhook: an update is handled before Telegram gets its answer — 200 when handled (or when
    it can never be: Telegram would deliver it again forever), 503 when its handling failed for a reason
    that may pass, so that Telegram delivers it again; a body that is no update at all gets 400."""

    async def endpoint(request: Request) -> Response:
        if not telegram.check_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            return JSONResponse({"ok": False}, status_code=403)
        problem = None
        try:
            update: Any = json.loads(await request.body())
        except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past the parser's depth
            problem = "the body is not JSON"
        else:
            if not isinstance(update, dict):
                problem = f"the body is a JSON {type(update).__name__}, not an update"
            elif type(update.get("update_id")) is not int:
                problem = "the update has no update_id"
        if problem is not None:
            log.warning("telegram webhook refused: %s", problem)
            return JSONResponse({"ok": False}, status_code=400)
        bind(platform="telegram", event=update["update_id"])
        start = time.perf_counter()
        try:
            handled = await telegram.feed(update)
        except ValueError as exc:  # Unreadable: a shape the library cannot read
            log.warning("telegram update %s skipped: the library cannot read it (%s)", update["update_id"], exc)
            return JSONResponse({"ok": True})
        finally:
            if acknowledged is not None:
                acknowledged("telegram", time.perf_counter() - start)
        if not handled:
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True})

    return endpoint
