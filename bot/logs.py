"""Logging for `bizbot`: one handler on the root logger, and no secret gets past it.

Every record, bizbot's or any library's, reaches the root logger's handler, whose filter replaces each
configured secret with *** wherever it shows: in the message and its arguments, in the exception's text
and in the stack, written as given, URL-escaped, JSON-escaped, or inside a Telegram `bot<TOKEN>` path.
Anything shaped like a Slack or Telegram token, a URL's password or an Authorization header's credentials
goes the same way, whether bizbot knows it or not (a workspace's token from the database). HTTP clients
and the scheduler, which log a line per call or per tick, stay at WARNING unless BIZBOT_LOG_LEVEL=debug.

BIZBOT_LOG_FORMAT: `text` (a line of plain text), `json` (one JSON object a line, with the request's context:
platform, department, member, command, event, incident — domain.kernel.logcontext) or `auto` (text on a
terminal, JSON otherwise). A JSON line is redacted as a whole, once more, after it is written out.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

from bot.settings import Settings
from domain.kernel.logcontext import FIELDS, current

REDACTED = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# a line per HTTP call (httpx's carries the URL, which for Telegram holds the token) or per scheduler tick
CHATTY = ("httpx", "httpcore", "hpack", "urllib3", "slack_sdk", "slack_bolt", "telegram", "apscheduler",
          "aiohttp.access", "aiohttp.client", "websockets", "uvicorn.access")
QUIET_ALWAYS = ("sqlalchemy",)  # its INFO and DEBUG are every statement and every row
SHAPES = (
    (re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]{4,}"), r"\1-" + REDACTED),  # Slack tokens
    (re.compile(r"\bbot[0-9]{3,}:[A-Za-z0-9_-]{8,}"), "bot" + REDACTED),  # a Telegram Bot API path
    (re.compile(r"\b[0-9]{5,}:AA[A-Za-z0-9_-]{30,}"), REDACTED),  # a Telegram token
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),  # an Authorization header's
    (re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?\s*Basic\s+)[A-Za-z0-9+/=]{8,}", re.IGNORECASE),
     r"\1" + REDACTED),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@"), r"\1" + REDACTED + "@"),  # a URL's password
)


class Redactor:
    """Replaces the secrets it was given, in every form they take in logs, and anything token-shaped."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update(_forms(secret))
        self._known = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) \
            if forms else None

    @classmethod
    def of(cls, settings: Settings) -> Redactor:
        secrets = settings.secret_values()
        if settings.slack_client_id and settings.slack_client_secret:  # HTTP Basic credentials (oauth.v2.access)
            pair = f"{settings.slack_client_id}:{settings.slack_client_secret.get_secret_value()}"
            secrets.append(base64.b64encode(pair.encode()).decode())
        return cls(secrets)

    def __call__(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        for shape, replacement in SHAPES:
            text = shape.sub(replacement, text)
        return text


def _forms(secret: str) -> set[str]:
    escaped = {quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe="/:@")}
    escaped |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in escaped}
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1], *escaped}


class RedactingFilter(logging.Filter):
    """A handler's filter: the record leaves with its message, exception and stack already formatted and
    redacted, so no formatter after it formats the raw arguments or the exception again."""

    _exceptions = logging.Formatter()

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: logging would print both raw
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            # formatters show exc_text, once set, instead of formatting exc_info again; exc_info stays for
            # whatever else looks at the record
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context's fields that are
    known (and those a record names itself, logged with extra=), and the exception's text; the whole line
    redacted again (what the filter before it did not see: the context's values)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry.update(current())
        entry.update({name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def wants_json(log_format: str, stream: TextIO) -> bool:
    """Whether to write JSON lines: asked for, or `auto` on anything but a terminal."""
    if log_format != "auto":
        return log_format == "json"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):  # a stream without isatty, or closed
        return True


class ChattyFilter(logging.Filter):
    """Drops what chatty libraries log below WARNING, whatever level their loggers were given (Bolt gives
    its loggers the root logger's level when it makes them)."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        self.prefixes = tuple(names)
        self.dotted = tuple(f"{name}." for name in self.prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not (
            record.name in self.prefixes or record.name.startswith(self.dotted))


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """bizbot's own handler (configuring again replaces it), writing to whatever sys.stderr is now unless
    given a stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        logging.Handler.__init__(self)
        self._given = stream

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._given or sys.stderr


def configure(settings: Settings, level: int | str | None = None, stream: TextIO | None = None) -> Redactor:
    """Log through one redacting handler on the root logger (stderr), at BIZBOT_LOG_LEVEL or `level`; the
    same filter guards logging's last resort. Uncaught exceptions, in any thread, and warnings are logged,
    so they are redacted too. A library that puts a handler of its own on its logger is not expected
    (uvicorn is told not to)."""
    redact = Redactor.of(settings)
    secrets = RedactingFilter(redact)
    wanted = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if wanted is None:
        wanted = logging.getLevelName(settings.log_level.upper())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    as_json = wants_json(settings.log_format, handler.stream)
    handler.setFormatter(JsonFormatter(redact) if as_json else logging.Formatter(FORMAT))
    if wanted > logging.DEBUG:
        handler.addFilter(ChattyFilter(CHATTY))
    handler.addFilter(secrets)
    root.addHandler(handler)
    root.setLevel(wanted)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if wanted <= logging.DEBUG else logging.WARNING)
    for name in QUIET_ALWAYS:
        logging.getLogger(name).setLevel(logging.WARNING)
    last = _Handler(stream)
    last.setLevel(logging.WARNING)
    last.setFormatter(JsonFormatter(redact) if as_json else logging.Formatter(FORMAT))
    last.addFilter(secrets)
    logging.lastResort = last
    logging.captureWarnings(True)

    def uncaught(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)  # type: ignore[arg-type]
            return
        logging.getLogger("bizbot").critical("uncaught exception", exc_info=(kind, exc, tb))  # type: ignore[arg-type]

    def uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        logging.getLogger("bizbot").critical("uncaught exception in thread %s",
                                             args.thread.name if args.thread else "?",
                                             exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]

    sys.excepthook = uncaught
    threading.excepthook = uncaught_in_thread
    return redact
