"""Done when: a complaint logged in Telegram by a service member escalates, with pings in the Slack
escalation channel, to the supervisor and then the manager when ignored; once resolved and called
back it closes and counts in the KPIs. One bizbot server runs both adapters against fake Slack and
Telegram HTTP servers; the department is the Slack workspace, the service member is linked on Telegram.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import command_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN

from domain.kernel.clock import FakeClock

CAROL_TG = 4242
ESCALATIONS = "CESC01"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    with FakeSlack() as slack, FakeTelegram(token=TG_TOKEN) as telegram:
        slack.users["U1"] = {"real_name": "wang", "locale": "en-US"}
        slack.users["U2"] = {"real_name": "sup", "locale": "en-US"}
        slack.users["U3"] = {"real_name": "alice", "locale": "en-US"}
        yield slack, telegram


@pytest.fixture
def stack(db_url: str, clock: FakeClock, fakes: tuple[FakeSlack, FakeTelegram]) -> Iterator[SlackStack]:
    slack, telegram = fakes
    both = SlackStack(db_url, clock, slack, telegram_bot_token=TG_TOKEN, telegram_api_url=telegram.root,
                      telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                      telegram_webhook_secret=TG_SECRET)
    yield both
    both.close()


def telegram_says(stack: SlackStack, telegram: FakeTelegram, text: str) -> str:
    """Carol types in her private chat with the bot; returns the bot's last answer there."""
    update = command_update(text=text, user_id=CAROL_TG, chat_id=CAROL_TG, first_name="Carol")
    telegram.remember(update)
    response = stack.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
    assert response.status_code == 200
    return [c.params["text"] for c in telegram.calls_to("sendMessage") if int(c.params["chat_id"]) == CAROL_TG][-1]


def posts(slack: FakeSlack, since: int = 0) -> list[tuple[str, str]]:
    """(channel, text) of every chat.postMessage bizbot made, after the first `since`."""
    return [(c.args["channel"], text_of(c.args)) for c in slack.calls_to("chat.postMessage")][since:]


def advance(stack: SlackStack, clock: FakeClock, delta: timedelta) -> None:
    """Move the clock in 15-minute steps, sweeping and delivering on the way."""
    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(timedelta(minutes=15), end - clock.now()))
        stack.deliver()


def test_telegram_complaint_escalates_in_slack_then_closes_and_counts(
        stack: SlackStack, fakes: tuple[FakeSlack, FakeTelegram], clock: FakeClock) -> None:
    slack, telegram = fakes
    stack.say("/help")                                                   # U1 (wang): admin and manager
    stack.say("/team", "add <@U2|sup> role=sales supervisor=wang")
    stack.say("/team", "add <@U3|alice> role=sales supervisor=sup")
    stack.say("/team", "add carol role=service supervisor=wang")
    assert ESCALATIONS in stack.say("/complaint", f"channel <#{ESCALATIONS}|escalations>")["text"]
    assert "Acme (C1)" in stack.say("/customer", "new Acme", user_id="U3")["text"]
    invite = stack.say("/team", "invite carol")["text"]
    code = invite.split("/start ")[1].split()[0].rstrip(";.")
    assert "carol" in telegram_says(stack, telegram, f"/start {code}")

    answer = telegram_says(stack, telegram, '/complaint new Acme severity=high what="late delivery" '
                                            'wants="delivery this week" contact="Mr Li"')
    assert "Complaint Q1 from Acme logged" in answer and "assigned to alice" in answer
    stack.deliver()
    (assigned,) = posts(slack)
    assert assigned[0] == "U3" and "Complaint Q1 from Acme" in assigned[1]        # alice's DM, in Slack

    advance(stack, clock, timedelta(hours=3))                           # 13:00: the reminder
    seen = len(slack.calls_to("chat.postMessage"))
    assert [c for c, _t in posts(slack, 1)] == ["U3"] and "Reminder" in posts(slack, 1)[0][1]

    advance(stack, clock, timedelta(hours=1))                           # 14:00: supervisor
    step1 = posts(slack, seen)
    assert sorted(c for c, _t in step1) == sorted([ESCALATIONS, "U2"])
    channel_text = next(t for c, t in step1 if c == ESCALATIONS)
    assert "missed its promised response" in channel_text and "escalated to sup" in channel_text
    assert "Acknowledge" in channel_text and "Take over" in channel_text and "Reassign" in channel_text
    seen += len(step1)

    advance(stack, clock, timedelta(hours=4))                           # 18:00: ignored, so the manager
    step2 = posts(slack, seen)
    assert sorted(c for c, _t in step2) == sorted([ESCALATIONS, "U1"])
    assert "now with the manager, wang" in next(t for c, t in step2 if c == ESCALATIONS)
    seen += len(step2)
    advance(stack, clock, timedelta(hours=1))
    assert posts(slack, seen) == []                                     # nothing twice

    # alice answers and resolves in Slack; the satisfaction callback comes to her the next working morning
    stack.say("/complaint", 'update Q1 note="new delivery on friday"', user_id="U3")
    assert "Q1 resolved" in stack.say("/complaint", "resolve Q1", user_id="U3")["text"]
    advance(stack, clock, timedelta(hours=16))                          # Tuesday 11:00
    callbacks = [t for c, t in posts(slack, seen) if c == "U3"]
    assert len(callbacks) == 1 and "Satisfaction callback" in callbacks[0]
    assert not [c for c, _t in posts(slack, seen) if c == ESCALATIONS]  # resolved: escalation stopped
    satisfied = next(e for b in slack.calls_to("chat.postMessage")[-1].args["blocks"] if b["type"] == "actions"
                     for e in b["elements"] if "satisfied" in e["value"] and "unsatisfied" not in e["value"])
    assert json.loads(satisfied["value"])["decision"]
    closed = stack.say("/complaint", "callback Q1 satisfied", user_id="U3")["text"]
    assert "Q1 is closed" in closed

    kpis = text_of(stack.say("/kpi", "complaints alice week"))
    assert "Complaints closed: 1" in kpis and "Complaints overdue: 1" in kpis
    assert "Complaint resolution rate: 100%" in kpis and "Complaint handling timeliness rate: 0%" in kpis
    timeline = telegram_says(stack, telegram, "/complaint show Q1")
    for step in ("intake", "deadline missed, escalated", "escalated to manager", "customer told", "resolved",
                 "callback", "closed"):
        assert step in timeline


def test_acknowledge_button_in_the_slack_channel_stops_the_climb(
        stack: SlackStack, fakes: tuple[FakeSlack, FakeTelegram], clock: FakeClock) -> None:
    slack, _telegram = fakes
    stack.say("/help")
    stack.say("/team", "add <@U2|sup> role=sales supervisor=wang")
    stack.say("/team", "add <@U3|alice> role=sales supervisor=sup")
    stack.say("/complaint", f"channel <#{ESCALATIONS}|escalations>")
    stack.say("/customer", "new Acme", user_id="U3")
    stack.say("/complaint", 'new Acme severity=high what="broken" wants="a fix"', user_id="U3")
    advance(stack, clock, timedelta(hours=4))                           # 14:00: escalated to sup
    post = next(c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == ESCALATIONS)
    ack = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]
               if "ack" in e["value"])
    press = stack.button(action_id=ack["action_id"], value=ack["value"], user_id="U2", channel_id=ESCALATIONS,
                         message_ts="1700000000.000300")
    press["message"]["text"] = post.args["text"]
    assert stack.interact(press).status_code == 200
    (update,) = slack.wait_for("chat.update")
    assert "sup acknowledged the escalation of Q1" in text_of(update.args)
    assert all(b["type"] != "actions" for b in update.args["blocks"])   # settled: no second click
    seen = len(slack.calls_to("chat.postMessage"))
    advance(stack, clock, timedelta(hours=5))
    assert [c for c, _t in posts(slack, seen) if c in (ESCALATIONS, "U1")] == []   # the manager is not pinged


def test_service_member_logs_a_complaint_through_the_telegram_conversation(
        stack: SlackStack, fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    from fakes.telegram_payloads import callback_update, text_update

    slack, telegram = fakes
    stack.say("/help")
    stack.say("/team", "add <@U3|alice> role=sales supervisor=wang")
    stack.say("/team", "add carol role=service supervisor=wang")
    stack.say("/customer", "new Acme", user_id="U3")
    code = stack.say("/team", "invite carol")["text"].split("/start ")[1].split()[0].rstrip(";.")
    telegram_says(stack, telegram, f"/start {code}")

    def send(update: dict) -> str:
        telegram.remember(update)
        stack.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
        return [c.params for c in telegram.calls_to("sendMessage") if int(c.params["chat_id"]) == CAROL_TG][-1]

    telegram_says(stack, telegram, "/complaint")                         # the menu of sub-commands
    assert "customer" in send(callback_update(data="c:/complaint new", user_id=CAROL_TG, chat_id=CAROL_TG))[
        "text"].lower()
    asked = send(text_update(text="Acme", user_id=CAROL_TG, chat_id=CAROL_TG))     # alice's customer, typed
    buttons = [b["callback_data"] for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert "f:high" in buttons
    send(callback_update(data="f:high", user_id=CAROL_TG, chat_id=CAROL_TG))
    send(text_update(text="late delivery", user_id=CAROL_TG, chat_id=CAROL_TG))
    asked = send(text_update(text="delivery this week", user_id=CAROL_TG, chat_id=CAROL_TG))
    done = send(callback_update(data="f:phone", user_id=CAROL_TG, chat_id=CAROL_TG))
    assert "Complaint Q1 from Acme logged (high severity), assigned to alice." in done["text"]
