"""The meeting digest with its chart reaches Slack (file upload) and Telegram (sendPhoto)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_fake import FakeSlack
from slack_stack import TOKEN as SLACK_TOKEN
from slack_stack import SlackStack
from telegram_fake import FakeTelegram, UploadedFile
from telegram_payloads import GROUP_ID, command_update
from telegram_stack import TOKEN as TELEGRAM_TOKEN
from telegram_stack import TelegramStack

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:  # noqa: ANN001
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:  # noqa: ANN001
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
