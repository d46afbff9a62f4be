"""JSON log lines: the request's context on each line, no secret in any."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import select

from bot.logs import JsonFormatter, Redactor, configure, wants_json
from bot.settings import Settings
from domain.kernel.logcontext import bound
from domain.store.models import Member

ALICE, BOB = 111, 222


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_refused_command_logs_one_json_line_with_its_context_and_no_secret(tg: TelegramStack) -> None:
    tg.post(command_update(text="/team add bob role=sales", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    tg.post(command_update(text="/team invite bob", user_id=ALICE, chat_id=GROUP_ID, chat_type="group"))
    code = tg.last(ALICE)["text"].split("/start ")[1].split()[0].rstrip(";")
    tg.post(command_update(text=f"/start {code}", user_id=BOB, chat_id=BOB, first_name="Bob"))
    out = io.StringIO()
    configure(tg.settings.model_copy(update={"log_format": "json"}), "info", stream=out)
    update = command_update(text=f"/team add carl role=sales {TOKEN}", user_id=BOB, chat_id=BOB)
    assert tg.post(update).status_code == 200
    assert "Only" in tg.last(BOB)["text"]
    refused = [entry for entry in lines(out) if entry["message"].startswith("refused")]
    assert len(refused) == 1, out.getvalue()
    (entry,) = refused
    with tg.app.uow() as uow:
        bob = uow.session.scalars(select(Member).where(Member.name == "bob")).one()
    assert entry["level"] == "info" and entry["logger"] == "handlers.registry"
    assert entry["platform"] == "telegram" and entry["event"] == update["update_id"]
    assert entry["department"] == bob.org_id and entry["member"] == bob.id and entry["command"] == "team add"
    assert TOKEN not in out.getvalue() and "TEST-token" not in out.getvalue()


@pytest.mark.fast
def test_the_formatter_redacts_secrets_in_context_fields_and_exceptions() -> None:
    settings = Settings(telegram_bot_token="123456:AAsecret-token-value-xxxxxxxxxxxxxxxxxxxx",
                        database_url="postgresql://bizbot:pa55word@db/bizbot", log_format="json")
    redact = Redactor.of(settings)
    formatter = JsonFormatter(redact)
    logger = logging.getLogger("test.json")
    try:
        raise RuntimeError("connect to postgresql://bizbot:pa55word@db/bizbot failed")
    except RuntimeError as exc:
        record = logger.makeRecord("test.json", logging.ERROR, __file__, 1, "failed with %s", ("pa55word",),
                                   (type(exc), exc, exc.__traceback__))
    with bound(platform="slack", event="123456:AAsecret-token-value-xxxxxxxxxxxxxxxxxxxx", incident="abc123"):
        line = formatter.format(record)
    entry = json.loads(line)
    assert entry["platform"] == "slack" and entry["incident"] == "abc123" and "exception" in entry
    assert "pa55word" not in line and "secret-token" not in line


@pytest.mark.fast
def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_json("auto", io.StringIO()) and not wants_json("auto", Terminal())
    assert wants_json("json", Terminal()) and not wants_json("text", io.StringIO())
