"""An answer the platform would not take at once (rate limited, a server error) is not dropped: it goes
through the outbox, and the dispatcher delivers it — once, honouring Retry-After."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import app_mention, event_callback, view_submission
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update, text_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import select

from domain.store.models import OutboxMessage, Visit

ALICE = 111


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


def kept(stack) -> list[OutboxMessage]:
    with stack.app.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("reply:"))))


def group_cmd(text: str) -> dict:
    return command_update(text=text, user_id=ALICE, chat_id=GROUP_ID, chat_type="group")


@pytest.mark.parametrize("refusal", ["429", "500"])
def test_a_telegram_reply_refused_for_now_is_delivered_by_the_dispatcher(tg: TelegramStack, refusal: str) -> None:
    tg.post(group_cmd("/customer new Acme"))
    if refusal == "429":
        tg.fake.rate_limit("sendMessage", times=1, retry_after=20)
    else:
        tg.fake.fail("sendMessage", "Internal Server Error", code=500)
    assert tg.post(group_cmd('/visit Acme note="pricing"')).status_code == 200
    with tg.app.uow() as uow:
        assert uow.session.scalar(select(Visit.note)) == "pricing"
    (row,) = kept(tg)
    assert row.status == "pending"
    if refusal == "429":  # not before Telegram's retry_after
        assert row.available_at >= tg.app.clock.now() + timedelta(seconds=20)
        assert tg.deliver() == 0
        tg.app.clock.advance(timedelta(seconds=21))
    assert tg.deliver() == 1
    assert tg.deliver() == 0
    delivered = [c.params for c in tg.fake.calls_to("sendMessage")
                 if c.ok and "Visit V1 to Acme recorded" in c.params["text"]]
    assert len(delivered) == 1 and int(delivered[0]["chat_id"]) == GROUP_ID


def test_a_private_telegram_reply_refused_for_now_reaches_the_member(tg: TelegramStack) -> None:
    tg.post(group_cmd("/customer new Acme"))
    tg.fake.rate_limit("sendMessage", times=1, retry_after=5)
    tg.post(command_update(text="/customer list", user_id=ALICE, chat_id=ALICE))
    (row,) = kept(tg)
    tg.app.clock.advance(timedelta(seconds=6))
    assert tg.deliver() == 1
    (sent,) = [c.params for c in tg.fake.calls_to("sendMessage") if c.ok and "Acme" in c.params["text"]
               and int(c.params["chat_id"]) == ALICE]
    assert "Customers (1)" in sent["text"]


@pytest.mark.parametrize("refusal", ["500", "429"])
def test_a_slack_answer_its_response_url_refuses_is_delivered_by_the_dispatcher(slack: SlackStack,
                                                                                refusal: str) -> None:
    slack.say("/customer", "new Acme")
    if refusal == "500":
        slack.fake.break_down("response_url", status=500)
    else:
        slack.fake.rate_limit("response_url", times=1, retry_after=30)
    assert slack.press(action_id="bizbot.cmd.0", value="/customer list").status_code == 200
    (tried,) = slack.fake.calls_to("response_url")
    assert "Acme" in text_of(tried.args)
    (row,) = kept(slack)
    if refusal == "429":  # not before Slack's Retry-After
        assert slack.deliver() == 0
        slack.app.clock.advance(timedelta(seconds=31))
    assert slack.deliver() == 1
    assert slack.deliver() == 0
    (post,) = slack.fake.calls_to("chat.postMessage")
    assert post.args["channel"] == "U1" and "Acme" in text_of(post.args) and "Customers (1)" in text_of(post.args)


def _refuse(fake: FakeSlack, method: str, refusal: str) -> None:
    """`method` refused for now: a server error, or Retry-After 30 s once the client's own two retries (told
    to wait no time) were refused too."""
    if refusal == "500":
        fake.break_down(method, status=500)
    else:
        fake.rate_limit(method, times=2, retry_after=0)
        fake.rate_limit(method, times=1, retry_after=30)


def _delivered_later(slack: SlackStack, refusal: str) -> None:
    """The kept answer goes out with the dispatcher's next tick, or after Slack's Retry-After; once."""
    (row,) = kept(slack)
    assert row.status == "pending"
    if refusal == "429":
        assert row.available_at >= slack.app.clock.now() + timedelta(seconds=30)
        assert slack.deliver() == 0
        slack.app.clock.advance(timedelta(seconds=31))
    assert slack.deliver() == 1
    assert slack.deliver() == 0


@pytest.mark.parametrize("refusal", ["500", "429"])
def test_a_mention_answer_slack_refuses_comes_by_the_dispatcher(slack: SlackStack, refusal: str) -> None:
    slack.say("/customer", "new Acme")
    _refuse(slack.fake, "chat.postEphemeral", refusal)
    assert slack.event(event_callback(app_mention("U1", "<@UBOT> customer list"))).status_code == 200
    assert "Acme" in text_of(slack.fake.calls_to("chat.postEphemeral")[-1].args)  # tried at once
    _delivered_later(slack, refusal)
    (post,) = slack.fake.calls_to("chat.postMessage")
    assert post.args["channel"] == "U1" and "Customers (1)" in text_of(post.args)  # to the one who asked


def test_a_form_outcome_slack_refuses_comes_by_the_dispatcher_to_its_channel(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.command("/visit", channel_id="C7")
    (opened,) = slack.fake.wait_for("views.open")
    view = opened.args["view"]
    _refuse(slack.fake, "chat.postMessage", "500")
    submit = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                             state_values={"customer": {"customer": {"type": "external_select",
                                                                     "selected_option": {"value": "C1"}}},
                                           "note": {"note": {"type": "plain_text_input", "value": "pricing"}}})
    assert slack.interact(submit).status_code == 200
    (tried,) = slack.fake.calls_to("chat.postMessage")
    assert "Visit V1 to Acme recorded" in text_of(tried.args)
    _delivered_later(slack, "500")
    post = slack.fake.calls_to("chat.postMessage")[-1]
    assert post.args["channel"] == "C7" and "Visit V1 to Acme recorded" in text_of(post.args)


def test_a_decision_slack_does_not_show_on_its_message_comes_to_the_member(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="pricing" next=today')
    assert slack.deliver() == 1
    (reminder,) = slack.fake.calls_to("chat.postMessage")
    _refuse(slack.fake, "chat.update", "500")
    assert slack.press(action_id="bizbot.cmd.0", value=json.dumps({"line": 'callback done CB2 result="quote"',
                                                                   "decision": True})).status_code == 200
    assert slack.fake.calls_to("chat.update")  # tried at once
    slack.app.clock.advance(timedelta(seconds=2))  # Slack's second per channel since the reminder
    _delivered_later(slack, "500")
    post = slack.fake.calls_to("chat.postMessage")[-1]
    assert post is not reminder and post.args["channel"] == "U1"
    assert "Callback CB2 with Acme recorded" in text_of(post.args)


def test_a_conversation_question_refused_for_now_comes_later_as_text(tg: TelegramStack) -> None:
    """A command that starts a conversation asks its first question; refused, the question comes through the
    outbox without its buttons, and the answer can be typed all the same."""
    tg.post(group_cmd("/customer new Acme"))
    tg.fake.rate_limit("sendMessage", times=1, retry_after=3)
    tg.post(command_update(text="/visit", user_id=ALICE, chat_id=ALICE))
    (row,) = kept(tg)
    tg.app.clock.advance(timedelta(seconds=4))
    assert tg.deliver() == 1
    (question,) = [c.params for c in tg.fake.calls_to("sendMessage") if c.ok and "/visit" in c.params["text"]]
    assert int(question["chat_id"]) == ALICE and question["text"].startswith("/visit · Customer")
    tg.post(text_update(text="Acme", user_id=ALICE, chat_id=ALICE))  # typed, as the question says
    assert "/visit · " in tg.said(ALICE)[-1] and "Customer" not in tg.said(ALICE)[-1].split("\n")[0]
