"""Feishu's long connection end to end: `bizbot serve` without a Verification Token and Encrypt Key opens
lark.ws.Client, which asks the fake Open API for an endpoint (POST /callback/ws/endpoint), connects to the local
fake long connection and handles the protobuf frames it sends — a message and a card callback — answering each;
a refused handshake and a dropped connection are tried again; an app whose endpoint call is refused for good
leaves Telegram and the rest serving, and /readyz says so."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fakes.feishu_fake import FakeFeishu, buttons, card_text
from fakes.feishu_payloads import card_action, message
from fakes.feishu_stack import APP_ID, APP_SECRET, TOKEN, FeishuStack
from fakes.feishu_ws_fake import FakeLongConnection
from fakes.serve_process import ServeProcess
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import command_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import func, select

from domain.store.engine import make_engine
from domain.store.models import Customer, Visit

WANG = "ou_wang0000000000000000000000000001"
WANG_DM = "oc_dmwang00000000000000000000000001"


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with FakeFeishu() as server:
        server.users[WANG] = {"name": "Wang"}
        yield server


def until(condition: Callable[[], object], timeout: float = 30, what: str = "") -> None:
    """A bounded wait for something another process or thread does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def count(db_url: str, model: type) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def connected(url: str) -> object:
    return httpx.get(f"{url}/readyz", timeout=5).json()["platforms"]["feishu"].get("connected")


def test_bizbot_serve_handles_messages_and_card_callbacks_over_the_long_connection(
        db_url: str, tmp_path: Path, fake: FakeFeishu) -> None:
    with FakeLongConnection(APP_ID, APP_SECRET) as ws:
        fake.long_connection = ws
        ws.refuse_next = 1                                             # the first handshake: the gateway is busy
        served = ServeProcess({"BIZBOT_DATABASE_URL": db_url, "BIZBOT_LOCALE": "en",
                               "BIZBOT_OPEN_ENROLMENT": "true", "FEISHU_APP_ID": APP_ID,
                               "FEISHU_APP_SECRET": APP_SECRET, "FEISHU_DOMAIN": fake.root}, tmp_path)
        try:
            served.wait_serving()
            ws.wait_connected()                                        # tried again at once, as configured
            assert ws.refused == 1 and fake.calls_to("ws.endpoint")[0].body == {"AppID": APP_ID,
                                                                                "AppSecret": APP_SECRET}
            until(lambda: connected(served.url) is True, what="/readyz: connected")
            assert httpx.get(f"{served.url}/readyz").json()["platforms"]["feishu"]["mode"] == "long_connection"

            # a message: answered on the connection, its command run, its card sent through the Open API
            event = message("/customer new Acme", TOKEN, open_id=WANG, chat_id=WANG_DM)
            answer = ws.answer_to(ws.send(event))
            assert answer["code"] == 200 and answer["data"] is None
            (created,) = fake.wait_for("im.message.create", timeout=30)
            assert created.body["receive_id"] == WANG_DM and "Acme" in card_text(created.body)
            assert ws.answer_to(ws.send(event))["code"] == 200        # delivered again: runs nothing

            # a command without its arguments opens a form card; its submit is a card callback whose answer,
            # on the connection, carries the toast
            ws.answer_to(ws.send(message("/visit", TOKEN, open_id=WANG, chat_id=WANG_DM)))
            until(lambda: len(fake.sent(WANG_DM)) == 2, what="the form card")
            form = fake.sent(WANG_DM)[-1]
            submit = buttons(form["content"])["submit"]
            callback = card_action(submit, TOKEN, open_id=WANG, message_id=form["id"], chat_id=WANG_DM,
                                   form_value={"customer": "C1", "note": "met the buyer"})
            toast = ws.answer_to(ws.send(callback))
            assert toast["code"] == 200 and toast["data"]["toast"]["type"] == "success", toast
            assert fake.wait_for("im.message.patch", timeout=30)       # the form card shows what was done
            assert count(db_url, Customer) == 1 and count(db_url, Visit) == 1

            # the gateway moves the client: it connects again and goes on
            ws.drop()
            ws.wait_connected(2)
            ws.answer_to(ws.send(message("/customer new Globex", TOKEN, open_id=WANG, chat_id=WANG_DM)))
            until(lambda: count(db_url, Customer) == 2, what="the command after the reconnection")
            until(lambda: len(fake.sent(WANG_DM)) == 3, what="its card")
        finally:
            log = served.stop()
    assert APP_SECRET not in log


def test_a_refused_long_connection_leaves_the_other_platforms_serving(db_url: str, clock, fake: FakeFeishu) -> None:
    """The endpoint call refused for good (the app's credentials): lark.ws.Client gives up, /readyz says why,
    and Telegram is answered as before."""
    with FakeLongConnection(APP_ID, "another-secret") as ws, FakeTelegram(token=TG_TOKEN) as telegram:
        fake.long_connection = ws
        stack = FeishuStack(db_url, clock, fake, feishu_verification_token=None, feishu_encrypt_key=None,
                            telegram_bot_token=TG_TOKEN, telegram_api_url=telegram.root,
                            telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                            telegram_webhook_secret=TG_SECRET)
        try:
            until(lambda: stack.http.get("/readyz").json()["platforms"]["feishu"].get("connected") is False,
                  what="/readyz: not connected")
            feishu = stack.http.get("/readyz").json()["platforms"]["feishu"]
            assert feishu["mode"] == "long_connection" and "app id or secret is wrong" in feishu["error"]
            assert fake.calls_to("ws.endpoint") and ws.connections == 0
            assert stack.http.post("/feishu/events", content=b"{}").status_code in (404, 405)
            update = command_update(text="/help", user_id=42, chat_id=42)
            telegram.remember(update)
            assert stack.http.post("/telegram/webhook", content=json_body(update),
                                   headers=webhook_headers(TG_SECRET)).status_code == 200
            assert telegram.wait_for("sendMessage")
        finally:
            stack.close()
