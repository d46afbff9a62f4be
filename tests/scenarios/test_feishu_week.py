"""A department in Feishu runs a week of bizbot: customers and visits typed as messages (with the Chinese command
words too), a contract approved with card buttons — the manager on Feishu, legal on Slack —, a complaint whose
deadline passes and whose escalation reaches the department's Feishu group, the weekly meeting's digest posted
there with its chart uploaded through the images API, and the month-end self-review answered.

One bizbot server runs the HTTP event route for Feishu (real, encrypted and signed event payloads) and Slack,
each against its fake at the HTTP edge, on the injected clock; what is asserted is what the fakes received."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from approvals.test_approvals_channels import press_slack, slack_posts
from fakes.feishu_fake import FakeFeishu, buttons, card_text
from fakes.feishu_payloads import bot_mention, card_action, encrypt, mention, message, signed_headers
from fakes.feishu_stack import APP_ID, APP_SECRET, KEY, TOKEN
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from sqlalchemy import select

from domain.kernel.clock import FakeClock
from domain.store.models import ApprovalDecision, Contract, Customer, Member, Review, Visit

WANG, MIKE, ALICE, CAROL = ("ou_wang0000000000000000000000000001", "ou_mike0000000000000000000000000002",
                            "ou_alice000000000000000000000000003", "ou_carol000000000000000000000000004")
GROUP = "oc_sales00000000000000000000000001"
DM = {WANG: "oc_dmwang00000000000000000000000001", MIKE: "oc_dmmike00000000000000000000000002",
      ALICE: "oc_dmalice0000000000000000000000003", CAROL: "oc_dmcarol0000000000000000000000004"}
LILY_SLACK = "U7"


@pytest.fixture
def week(db_url: str, clock: FakeClock) -> Iterator[SlackStack]:
    with FakeSlack() as slack_fake, FakeFeishu() as fs_fake:
        slack_fake.users[LILY_SLACK] = {"real_name": "Lily", "locale": "en-US"}
        fs_fake.users.update({WANG: {"name": "王经理"}, MIKE: {"name": "Mike"}, ALICE: {"name": "Alice"},
                              CAROL: {"name": "Carol"}})
        stack = SlackStack(db_url, clock, slack_fake, feishu_app_id=APP_ID, feishu_app_secret=APP_SECRET,
                           feishu_verification_token=TOKEN, feishu_encrypt_key=KEY, feishu_domain=fs_fake.root)
        stack.fs = fs_fake  # type: ignore[attr-defined]
        assert stack.asgi.state.feishu.identified.wait(10)
        yield stack
        stack.close()


def post(stack: SlackStack, event: dict[str, Any]) -> httpx.Response:
    """An event as Feishu sends it (encrypted, signed), and the work bizbot goes on with after its answer."""
    body = encrypt(event, KEY)
    response = stack.http.post("/feishu/events", content=body, headers=signed_headers(body, KEY))
    assert stack.asgi.state.feishu.wait_idle(10), "work after the acknowledgement did not finish"
    assert response.status_code == 200, response.text
    return response


def fs(stack: SlackStack) -> FakeFeishu:
    return stack.fs  # type: ignore[attr-defined,no-any-return]


def say(stack: SlackStack, who: str, text: str) -> str:
    """`who` types `text` in their private chat with the bot: everything bizbot sent in answer."""
    before = len(fs(stack).messages)
    post(stack, message(text, TOKEN, open_id=who, chat_id=DM[who]))
    return "\n".join(card_text(m["content"]) for m in fs(stack).sent()[before:])


def say_in_group(stack: SlackStack, who: str, text: str, *others: tuple[str, str]) -> str:
    """`who` types `text` in the group, @-mentioning the bot (as @_user_1) and `others` (key, open_id, name)."""
    before = len(fs(stack).messages)
    named = [mention(f"@_user_{n}", open_id, name) for n, (open_id, name) in enumerate(others, start=2)]
    post(stack, message(f"@_user_1 {text}", TOKEN, open_id=who, chat_id=GROUP, chat_type="group",
                        mentions=[bot_mention(), *named]))
    return "\n".join(card_text(m["content"]) for m in fs(stack).sent()[before:])


def advance(stack: SlackStack, clock: FakeClock, delta: timedelta, step: timedelta = timedelta(minutes=30)) -> None:
    """Move the clock in steps, firing what falls due and delivering the outbox on the way."""
    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(step, end - clock.now()))
        stack.deliver()


def press(stack: SlackStack, who: str, sent: dict[str, Any], command: str) -> dict[str, Any]:
    """`who` clicks the button for `command` on a card bizbot sent: the callback's answer (its toast)."""
    value = buttons(sent["content"])[command]
    chat = sent["to"] if sent["to"].startswith("oc_") else DM[who]
    return post(stack, card_action(value, TOKEN, open_id=who, message_id=sent["id"], chat_id=chat)).json()


def test_a_feishu_department_runs_a_week_of_bizbot(week: SlackStack, clock: FakeClock) -> None:
    fake = fs(week)
    # Monday 23 November, 10:00: 王经理 opens the department and brings the team in from the group
    assert "王经理" in say(week, WANG, "/help")
    added = say_in_group(week, WANG, "/team add @_user_2 role=manager", (MIKE, "Mike"))
    assert "飞书账号" in added                                           # 王经理 reads Chinese
    say_in_group(week, WANG, "/team add @_user_2 role=sales supervisor=Mike", (ALICE, "Alice"))
    say_in_group(week, WANG, "/team add @_user_2 role=service supervisor=Mike", (CAROL, "Carol"))
    say(week, WANG, "/team add lily role=legal")
    say(week, WANG, "/settings contractterms optional")
    assert "投诉升级" in say(week, WANG, f"/complaint channel {GROUP}")
    say(week, WANG, f"/meeting set day=monday time=09:30 channel={GROUP}")
    # lily works on Slack: the invite code made on Feishu links her Slack account
    code = re.search(r"/start ([A-Z0-9]+)", say(week, WANG, "/team invite lily")).group(1)  # type: ignore[union-attr]
    assert "lily" in text_of(week.say("/enrol", code, user_id=LILY_SLACK))

    # customers and visits, typed in English and with the Chinese command words
    assert "Acme" in say(week, ALICE, "/customer new Acme industry=manufacturing")
    assert "华为" in say_in_group(week, ALICE, "客户 新建 华为 行业=通信")
    assert "华为" in say(week, ALICE, '拜访 华为 备注="见了采购经理" 下次=明天')
    assert "Acme" in say(week, ALICE, '/visit Acme note="demo of the line" next=friday')
    assert "华为" in say(week, WANG, "客户 列表")
    with week.app.uow() as uow:
        assert sorted(n for n, in uow.session.execute(select(Customer.name).join(Visit))) == ["Acme", "华为"]

    # the contract: alice submits; Mike approves with the card's button on Feishu, lily on Slack
    say(week, ALICE, '/contract new Acme title="Line upgrade" amount=100000')
    say(week, ALICE, "/contract submit K1")
    advance(week, clock, timedelta(minutes=2), step=timedelta(seconds=30))
    (request,) = [m for m in fake.sent(MIKE) if "/approve" in buttons(m["content"])]
    assert "K1" in card_text(request["content"])
    toast = press(week, MIKE, request, "/approve")
    assert toast["toast"]["type"] == "success"
    assert "/approve" not in card_text(fake.shown(request["id"]))      # the card shows the decision, no buttons
    advance(week, clock, timedelta(minutes=2), step=timedelta(seconds=30))
    (lily_request,) = [c for c in slack_posts(week, LILY_SLACK) if "K1" in text_of(c.args)]
    press_slack(week, lily_request, "/approve", LILY_SLACK)
    advance(week, clock, timedelta(minutes=2), step=timedelta(seconds=30))
    with week.app.uow() as uow:
        assert [(d.step, d.outcome) for d in uow.session.scalars(select(ApprovalDecision))] == [
            (0, "approve"), (1, "approve")]
        assert uow.session.scalar(select(Contract.state)) == "signed"
    to_alice = [card_text(m["content"]) for m in fake.sent(ALICE)]
    assert any("Approved: the last step (legal) by lily" in t for t in to_alice), to_alice   # told on Feishu

    # a complaint: its response deadline passes, the escalation ping reaches the Feishu group
    assert "Q1" in say(week, CAROL, '/complaint new Acme severity=high what="late delivery" '
                                    'wants="delivery this week"')
    in_group = len(fake.sent(GROUP))
    advance(week, clock, timedelta(hours=5))
    pings = [card_text(m["content"]) for m in fake.sent(GROUP)[in_group:]]
    (ping,) = [p for p in pings if "Q1" in p and "missed its promised response" in p]
    assert "Acknowledge" in ping                                       # with its buttons, in the group

    # Monday 30 November: the month-end self-review opens (09:00), the weekly digest is posted (09:30)
    fake.clear()
    monday = clock.now().replace(hour=2, minute=0, second=0, microsecond=0) + timedelta(days=7)  # 10:00 local
    advance(week, clock, monday - clock.now(), step=timedelta(hours=1))
    images = fake.calls_to("im.image.create")
    assert images and b"\x89PNG\r\n\x1a\n" in images[-1].body
    (chart,) = [m for m in fake.sent(GROUP) if m["msg_type"] == "image"]
    assert chart["content"]["image_key"].startswith("img_")
    digest = [card_text(m["content"]) for m in fake.sent(GROUP) if m["msg_type"] == "interactive"]
    assert any("digest" in d.lower() or "简报" in d for d in digest), digest
    opened = [card_text(m["content"]) for m in fake.sent(ALICE)]
    assert any("self-review" in o for o in opened), opened

    # alice answers her self-review from Feishu
    for n, score in enumerate((80, 90, 70, 60, 100), start=1):
        say(week, ALICE, f"/review self {n} {score}")
    assert "self-assessed" in say(week, ALICE, "/review submit")
    with week.app.uow() as uow:
        reviews = {m.name: r.status for r, m in uow.session.execute(
            select(Review, Member).join(Member, Member.id == Review.member_id))}
    assert reviews["Alice"] != reviews["Carol"] == reviews["Mike"], reviews   # hers moved on; the others wait
