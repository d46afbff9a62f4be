"""Approvals in the channel, end to end over HTTP: one bizbot serving Slack and Telegram (fakes at the
HTTP edge), approvers clicking buttons on either platform, every message about a request revised."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import view_submission
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import callback_update, command_update, text_update
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import func, select

from domain.store.models import (
    ApprovalDecision,
    AuditEntry,
    Contract,
    Lead,
    OutboxMessage,
    OutboxPost,
)

LILY_TG = 444
CHANNEL = "C777"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    with FakeSlack() as slack_fake, FakeTelegram(token=TG_TOKEN) as tg_fake:
        for uid, name in (("U1", "Wang"), ("U2", "Alice"), ("U3", "Mike"), ("U4", "Leo"), ("U5", "Hank")):
            slack_fake.users[uid] = {"real_name": name, "locale": "en-US"}
        yield slack_fake, tg_fake


@pytest.fixture
def both(db_url: str, clock, fakes) -> Iterator[SlackStack]:
    slack_fake, tg_fake = fakes
    stack = SlackStack(db_url, clock, slack_fake, telegram_bot_token=TG_TOKEN, telegram_api_url=tg_fake.root,
                       telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                       telegram_webhook_secret=TG_SECRET)
    stack.tg = tg_fake  # type: ignore[attr-defined]
    yield stack
    stack.close()


def tg_post(stack: SlackStack, update: dict[str, Any]) -> None:
    from fakes.telegram_payloads import json_body, webhook_headers

    stack.tg.remember(update)  # type: ignore[attr-defined]
    response = stack.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
    assert response.status_code == 200


def drain(stack: SlackStack, clock) -> None:
    """Deliver everything, letting the fake clock pass the per-channel rate limits."""
    for _ in range(12):
        clock.advance(timedelta(seconds=2))
        stack.deliver()


def setup_department(stack: SlackStack) -> None:
    stack.say("/help")
    stack.say("/team", "add <@U5|hank> role=head")
    stack.say("/team", "add <@U3|mike> role=manager supervisor=hank")
    stack.say("/team", "add <@U2|alice> role=sales supervisor=mike")
    stack.say("/team", "add lily role=legal supervisor=hank")
    stack.say("/team", "add <@U4|leo> role=legal")
    invite = stack.say("/team", "invite lily")["text"]
    code = invite.split("/start ")[1].split()[0].rstrip(";")
    tg_post(stack, command_update(text=f"/start {code}", user_id=LILY_TG, chat_id=LILY_TG, first_name="Lily"))
    stack.say("/policy", f"channel {CHANNEL}")
    stack.say("/settings", "contractterms optional")  # contracts without structured payment terms


def slack_buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Decision buttons of a posted Slack message, by the command they carry (without step)."""
    out = {}
    for block in message.get("blocks", []):
        if block["type"] != "actions":
            continue
        for element in block["elements"]:
            value = element["value"]
            line = json.loads(value)["line"] if value.startswith("{") else value
            out[line.split()[0]] = element
    return out


def slack_posts(stack: SlackStack, channel: str) -> list[Any]:
    return [c for c in stack.fake.calls_to("chat.postMessage") if c.args["channel"] == channel]


def press_slack(stack: SlackStack, post: Any, command: str, user_id: str) -> None:
    """Click a button on a message the dispatcher posted (its ts comes from where it was recorded)."""
    channel = post.args["channel"]
    calls = slack_posts(stack, channel)
    chat = f"D{channel}" if channel.startswith("U") else channel
    with stack.app.uow() as uow:
        refs = [p.message_ref for p in uow.session.scalars(
            select(OutboxPost).where(OutboxPost.chat == chat).order_by(OutboxPost.id))]
    ts = refs[calls.index(post)]
    button = slack_buttons(post.args)[command]
    payload = stack.button(action_id=button["action_id"], value=button["value"], user_id=user_id,
                           channel_id=chat, message_ts=ts)
    payload["message"]["text"] = post.args["text"]
    assert stack.interact(payload).status_code == 200


def tg_sent(stack: SlackStack, chat: int) -> list[dict[str, Any]]:
    return [c.params for c in stack.tg.calls_to("sendMessage") if int(c.params["chat_id"]) == chat]  # type: ignore


def tg_keyboard(params: dict[str, Any]) -> dict[str, str]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return {b["callback_data"].split(":", 1)[1].split()[0]: b["callback_data"]
            for row in markup.get("inline_keyboard", []) for b in row}


def posted_refs(stack: SlackStack) -> dict[tuple[str, str], OutboxPost]:
    with stack.app.uow() as uow:
        return {(p.chat, p.message_ref): p for p in uow.session.scalars(select(OutboxPost))}


def latest_text(stack: SlackStack, platform: str, chat: str, ref: str) -> str:
    """What a delivered message shows now: its last edit, else what was posted."""
    if platform == "slack":
        edits = [c.args for c in stack.fake.calls_to("chat.update")
                 if c.args.get("channel") == chat and str(c.args.get("ts")) == ref]
        if edits:
            return text_of(edits[-1])
        with stack.app.uow() as uow:
            refs = [p.message_ref for p in uow.session.scalars(
                select(OutboxPost).where(OutboxPost.chat == chat).order_by(OutboxPost.id))]
        return text_of(slack_posts(stack, chat.removeprefix("D") if chat.startswith("DU") else chat)[
            refs.index(ref)].args)
    message = stack.tg.messages[(int(chat), int(ref))]  # type: ignore[attr-defined]
    return message["text"] + json.dumps(message.get("reply_markup") or "")


def test_contract_of_800000_through_three_approvers_on_slack_and_telegram(both: SlackStack, clock) -> None:
    setup_department(both)
    both.say("/customer", "new Acme", user_id="U2")
    both.say("/lead", "new Acme value=800000 stage=negotiation", user_id="U2")
    drafted = both.say("/contract", 'new Acme title="ERP rollout" amount=800000 payment="30/70" '
                                    "delivery=2027-01-15 term=2027-12-31 lead=L1", user_id="U2")
    assert "Contract K1 drafted" in drafted["text"]
    assert "3 steps, first mike" in both.say("/contract", "submit K1", user_id="U2")["text"]
    drain(both, clock)

    (mike_dm,) = slack_posts(both, "U3")
    assert "Waiting for manager (mike), step 1 of 3" in text_of(mike_dm.args)
    assert {"/approve", "/reject", "/changes"} <= set(slack_buttons(mike_dm.args))
    (channel_1,) = slack_posts(both, CHANNEL)
    press_slack(both, mike_dm, "/approve", "U3")                      # step 1 on Slack, in the DM
    settled = both.fake.wait_for("chat.update")[-1]
    assert "step 1 (manager) approved" in text_of(settled.args)
    drain(both, clock)

    (lily_dm,) = tg_sent(both, LILY_TG)[-1:]                          # step 2 reaches lily on Telegram
    assert "Waiting for legal (lily), step 2 of 3" in lily_dm["text"]
    approve = tg_keyboard(lily_dm)["/approve"]
    refs = posted_refs(both)
    lily_ref = next(ref for (chat, ref), p in refs.items() if chat == str(LILY_TG))
    tg_post(both, callback_update(data=approve, user_id=LILY_TG, chat_id=LILY_TG, message_id=int(lily_ref),
                                  message_text=lily_dm["text"], first_name="Lily"))
    drain(both, clock)

    (hank_dm,) = slack_posts(both, "U5")
    channel_3 = slack_posts(both, CHANNEL)[-1]
    assert "step 3 of 3" in text_of(channel_3.args)
    press_slack(both, channel_3, "/approve", "U5")                    # step 3 on Slack, in the channel
    drain(both, clock)

    with both.app.uow() as uow:
        contract = uow.session.get(Contract, 1)
        assert contract.state == "signed" and contract.signed_on.isoformat() == "2026-11-23"
        assert uow.session.get(Lead, 1).stage == "won"
        decisions = [(d.step, d.outcome) for d in uow.session.scalars(select(ApprovalDecision))]
        assert decisions == [(0, "approve"), (1, "approve"), (2, "approve")]
        audited = [a.detail for a in uow.session.scalars(select(AuditEntry).where(AuditEntry.entity == "approval"))]
        assert sum("approve" in (d or "") for d in audited if d and d.startswith("round 1 step")) == 3
        assert uow.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent")) == 0
        posts = list(uow.session.scalars(select(OutboxPost)))
    assert {p.platform for p in posts} == {"slack", "telegram"}
    for post in posts:                                                # every message shows the final state
        shown = latest_text(both, post.platform, post.chat, post.message_ref)
        assert "Approved: the last step (department head) by hank" in shown, (post.platform, post.chat)
        assert "bizbot.cmd" not in shown and "callback_data" not in shown
    ledger = both.say("/contract", "ledger", user_id="U2")
    assert "K1" in text_of(ledger) and "800,000.00" in text_of(ledger)
    assert channel_1 is not None and hank_dm is not None


def test_a_click_on_slack_and_one_on_telegram_for_the_same_step(both: SlackStack, clock) -> None:
    setup_department(both)
    both.say("/customer", "new Acme", user_id="U2")
    both.say("/contract", 'new Acme title="Support" amount=100000', user_id="U2")
    both.say("/contract", "submit K1", user_id="U2")
    drain(both, clock)
    press_slack(both, slack_posts(both, "U3")[0], "/approve", "U3")
    drain(both, clock)
    lily_dm = tg_sent(both, LILY_TG)[-1]
    lily_ref = next(ref for (chat, ref) in posted_refs(both) if chat == str(LILY_TG))
    channel_2 = slack_posts(both, CHANNEL)[-1]
    assert "step 2 of 2" in text_of(channel_2.args)
    tg_post(both, callback_update(data=tg_keyboard(lily_dm)["/approve"], user_id=LILY_TG, chat_id=LILY_TG,
                                  message_id=int(lily_ref), message_text=lily_dm["text"], first_name="Lily"))
    before = len(both.fake.calls_to("chat.update"))
    press_slack(both, channel_2, "/approve", "U4")                    # leo, legal too, clicks second
    with both.app.uow() as uow:
        decisions = list(uow.session.scalars(select(ApprovalDecision).where(ApprovalDecision.step == 1)))
    assert len(decisions) == 1 and decisions[0].actor_id != 0
    said = json.dumps([c.args for c in both.fake.calls_to("response_url")], ensure_ascii=False)
    assert "already decided: approved by lily" in said
    assert len(both.fake.calls_to("chat.update")) == before           # the refused click settles nothing
    answers = both.tg.calls_to("answerCallbackQuery")  # type: ignore[attr-defined]
    assert "step 2 (legal) approved" in answers[-1].params.get("text", "")


def test_reject_needs_a_reason_via_slack_modal_and_changes_via_telegram_reply(both: SlackStack, clock) -> None:
    setup_department(both)
    both.say("/customer", "new Acme", user_id="U2")
    both.say("/contract", 'new Acme title="Support" amount=100000', user_id="U2")
    both.say("/contract", "submit K1", user_id="U2")
    drain(both, clock)
    press_slack(both, slack_posts(both, "U3")[0], "/approve", "U3")
    drain(both, clock)
    lily_dm = tg_sent(both, LILY_TG)[-1]
    lily_ref = next(ref for (chat, ref) in posted_refs(both) if chat == str(LILY_TG))
    tg_post(both, callback_update(data=tg_keyboard(lily_dm)["/changes"], user_id=LILY_TG, chat_id=LILY_TG,
                                  message_id=int(lily_ref), message_text=lily_dm["text"], first_name="Lily"))
    assert "reason" in tg_sent(both, LILY_TG)[-1]["text"].lower()     # the reply prompt
    tg_post(both, text_update(text="liability clause too broad", user_id=LILY_TG, chat_id=LILY_TG,
                              first_name="Lily"))
    edits = both.tg.calls_to("editMessageText")  # type: ignore[attr-defined]
    assert "changes requested" in edits[-1].params["text"]
    both.say("/contract", 'edit K1 payment="50/50"', user_id="U2")
    assert "round 2" in both.say("/contract", "submit K1", user_id="U2")["text"]
    drain(both, clock)
    dm = slack_posts(both, "U3")[-1]
    assert "step=2.1" in json.dumps(dm.args["blocks"])
    press_slack(both, dm, "/reject", "U3")
    (opened,) = both.fake.wait_for("views.open")
    view = opened.args["view"]
    submit = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                             user_id="U3",
                             state_values={"ref": {"ref": {"type": "plain_text_input", "value": "A1"}},
                                           "reason": {"reason": {"type": "plain_text_input",
                                                                 "value": "price too low"}},
                                           "step": {"step": {"type": "plain_text_input", "value": "2.1"}}})
    assert both.interact(submit).status_code == 200
    with both.app.uow() as uow:
        last = uow.session.scalars(select(ApprovalDecision).order_by(ApprovalDecision.id.desc())).first()
        assert (last.round, last.outcome, last.reason) == (2, "reject", "price too low")
        assert uow.session.get(Contract, 1).state == "rejected"
