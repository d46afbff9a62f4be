"""Files reach the chats: the meeting digest's chart (a Slack upload, a Telegram photo) and exports (a Slack
upload, a Telegram document)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import TOKEN as SLACK_TOKEN
from fakes.slack_stack import SlackStack
from fakes.telegram_fake import FakeTelegram, UploadedFile
from fakes.telegram_payloads import GROUP_ID, command_update
from fakes.telegram_stack import TOKEN as TELEGRAM_TOKEN
from fakes.telegram_stack import TelegramStack

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_digest_is_uploaded_to_slack_with_its_chart(slack: SlackStack) -> None:
    slack.say("/team", "add alice role=sales")
    slack.say("/customer", "new Acme")
    slack.say("/meeting", "set day=monday time=09:30 channel=C0MEETING")
    slack.app.clock.advance(timedelta(days=7))
    slack.deliver()
    (ask,) = slack.fake.wait_for("files.getUploadURLExternal")
    assert ask.token == SLACK_TOKEN and ask.args["filename"] == "digest-1-2026-11-30.png"
    (done,) = slack.fake.wait_for("files.completeUploadExternal")
    assert done.args["channel_id"] == "C0MEETING"
    assert "Weekly meeting Nov 30, 2026 09:30 — digest" in done.args["initial_comment"]
    assert "New customers: 1 (+1 from the week before)" in done.args["initial_comment"]
    assert "alice" in done.args["initial_comment"]                       # she did not answer
    files = done.args["files"]
    files = json.loads(files) if isinstance(files, str) else files
    (uploaded,) = slack.fake.uploads.values()
    assert [f["id"] for f in files] == list(slack.fake.uploads) and uploaded[:8] == PNG
    slack.deliver()
    assert len(slack.fake.calls_to("files.completeUploadExternal")) == 1    # sent once


def test_failed_upload_is_retried_and_posted_once(slack: SlackStack) -> None:
    slack.say("/meeting", "set channel=C0MEETING")
    slack.fake.fail("files.completeUploadExternal", "internal_error")
    slack.app.clock.advance(timedelta(days=7))
    assert slack.deliver() == 0
    slack.app.clock.advance(timedelta(minutes=1))
    assert slack.deliver() == 1
    ok = [c for c in slack.fake.calls_to("files.completeUploadExternal")]
    assert len(ok) == 2 and len(slack.fake.uploads) == 2


def test_digest_is_sent_to_the_telegram_group_with_a_photo(tg: TelegramStack) -> None:
    def group(text: str) -> None:
        tg.post(command_update(text=text, user_id=111, chat_id=GROUP_ID, chat_type="group"))

    group("/customer new Acme")
    group("/meeting set day=monday time=09:30")
    tg.app.clock.advance(timedelta(days=7))
    tg.deliver()
    (photo,) = tg.fake.wait_for("sendPhoto")
    assert int(photo.params["chat_id"]) == GROUP_ID
    assert isinstance(photo.params["photo"], UploadedFile) and photo.params["photo"].data[:8] == PNG
    assert "Weekly meeting Nov 30, 2026 09:30" in photo.params["caption"]
    texts = tg.said(GROUP_ID)
    assert any("New customers: 1 (+1 from the week before)" in t for t in texts)
    tg.deliver()
    assert len(tg.fake.calls_to("sendPhoto")) == 1


def test_telegram_digest_text_refused_after_its_photo_is_retried_without_the_photo(tg: TelegramStack) -> None:
    tg.post(command_update(text="/meeting set day=monday time=09:30", user_id=111, chat_id=GROUP_ID,
                           chat_type="group"))
    tg.app.clock.advance(timedelta(days=7))
    tg.fake.rate_limit("sendMessage", times=1, retry_after=5)         # the photo goes, its text does not
    tg.deliver()
    assert [c.ok for c in tg.fake.calls_to("sendPhoto")] == [True]
    tg.app.clock.advance(timedelta(seconds=6))
    tg.deliver()
    assert [c.ok for c in tg.fake.calls_to("sendPhoto")] == [True]     # not a second photo
    digests = [c for c in tg.fake.calls_to("sendMessage") if "Weekly meeting Nov 30" in c.params["text"]]
    assert [c.ok for c in digests] == [False, True]


def test_slack_prompt_button_opens_the_update_form(slack: SlackStack) -> None:
    from fakes.slack_payloads import view_submission

    slack.say("/meeting", "set reporters=wang channel=C0MEETING")
    slack.app.clock.advance(timedelta(days=4, hours=5))                  # Friday 15:00
    assert slack.deliver() == 1
    (post,) = slack.fake.wait_for("chat.postMessage")
    assert post.args["channel"] == "U1" and "Please send your update" in post.args["text"]
    button = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    slack.interact(slack.button(action_id=button["action_id"], value=button["value"],
                                message_ts="1700000000.000200"))
    (opened,) = slack.fake.wait_for("views.open")
    view = opened.args["view"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["done", "problems", "plan"]
    values = {name: {name: {"type": "plain_text_input", "value": f"my {name}"}} for name in ("done", "problems",
                                                                                            "plan")}
    submit = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                             state_values=values)
    assert slack.interact(submit).status_code == 200
    slack.app.clock.advance(timedelta(days=2, hours=19))                 # Monday 10:00
    slack.deliver()
    (done,) = slack.fake.wait_for("files.completeUploadExternal")
    assert "Wang — done: my done · problems: my problems · plan: my plan" in done.args["initial_comment"]
    assert "everyone answered" in done.args["initial_comment"]


def test_telegram_prompt_button_starts_the_update_conversation(tg: TelegramStack) -> None:
    from fakes.telegram_payloads import callback_update, text_update

    alice = 111
    tg.post(command_update(text="/meeting set reporters=alice", user_id=alice, chat_id=GROUP_ID, chat_type="group"))
    tg.app.clock.advance(timedelta(days=4, hours=5))
    tg.deliver()
    prompt = tg.last(alice)
    assert "Please send your update" in prompt["text"]
    (key,) = [b for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    tg.post(callback_update(data=key["callback_data"], user_id=alice, chat_id=alice))
    for answer in ("three visits", "none", "close Acme"):
        tg.post(text_update(text=answer, user_id=alice, chat_id=alice))
    assert "your update for the meeting on" in tg.last(alice)["text"]
    tg.app.clock.advance(timedelta(days=2, hours=19))
    tg.deliver()
    assert any("Alice — done: three visits · problems: none · plan: close Acme" in t for t in tg.said(GROUP_ID))


def test_an_export_reaches_slack_as_an_upload_to_the_one_who_asked(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/lead", "new Acme value=20万")
    reply = slack.say("/export", "leads csv")
    assert reply["response_type"] == "ephemeral" and "rows: 1" in reply["text"]
    assert slack.deliver() == 1
    (ask,) = slack.fake.wait_for("files.getUploadURLExternal")
    assert ask.args["filename"].startswith("leads-") and ask.args["filename"].endswith(".csv")
    # a file goes to a direct message by its D… id, as Slack requires (a user id is refused there)
    (opened,) = slack.fake.wait_for("conversations.open")
    assert opened.args["users"] == "U1"
    (done,) = slack.fake.wait_for("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU1" and "Your export: leads (rows: 1)." in done.args["initial_comment"]
    (uploaded,) = slack.fake.uploads.values()
    assert uploaded.decode("utf-8-sig").splitlines()[1].startswith("L1,Acme,")


def test_an_export_reaches_telegram_as_a_document(tg: TelegramStack) -> None:
    tg.post(command_update(text="/customer new Acme", user_id=111, chat_id=GROUP_ID, chat_type="group"))
    tg.post(command_update(text="/export ledger", user_id=111, chat_id=111))
    assert "rows: 0" in tg.last(111)["text"]
    tg.deliver()
    (doc,) = tg.fake.wait_for("sendDocument")
    assert int(doc.params["chat_id"]) == 111 and not tg.fake.calls_to("sendPhoto")
    sent = doc.params["document"]
    assert isinstance(sent, UploadedFile) and sent.filename.startswith("ledger-") and sent.data[:2] == b"PK"
    assert "Your export: contract ledger (rows: 0)." in doc.params["caption"]
