"""Feishu and the outbox: a callback reminder delivered as a card whose "Done" button is clicked, a digest's chart
and an export uploaded through the images and files APIs before the message that carries them, and a command's
card sent after Feishu already has its acknowledgement."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.feishu_fake import FakeFeishu, buttons, card_text
from fakes.feishu_payloads import card_action, message
from fakes.feishu_stack import TOKEN, FeishuStack
from sqlalchemy import select

from domain.store.models import Callback

WANG = "ou_wang0000000000000000000000000001"
WANG_DM = "oc_dmwang00000000000000000000000001"


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with FakeFeishu() as server:
        server.users[WANG] = {"name": "Wang"}
        yield server


@pytest.fixture
def fs(db_url: str, clock, fake: FakeFeishu) -> Iterator[FeishuStack]:
    stack = FeishuStack(db_url, clock, fake)
    yield stack
    stack.close()


def dm(fs: FeishuStack, text: str) -> list[dict]:
    before = len(fs.fake.messages)
    assert fs.post(message(text, TOKEN, open_id=WANG, chat_id=WANG_DM)).status_code == 200
    return fs.fake.sent()[before:]


def test_the_answer_comes_before_the_card(fs: FeishuStack) -> None:
    """Feishu gets its acknowledgement while the card is still on its way: the fake Open API holds the send."""
    fs.post(message("/help", TOKEN, open_id=WANG, chat_id=WANG_DM))
    before = len(fs.fake.calls_to("im.message.create"))
    gate = fs.fake.hold("im.message.create")
    response = fs.post(message("/customer new Acme", TOKEN, open_id=WANG, chat_id=WANG_DM), settle=False)
    assert response.status_code == 200 and response.json() == {"msg": "success"}
    (*_, card) = fs.fake.wait_for("im.message.create", before + 1)  # asked for, not yet answered
    assert "Acme" in card_text(card.body)
    assert not fs.fake.messages or "Acme" not in card_text(list(fs.fake.messages.values())[-1]["content"])
    gate.set()
    assert fs.asgi.state.feishu.wait_idle(10)
    assert "Acme" in card_text(fs.fake.sent(WANG_DM)[-1]["content"])


def test_a_callback_reminders_done_button_on_feishu(fs: FeishuStack) -> None:
    dm(fs, "/customer new Acme")
    dm(fs, '/visit Acme note="x" next=today')
    assert fs.deliver() == 1
    (reminder,) = fs.fake.sent(WANG)  # the reminder goes to the member's own account
    assert "Callback due" in card_text(reminder["content"])
    done = buttons(reminder["content"])
    line = done["/callback"]
    assert line["line"].startswith("/callback done") and line["decision"]
    # the button asks for the result: a form card opens, and its submit records the callback
    before = len(fs.fake.messages)
    answer = fs.post(card_action(line, TOKEN, open_id=WANG, message_id=reminder["id"], chat_id=WANG_DM))
    assert answer.status_code == 200
    (form,) = fs.fake.sent()[before:]
    assert '"default_value": "CB2"' in card_text(form["content"])  # the callback's reference is filled in
    submit = buttons(form["content"])["submit"]
    answer = fs.post(card_action(submit, TOKEN, open_id=WANG, message_id=form["id"], chat_id=WANG_DM,
                                 form_value={"callback": "CB2", "result": "wants a quote"}))
    assert answer.json()["toast"]["type"] == "success", answer.json()
    with fs.app.uow() as uow:
        callback = uow.session.scalar(select(Callback).where(Callback.number == 2))
        assert callback.status == "done"
    revised = card_text(fs.fake.shown(reminder["id"]))  # the reminder's card shows it done, without its button
    assert "Wang" in revised and '"decision": true' not in revised
    # a second click is told who was first and changes nothing
    answer = fs.post(card_action(line, TOKEN, open_id=WANG, message_id=reminder["id"], chat_id=WANG_DM))
    assert "already done by Wang" in str(answer.json())


def test_digest_chart_and_export_are_uploaded_before_their_cards(fs: FeishuStack) -> None:
    dm(fs, "/customer new Acme")
    dm(fs, "/digest")
    dm(fs, "/export leads csv")
    fs.fake.clear()
    assert fs.deliver() == 2
    order = [c.method for c in fs.fake.calls if c.method != "auth.tenant_access_token"]
    assert order == ["im.image.create", "im.message.create", "im.message.create",
                     "im.file.create", "im.message.create", "im.message.create"]
    image, file = fs.fake.calls_to("im.image.create")[0], fs.fake.calls_to("im.file.create")[0]
    assert b"\x89PNG\r\n\x1a\n" in image.body and b'name="image_type"' in image.body
    assert b"leads-" in file.body and b'name="file_type"' in file.body
    sent = fs.fake.sent(WANG)
    assert [m["msg_type"] for m in sent] == ["image", "interactive", "file", "interactive"]
    assert sent[0]["content"]["image_key"].startswith("img_") and sent[2]["content"]["file_key"].startswith("file_")
    assert "chart for the meeting" in card_text(sent[1]["content"])
    assert "Your export" in card_text(sent[3]["content"])


@pytest.mark.parametrize("code", [99991663, 99991668, 99991661])
def test_a_refused_tenant_token_is_fetched_anew_and_the_call_made_again(fs: FeishuStack, code: int) -> None:
    """Feishu answers that the tenant access token is invalid or expired: the token kept is dropped, a new one
    fetched, and the call made once more — for a message (bizbot's own client) and an image upload (lark-oapi's
    typed API) alike."""
    dm(fs, "/help")
    fetched = len(fs.fake.calls_to("auth.tenant_access_token"))
    fs.fake.fail("im.message.create", status=400, code=code)
    (answer,) = dm(fs, "/customer new Acme")
    assert "Acme" in card_text(answer["content"])
    assert len(fs.fake.calls_to("auth.tenant_access_token")) == fetched + 1
    assert len(fs.fake.calls_to("im.message.create")) == 3          # /help's card, the refused try, the answer
    dm(fs, "/digest")
    fs.fake.fail("im.image.create", status=400, code=code)
    assert fs.deliver() == 1
    assert len(fs.fake.calls_to("auth.tenant_access_token")) == fetched + 2
    (first, again) = fs.fake.calls_to("im.image.create")
    assert b"\x89PNG\r\n\x1a\n" in again.body and again.body.count(b"\x89PNG") == first.body.count(b"\x89PNG")
    assert [m["msg_type"] for m in fs.fake.sent(WANG)] == ["image", "interactive"]


def test_a_token_refused_again_is_not_asked_for_without_end(fs: FeishuStack) -> None:
    dm(fs, "/help")
    fetched = len(fs.fake.calls_to("auth.tenant_access_token"))
    fs.fake.fail("im.message.create", status=400, code=99991663, times=2)
    assert dm(fs, "/customer new Acme") == []                         # refused twice: logged, not kept
    assert len(fs.fake.calls_to("auth.tenant_access_token")) == fetched + 1
