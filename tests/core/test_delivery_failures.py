"""One message that cannot be sent — its sender throws, its text cannot be rendered, the platform answers
nonsense — is retried, parked and reported like any failed delivery, and the rest of its batch goes out."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from sqlalchemy import select, update

from bot.delivery import Dispatcher, Outgoing
from domain.delivery.outbox import enqueue
from domain.store.models import OutboxMessage

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SLACK_TOKEN = "xoxb-1234567890-abcdefghijklmnop"


class ThrowingSender:
    """Sends everything except the messages whose text contains `poison`, for which it throws `error`."""

    def __init__(self, poison: str, error: Exception) -> None:
        self.poison = poison
        self.error = error
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        if self.poison in message.text:
            raise self.error
        self.sent.append(message)


def _queue(app, *messages: tuple[str, dict]) -> None:
    """Messages to the console department's admin (wang), in this order."""
    with app.uow() as uow:
        from domain.store.models import Member

        wang = uow.session.scalar(select(Member).where(Member.name == "wang"))
        for number, (msgid, params) in enumerate(messages, 1):
            enqueue(uow, org_id=wang.org_id, key=f"test:{number}", msgid=msgid, params=params, channel="general",
                    urgent=True)
        uow.commit()


def _row(app, key: str) -> OutboxMessage:
    with app.uow() as uow:
        return uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def _until_parked(app, dispatcher: Dispatcher, key: str) -> None:
    for _ in range(8):
        dispatcher.run_once()
        app.clock.advance(timedelta(hours=1))
    dispatcher.run_once()
    assert _row(app, key).status == "parked"


@pytest.mark.parametrize("error", [KeyError("channel"), TypeError("'NoneType' object is not subscriptable")])
def test_a_sender_that_throws_fails_only_its_own_message(bot, app, error: Exception, caplog) -> None:
    bot("/team list")
    _queue(app, ("first", {}), ("poison", {}), ("third", {}))
    sender = ThrowingSender("poison", error)
    dispatcher = Dispatcher(app.services.uow, {"console": sender})
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert dispatcher.run_once() == 2
    assert [m.text for m in sender.sent] == ["first", "third"]
    failed = _row(app, "test:2")
    assert failed.status == "pending" and failed.available_at > app.clock.now()
    assert failed.last_error.startswith(f"{type(error).__name__}: ")
    assert "Traceback" not in failed.last_error
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and tracebacks[0].exc_info[1] is error
    _until_parked(app, dispatcher, "test:2")
    notices = [m for m in sender.sent if "could not be delivered" in m.text]
    assert len(notices) == 1 and notices[0].recipient.name == "wang"
    assert type(error).__name__ in notices[0].text


def test_a_message_that_cannot_be_rendered_is_parked_and_the_rest_go_out(bot, app) -> None:
    bot("/team list")
    _queue(app, ("Hello {name}", {}),                                          # a placeholder with no value
           ("Due {when}", {"when": {"$date": "31.12.2026"}}),                # a date that does not load
           ("fine", {}),
           ("stored wrong", {}))
    with app.uow() as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.key == "test:4").values(payload=["?"]))
        uow.commit()
    sender = ThrowingSender("nothing is poisoned", RuntimeError())
    dispatcher = Dispatcher(app.services.uow, {"console": sender})
    assert dispatcher.run_once() == 1
    assert [m.text for m in sender.sent] == ["fine"]
    assert _row(app, "test:1").last_error == "KeyError: 'name'"
    assert _row(app, "test:2").last_error.startswith("ValueError: ")
    assert _row(app, "test:4").last_error.startswith("AttributeError: ")
    _until_parked(app, dispatcher, "test:1")
    assert _row(app, "test:2").status == _row(app, "test:4").status == "parked"
    notices = [m.text for m in sender.sent if "could not be delivered" in m.text]
    assert len(notices) == 3 and any("KeyError" in n for n in notices) and any("ValueError" in n for n in notices)


def test_secrets_in_an_error_are_not_recorded(bot, app) -> None:
    bot("/team list")
    _queue(app, ("poison", {}))
    error = RuntimeError(f"POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage with {SLACK_TOKEN} "
                         "failed\n  on a second line")
    dispatcher = Dispatcher(app.services.uow, {"console": ThrowingSender("poison", error)})
    dispatcher.run_once()
    recorded = _row(app, "test:1").last_error
    assert recorded.startswith("RuntimeError: POST https://api.telegram.org/bot")
    assert TELEGRAM_TOKEN.split(":")[1] not in recorded and "abcdefghijklmnop" not in recorded
    assert "\n" not in recorded and len(recorded) <= 200


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_an_upload_answer_without_its_url_fails_only_that_message(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/meeting", "set channel=C0MEETING")
    slack.app.clock.advance(timedelta(days=7))
    slack.say("/visit", 'Acme note="x" next=today')
    slack.fake.answer("files.getUploadURLExternal", {"ok": True, "file_id": "F1"}, times=99)
    slack.deliver()
    posts = [text_of(c.args) for c in slack.fake.calls_to("chat.postMessage")]
    assert any("Callback due" in p for p in posts)                          # the batch went on
    with slack.app.uow() as uow:
        digest = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key.like("meeting:digest:%")))
        assert digest.status == "pending" and digest.last_error
    for _ in range(8):
        slack.app.clock.advance(timedelta(hours=1))
        slack.deliver()
    with slack.app.uow() as uow:
        digest = uow.session.get(OutboxMessage, digest.id)
        assert digest.status == "parked"
    notices = [text_of(c.args) for c in slack.fake.calls_to("chat.postMessage")
               if "could not be delivered" in c.args["text"]]
    assert len(notices) == 1 and "#C0MEETING" in notices[0]
    assert not slack.fake.calls_to("files.completeUploadExternal")
