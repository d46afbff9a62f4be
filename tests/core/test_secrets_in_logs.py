"""No token, secret or password reaches the log, whatever logs it: `bizbot serve` run as a process with every
platform configured, driven through commands, exports and failures, and its whole log read; and the filter
itself on records from any logger."""
from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from fakes.serve_process import ServeProcess
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import form_body, signed_headers, slash_command
from fakes.slack_socket_fake import FakeSocketMode
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update, json_body, webhook_headers
from sqlalchemy.engine import make_url

from bot.logs import CHATTY, RedactingFilter, Redactor
from bot.settings import Settings

SLACK_BOT_TOKEN = "xoxb-4242-4343-LogsNeverSeeThisBotToken"
SLACK_SIGNING_SECRET = "3f9c2e7a1b5d4c8e9f0a6b2c7d1e5f3a"
SLACK_APP_TOKEN = "xapp-1-A1-4444-LogsNeverSeeThisAppToken"
SLACK_CLIENT_SECRET = "client/secret+never=logged"
TELEGRAM_TOKEN = "5550001234:AAHlogsNeverSeeThisTelegramToken_x-9q"
TELEGRAM_SECRET = "tg-webhook_NeverLogged-77"
DB_PASSWORD = "pg pass/w@rd:%never"
ALICE = 111


def forms(secret: str) -> set[str]:
    """A secret as given and as URLs carry it."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


def leaks(text: str, secrets: list[str]) -> list[str]:
    return sorted({form for secret in secrets for form in forms(secret) if form in text})


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake, FakeSocketMode() as socket_mode:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        fake.socket_url = socket_mode.url
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
        yield fake


def with_password(db_url: str) -> str:
    """The test database's URL with a password in it where the server takes one (PostgreSQL here trusts
    local connections, so any password works); SQLite has none."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return db_url
    return url.set(password=DB_PASSWORD).render_as_string(hide_password=False)


class Traffic:
    """Signed Slack requests and Telegram webhook updates into the served process."""

    def __init__(self, served: ServeProcess, slack: FakeSlack, telegram: FakeTelegram) -> None:
        self.http = httpx.Client(base_url=served.url, timeout=30)
        self.slack_fake = slack
        self.telegram_fake = telegram

    def slack(self, command: str, text: str, user: str = "U1", secret: str = SLACK_SIGNING_SECRET) -> httpx.Response:
        body = form_body(slash_command(command=command, text=text, user_id=user,
                                       response_url=self.slack_fake.response_url("cmd")))
        return self.http.post("/slack/events", content=body, headers=signed_headers(body, secret))

    def telegram(self, text: str, secret: str = TELEGRAM_SECRET) -> httpx.Response:
        update = command_update(text=text, user_id=ALICE, chat_id=GROUP_ID, chat_type="group")
        self.telegram_fake.remember(update)
        return self.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(secret))


@pytest.mark.parametrize("level", ["info", "debug"])
def test_serve_logs_no_secret_through_traffic_and_failures(level: str, db_url: str, tmp_path: Path,
                                                           slack: FakeSlack, telegram: FakeTelegram) -> None:
    database_url = with_password(db_url)
    secrets = [SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_CLIENT_SECRET, TELEGRAM_TOKEN,
               TELEGRAM_SECRET] + ([DB_PASSWORD] if database_url != db_url else [])
    served = ServeProcess({
        "BIZBOT_DATABASE_URL": database_url, "BIZBOT_LOG_LEVEL": level, "BIZBOT_SWEEP_SECONDS": "0.2",
        "BIZBOT_ADMINS": f"slack:U1,telegram:{ALICE}", "BIZBOT_OPEN_ENROLMENT": "true",
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_APP_TOKEN": SLACK_APP_TOKEN, "SLACK_CLIENT_SECRET": SLACK_CLIENT_SECRET, "SLACK_API_URL": slack.api_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": telegram.root, "TELEGRAM_WEBHOOK_URL": "https://bizbot.example.com/telegram/webhook",
    }, tmp_path)
    try:
        served.wait_serving()
        traffic = Traffic(served, slack, telegram)
        assert telegram.webhook["secret_token"] == TELEGRAM_SECRET  # started with every secret in use
        slack.wait_for("apps.connections.open")

        # Slack: commands, an export the outbox uploads, a refused upload, a stranger whose profile is
        # refused, a request signed with the wrong secret
        assert traffic.slack("/customer", "new Acme").status_code == 200
        assert traffic.slack("/export", "leads csv").status_code == 200
        slack.wait_for("files.completeUploadExternal", timeout=30)
        slack.fail("files.getUploadURLExternal", "invalid_auth")
        assert traffic.slack("/export", "leads csv").status_code == 200
        slack.wait_for("files.getUploadURLExternal", count=2, timeout=30)
        slack.fail("users.info", "invalid_auth")
        assert traffic.slack("/help", "", user="U2").status_code == 200
        assert traffic.slack("/customer", "list", secret="not-the-signing-secret").status_code == 401

        # Telegram: a command answered with sendMessage, an export sent as a document by the outbox, the
        # Bot API failing with 500 and 401, an update with the wrong webhook secret
        assert traffic.telegram("/customer new Beta").status_code == 200
        telegram.wait_for("sendMessage", timeout=30)
        assert traffic.telegram("/export leads csv").status_code == 200
        telegram.wait_for("sendDocument", timeout=30)
        telegram.fail("sendDocument", "Internal Server Error", code=500)
        assert traffic.telegram("/export leads csv").status_code == 200
        telegram.wait_for("sendDocument", count=2, timeout=30)
        sent = len(telegram.calls_to("sendMessage"))
        telegram.fail("sendMessage", "Internal Server Error", code=500)
        assert traffic.telegram("/customer list").status_code == 200
        telegram.wait_for("sendMessage", count=sent + 1, timeout=30)
        sent = len(telegram.calls_to("sendMessage"))
        telegram.fail("sendMessage", "Unauthorized", code=401)
        assert traffic.telegram("/customer list").status_code == 200
        telegram.wait_for("sendMessage", count=sent + 1, timeout=30)
        assert traffic.telegram("/customer list", secret="wrong-secret").status_code == 403
        traffic.http.close()
    finally:
        log = served.stop()

    assert leaks(log, secrets) == [], log
    assert "outbox export:" in log and "invalid_auth" in log  # the failures were logged, without secrets
    if level == "info":
        # no line per HTTP call (httpx's carried Telegram's token in its URL), nor per scheduler tick
        assert "HTTP Request" not in log and "Running job" not in log and "executed successfully" not in log
        assert not re.search(rf" (DEBUG|INFO) ({'|'.join(CHATTY)})[.:]", log), log
    else:
        assert "/bot***/sendMessage" in log  # the chatter is there at debug, its token redacted


# --- the filter, on records from any logger ------------------------------------------------------


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url=f"postgresql://bizbot:{quote(DB_PASSWORD, safe='')}@db.example.com/bizbot",
                    slack_bot_token=SLACK_BOT_TOKEN, slack_signing_secret=SLACK_SIGNING_SECRET,
                    slack_app_token=SLACK_APP_TOKEN, slack_client_id="1234.5678",
                    slack_client_secret=SLACK_CLIENT_SECRET, telegram_bot_token=TELEGRAM_TOKEN,
                    telegram_webhook_secret=TELEGRAM_SECRET)


@pytest.fixture
def captured(settings: Settings) -> Iterator[io.StringIO]:
    """A handler with the filter on the root logger, as `bizbot` installs it; what it wrote."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor.of(settings)))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


ALL = [SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_CLIENT_SECRET, TELEGRAM_TOKEN, TELEGRAM_SECRET,
       DB_PASSWORD]


@pytest.mark.fast
def test_the_settings_know_every_secret(settings: Settings) -> None:
    assert set(ALL) <= set(settings.secret_values())
    assert settings.database_shown == "postgresql://bizbot:***@db.example.com/bizbot"


@pytest.mark.fast
def test_records_of_any_logger_are_redacted_in_message_arguments_exception_and_stack(captured: io.StringIO) -> None:
    library = logging.getLogger("some.library.http")
    library.info('HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage")
    library.warning("headers %r", {"Authorization": f"Bearer {SLACK_BOT_TOKEN}", "X-App": SLACK_APP_TOKEN})
    library.debug("connecting to %s", f"postgresql://bizbot:{quote(DB_PASSWORD, safe='')}@db/bizbot")
    library.debug("form %s", f"client_secret={quote_plus(SLACK_CLIENT_SECRET)}&code=1")
    library.debug("json %s", json.dumps({"secret_token": TELEGRAM_SECRET, "signing": SLACK_SIGNING_SECRET}))
    library.debug("password %s then %s", DB_PASSWORD)  # arguments that do not fit the message
    logging.getLogger("bizbot").info("stack", stack_info=True)
    try:
        raise RuntimeError(f"connect to https://example.com/bot{TELEGRAM_TOKEN}/getMe failed ({SLACK_SIGNING_SECRET})")
    except RuntimeError:
        logging.getLogger("another.library").exception("call failed with %s", SLACK_APP_TOKEN)
    try:
        raise ValueError("secret")
    except ValueError:
        exc_info = sys.exc_info()
    logging.getLogger("x").error("later, with %s", TELEGRAM_TOKEN, exc_info=exc_info)
    out = captured.getvalue()
    assert leaks(out, ALL) == [], out
    assert "bot***/sendMessage" in out and "Bearer ***" in out and "RuntimeError: connect to" in out
    assert "postgresql://bizbot:***@db/bizbot" in out and "Traceback" in out and "ValueError: secret" in out


@pytest.mark.fast
def test_token_shapes_are_redacted_though_not_configured() -> None:
    """A workspace's token from the database, another bot's token in a URL: redacted by their shape."""
    redact = Redactor([])
    line = redact("xoxb-1-2-abcdefAB xoxp-9-fake-user-token bot123456:ABCdef-ghijkl/getMe 7777777:AA"
                  + "x" * 33 + " postgresql://u:hunter2@h/db")
    assert line == "xoxb-*** xoxp-*** bot***/getMe *** postgresql://u:***@h/db"


@pytest.mark.fast
def test_the_filter_leaves_nothing_for_a_later_formatter_to_show(settings: Settings) -> None:
    """The record leaves the filter formatted and redacted: another handler's formatter shows no secret,
    while the exception itself stays on the record for whatever else inspects it."""
    try:
        raise ConnectionError(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe")
    except ConnectionError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("lib", logging.ERROR, __file__, 1, "token %s", (TELEGRAM_TOKEN,), exc_info)
    RedactingFilter(Redactor.of(settings)).filter(record)
    assert (record.getMessage(), record.args) == ("token ***", None)
    shown = logging.Formatter().format(record)
    assert leaks(shown, ALL) == [] and "ConnectionError: https://api.telegram.org/bot***/getMe" in shown
    assert record.exc_info is exc_info
