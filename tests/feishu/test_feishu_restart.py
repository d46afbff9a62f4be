"""Feishu's events are recorded, with the event itself, before Feishu is answered: a repeat runs nothing, also
after a restart, and an event acknowledged by a process that died before its command ran is taken up by the
next process on the same database — its command runs once, its answer reaches Feishu."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.feishu_fake import FakeFeishu, card_text
from fakes.feishu_payloads import encrypt, message, signed_headers
from fakes.feishu_stack import APP_ID, APP_SECRET, KEY, TOKEN, FeishuStack
from fakes.serve_process import ServeProcess
from sqlalchemy import select

from domain.store.models import Customer, InboundEvent

WANG = "ou_wang0000000000000000000000000001"
WANG_DM = "oc_dmwang00000000000000000000000001"


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with FakeFeishu() as server:
        server.users[WANG] = {"name": "Wang"}
        yield server


def customers(stack: FeishuStack) -> list[str]:
    with stack.app.uow() as uow:
        return list(uow.session.scalars(select(Customer.name).order_by(Customer.id)))


def test_a_repeated_event_runs_once_across_a_restart(db_url: str, clock, fake: FakeFeishu) -> None:
    event = message("/customer new Acme", TOKEN, open_id=WANG, chat_id=WANG_DM)
    first = FeishuStack(db_url, clock, fake)
    try:
        assert first.post(event).json() == {"msg": "success"}
        assert customers(first) == ["Acme"] and len(fake.sent(WANG_DM)) == 1
    finally:
        first.close()
    again = FeishuStack(db_url, clock, fake)                          # a new process on the same database
    try:
        assert again.post(event).json() == {"msg": "success"}         # Feishu delivers it once more
        assert customers(again) == ["Acme"] and len(fake.sent(WANG_DM)) == 1
        with again.app.uow() as uow:
            row = uow.session.scalar(select(InboundEvent))
            assert row.key == f"event:{event['header']['event_id']}" and row.pending is None   # taken, done
    finally:
        again.close()


def test_an_event_acknowledged_before_a_crash_runs_after_the_restart(db_url: str, clock, fake: FakeFeishu,
                                                                    tmp_path: Path) -> None:
    """`bizbot serve` answers the event, then dies (SIGKILL) while its command waits on the Open API; the next
    server takes the event up: the customer is created once and the answer is sent."""
    served = ServeProcess({"BIZBOT_DATABASE_URL": db_url, "BIZBOT_LOCALE": "en", "BIZBOT_TIMEZONE": "Asia/Shanghai",
                           "BIZBOT_OPEN_ENROLMENT": "true", "FEISHU_APP_ID": APP_ID, "FEISHU_APP_SECRET": APP_SECRET,
                           "FEISHU_VERIFICATION_TOKEN": TOKEN, "FEISHU_ENCRYPT_KEY": KEY,
                           "FEISHU_DOMAIN": fake.root}, tmp_path)
    gate = fake.hold("contact.user.get")                              # the command's first call: the profile
    event = message("/customer new Acme", TOKEN, open_id=WANG, chat_id=WANG_DM)
    try:
        served.wait_serving()
        body = encrypt(event, KEY)
        answer = httpx.post(f"{served.url}/feishu/events", content=body, headers=signed_headers(body, KEY),
                            timeout=10)
        assert answer.status_code == 200 and answer.json() == {"msg": "success"}   # Feishu has its answer
        fake.wait_for("contact.user.get", timeout=30)                 # the command has begun, and waits
        served.proc.kill()
        served.proc.wait(30)
    finally:
        gate.set()
        served.stop()
    assert fake.sent() == []                                          # nothing was answered before the crash

    fake.clear()
    restarted = FeishuStack(db_url, clock, fake)
    try:
        fake.wait_for("im.message.create")                            # taken up at start
        assert restarted.asgi.state.feishu.wait_idle(10)
        assert customers(restarted) == ["Acme"]
        (card,) = fake.sent(WANG_DM)
        assert "Acme" in card_text(card["content"])
        assert restarted.post(event).json() == {"msg": "success"}     # and a repeat still runs nothing
        assert customers(restarted) == ["Acme"] and len(fake.sent(WANG_DM)) == 1
    finally:
        restarted.close()
