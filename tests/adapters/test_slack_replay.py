"""A signed Slack request replayed within its signature's five minutes — a command, a button click, a form
submission — runs once: the replay gets a quiet 200 and changes nothing (as a retried event already did)."""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import form_body, interactive_body, signed_headers, slash_command
from fakes.slack_stack import SECRET, SlackStack, text_of
from sqlalchemy import func, select

from domain.store.models import AuditEntry, Visit


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


def replay(slack: SlackStack, body: bytes) -> tuple[httpx.Response, httpx.Response]:
    """The same signed request twice: same body, same timestamp, same signature."""
    headers = signed_headers(body, SECRET)
    first = slack.http.post("/slack/events", content=body, headers=headers)
    assert slack.asgi.state.slack.wait_idle(10)
    again = slack.http.post("/slack/events", content=body, headers=headers)
    assert slack.asgi.state.slack.wait_idle(10)
    return first, again


def count(slack: SlackStack, model, *where) -> int:
    with slack.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_replayed_command_runs_once(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    body = form_body(slash_command(command="/visit", text='Acme note="pricing"',
                                   response_url=slack.fake.response_url("cmd")))
    first, again = replay(slack, body)
    assert first.status_code == 200 and "Visit V1 to Acme recorded" in text_of(first.json())
    assert again.status_code == 200 and again.content == b""
    assert count(slack, Visit) == 1


def test_a_replayed_command_that_opens_a_form_opens_it_once(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    first, again = replay(slack, form_body(slash_command(command="/visit", text="")))
    assert first.status_code == 200 and again.status_code == 200 and again.content == b""
    assert len(slack.fake.calls_to("views.open")) == 1


def test_a_replayed_button_click_decides_once(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="pricing" next=today')
    assert slack.deliver() == 1
    (post,) = slack.fake.wait_for("chat.postMessage")
    later = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["value"].startswith("{") and "snooze" in json.loads(e["value"])["line"]
                 and "1h" in json.loads(e["value"])["line"])
    press = slack.button(action_id=later["action_id"], value=later["value"], message_ts="1700000000.000200")
    press["message"]["text"] = post.args["text"]
    first, again = replay(slack, interactive_body(press))
    assert first.status_code == 200 and again.status_code == 200 and again.content == b""
    assert len(slack.fake.calls_to("chat.update")) == 1  # the decision shows once on its message
    assert count(slack, AuditEntry, AuditEntry.detail.startswith("snoozed")) == 1


def test_commands_and_clicks_made_again_by_a_person_run_again(slack: SlackStack) -> None:
    """Slack gives every command and click its own trigger_id: only the same request is a replay."""
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="one"')
    slack.say("/visit", 'Acme note="one"')
    assert count(slack, Visit) == 2
