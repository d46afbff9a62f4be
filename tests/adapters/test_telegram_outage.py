"""A Telegram update that meets a database outage is not lost: the webhook answers 503 (Telegram delivers it
again), polling handles it again after a wait, and nothing of it is recorded as seen until it has run — then
it runs once. The outage is staged by a TCP proxy between bizbot and PostgreSQL."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from fakes.tcp_proxy import TcpProxy, proxy_to
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, callback_update, command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import func, select

from domain.store.engine import make_engine
from domain.store.models import Customer, InboundEvent, Visit

ALICE = 111


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def proxy(db_url: str) -> Iterator[TcpProxy]:
    if not db_url.startswith("postgresql"):
        pytest.skip("the outage is staged on the network between bizbot and PostgreSQL")
    with proxy_to(db_url) as staged:
        yield staged


def group_cmd(text: str, **kw) -> dict:
    return command_update(text=text, user_id=ALICE, chat_id=GROUP_ID, chat_type="group", **kw)


def outage(proxy: TcpProxy) -> None:
    """The database goes away: open connections reset, new ones refused."""
    proxy.refuse()
    proxy.cut("both")


def count(db_url: str, model, **where) -> int:
    """Rows in the database itself (not through the proxy)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return conn.scalar(query)
    finally:
        engine.dispose()


def seen(db_url: str, update: dict) -> int:
    return count(db_url, InboundEvent, key=f"update:{TOKEN.split(':')[0]}:{update['update_id']}")


def test_a_command_in_an_outage_is_answered_503_and_runs_once_when_delivered_again(
        db_url: str, clock, fake: FakeTelegram, proxy: TcpProxy) -> None:
    tg = TelegramStack(proxy.url_for(db_url), clock, fake)
    try:
        assert tg.post(group_cmd("/customer new Acme")).status_code == 200
        visit = group_cmd('/visit Acme note="first call"')
        outage(proxy)
        assert tg.post(visit).status_code == 503
        assert seen(db_url, visit) == 0 and count(db_url, Visit) == 0
        proxy.restore()
        assert tg.post(visit).status_code == 200
        assert tg.post(visit).status_code == 200  # and once more: already done
        assert count(db_url, Visit) == 1 and seen(db_url, visit) == 1
        assert sum("Visit V1 to Acme recorded" in text for text in tg.said(GROUP_ID)) == 1
    finally:
        tg.close()


def test_a_button_in_an_outage_is_answered_503_and_runs_once_when_delivered_again(
        db_url: str, clock, fake: FakeTelegram, proxy: TcpProxy) -> None:
    """An update other than a command is recorded as seen only once handled, so a failure half-way leaves
    it to come again."""
    tg = TelegramStack(proxy.url_for(db_url), clock, fake)
    try:
        assert tg.post(group_cmd("/customer new Acme")).status_code == 200
        press = callback_update(data="c:/customer list", user_id=ALICE, chat_id=GROUP_ID, chat_type="group")
        outage(proxy)
        assert tg.post(press).status_code == 503
        assert seen(db_url, press) == 0
        proxy.restore()
        before = len(tg.said())
        assert tg.post(press).status_code == 200
        assert tg.post(press).status_code == 200
        lists = [t for t in tg.said()[before:] if "Customers (1)" in t]  # a list goes to the private chat
        assert len(lists) == 1 and seen(db_url, press) == 1
        assert len(fake.calls_to("answerCallbackQuery")) == 1
    finally:
        tg.close()


def test_polling_handles_an_update_again_after_an_outage_and_runs_it_once(
        db_url: str, clock, fake: FakeTelegram, proxy: TcpProxy, caplog: pytest.LogCaptureFixture) -> None:
    """getUpdates has confirmed the update to Telegram once the library fetched it, so bizbot itself puts an
    update whose handling failed back in the application's queue after a wait."""
    caplog.set_level(logging.WARNING, logger="bot.telegram.app")
    tg = TelegramStack(proxy.url_for(db_url), clock, fake, telegram_webhook_url=None, telegram_webhook_secret=None)
    try:
        fake.queue_update(group_cmd("/customer new Acme"))
        fake.wait_for("sendMessage")
        outage(proxy)
        visit = group_cmd('/visit Acme note="by polling"')
        fake.queue_update(visit)
        deadline = time.monotonic() + 10
        while not any("handled again" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the failed update was not put back"
            time.sleep(0.05)
        assert seen(db_url, visit) == 0
        proxy.restore()
        fake.wait_for("sendMessage", count=2, timeout=15)
        assert count(db_url, Visit) == 1 and seen(db_url, visit) == 1
        assert count(db_url, Customer) == 1
        assert sum("Visit V1 to Acme recorded" in text for text in tg.said(GROUP_ID)) == 1
        assert not [r for r in caplog.records if r.exc_info]  # one line each, no traceback
    finally:
        tg.close()
