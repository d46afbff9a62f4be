"""A sales department in DingTalk runs its week, through the real server with DingTalk's own payloads in (signed
robot messages and card callbacks) and a fake Open API out: customers and visits typed to the robot (Chinese
command words too), an ¥800,000 contract approved by card buttons — the manager in his private chat, the legal
step by a lawyer on Telegram (first click wins, the group's card and her message show it), the head in the
group — a complaint whose missed deadline escalates to the department's group, the Monday meeting digest with
its chart uploaded as a picture, and the month-end self-review answered."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fakes.dingtalk_fake import FakeDingTalk
from fakes.dingtalk_payloads import GROUP
from fakes.dingtalk_stack import DingTalkStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import callback_update, command_update, json_body, webhook_headers
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from sqlalchemy import select

from bot.dingtalk import render
from domain.kernel.clock import FakeClock
from domain.store.models import Complaint, Contract, Customer, Member, OutboxPost, Review, Visit

WANG, ALICE, MIKE, LEO, HANK, CAROL = "s001", "s002", "s003", "s004", "s005", "s006"
LILY_TG = 444


@pytest.fixture
def dt(db_url: str, clock: FakeClock) -> Iterator[DingTalkStack]:
    with FakeDingTalk() as fake, FakeTelegram(token=TG_TOKEN) as tg:
        stack = DingTalkStack(db_url, clock, fake, telegram_bot_token=TG_TOKEN, telegram_api_url=tg.root,
                              telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                              telegram_webhook_secret=TG_SECRET)
        stack.tg = tg  # type: ignore[attr-defined]
        try:
            yield stack
        finally:
            stack.close()


def unescaped(text: str) -> str:
    return text.replace("\\", "")


def telegram(dt: DingTalkStack, update: dict) -> None:
    dt.tg.remember(update)  # type: ignore[attr-defined]
    response = dt.http.post("/telegram/webhook", content=json_body(update), headers=webhook_headers(TG_SECRET))
    assert response.status_code == 200


def advance(dt: DingTalkStack, clock: FakeClock, delta: timedelta, step: timedelta = timedelta(minutes=30)) -> None:
    """Move the clock in steps, delivering what falls due on the way."""
    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(step, end - clock.now()))
        dt.deliver()


def sent(dt: DingTalkStack, chat: str, since: int = 0) -> list[dict]:
    """What the Open API took for a person or a group after the first `since`: each {"kind", "text", ...}."""
    out = []
    for message in dt.fake.messages_to(chat)[since:]:
        if message["kind"] == "card":
            message = {**message, "text": unescaped(render.card_text(message["card"]))}
        else:
            message = {**message, "text": unescaped(str(message["param"].get("text", "")))}
        out.append(message)
    return out


def cards(dt: DingTalkStack, chat: str) -> list[dict]:
    return [m for m in sent(dt, chat) if m["kind"] == "card"]


def button(card: dict, command: str) -> str:
    return next(ident for _label, ident in render.card_buttons(card["card"])
                if render.decode(ident).value.split()[0] == command)


def test_a_dingtalk_department_runs_its_week(dt: DingTalkStack, clock: FakeClock) -> None:
    fake, tg = dt.fake, dt.tg  # type: ignore[attr-defined]
    # Monday 23 November: wang opens the department in his private chat and builds the team in the group
    dt.say("/help", WANG, "王经理")
    dt.say("/team add lily role=legal", WANG, "王经理")                 # legal, on Telegram
    dt.say("/team invite lily", WANG, "王经理")
    code = unescaped(dt.said()).split("/start ")[1].split()[0].rstrip(";")
    telegram(dt, command_update(text=f"/start {code}", user_id=LILY_TG, chat_id=LILY_TG, first_name="Lily"))
    for staff, line in ((HANK, "/team add @hank role=head"),
                        (MIKE, "/team add @mike role=manager supervisor=hank"),
                        (ALICE, "团队 添加 @alice role=sales supervisor=mike"),
                        (CAROL, "/team add @carol role=service supervisor=mike"),
                        (LEO, "/team add @leo role=legal")):
        dt.say(line, WANG, "王经理", group=True, at_users=[staff])
        assert "linked to their DingTalk account" in unescaped(dt.said())
    for line in (f'/policy channel "{GROUP}"', f'/complaint channel "{GROUP}"',
                 f'/meeting set day=monday time=09:30 channel="{GROUP}"'):
        dt.say(line, WANG, "王经理")
        assert GROUP in unescaped(dt.said()) and "⚠️" not in dt.said(), dt.said()

    # customers and visits, typed to the robot in Chinese and English, in private and in the group
    dt.say("客户 新建 华为 行业=通信", ALICE, "alice")
    assert "华为" in unescaped(dt.texts()[-1])
    dt.say("/customer new Acme", ALICE, "alice", group=True)
    dt.say('拜访 华为 备注="谈了报价"', ALICE, "alice")
    dt.say('/visit Acme note="demo of the ERP"', ALICE, "alice", group=True)
    assert any("Customer Acme (C2) created" in m["text"] for m in cards(dt, GROUP))  # answered in the group
    assert "Visit V2 to Acme recorded" in unescaped(dt.said())
    with dt.app.uow() as uow:
        assert sorted(c.name for c in uow.session.scalars(select(Customer))) == ["Acme", "华为"]
        assert len(list(uow.session.scalars(select(Visit)))) == 2

    # Tuesday: the contract, submitted in chat
    advance(dt, clock, timedelta(days=1), step=timedelta(hours=2))
    dt.say('/contract new Acme title="ERP rollout" amount=80万 delivery=2027-01-15', ALICE, "alice")
    dt.say('/contract terms K1 "30% 签约, 70% 验收"', ALICE, "alice")
    dt.say("/contract submit K1", ALICE, "alice")
    advance(dt, clock, timedelta(minutes=10), step=timedelta(minutes=2))
    (mike_card,) = cards(dt, MIKE)
    assert "step 1 of 3" in mike_card["text"]
    dt.press(mike_card["biz"], button(mike_card, "/approve"), MIKE)          # in his private chat
    assert render.card_buttons(fake.cards[mike_card["biz"]]) == []          # his card shows the decision
    assert "step 1 (manager) approved" in sent(dt, MIKE)[-1]["text"]         # and he is told, in private
    advance(dt, clock, timedelta(minutes=10), step=timedelta(minutes=2))

    step2 = cards(dt, GROUP)[-1]                                            # legal: in the group, lily on Telegram
    assert "step 2 of 3" in step2["text"]
    lily = [c.params for c in tg.calls_to("sendMessage") if int(c.params["chat_id"]) == LILY_TG][-1]
    assert "step 2 of 3" in lily["text"]
    markup = lily["reply_markup"] if isinstance(lily["reply_markup"], dict) else json.loads(lily["reply_markup"])
    approve = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                   if b["callback_data"].split(":", 1)[1].startswith("/approve"))
    with dt.app.uow() as uow:
        lily_ref = next(p.message_ref for p in uow.session.scalars(select(OutboxPost)) if p.chat == str(LILY_TG))
    telegram(dt, callback_update(data=approve, user_id=LILY_TG, chat_id=LILY_TG, message_id=int(lily_ref),
                                 message_text=lily["text"], first_name="Lily"))      # lily decides on Telegram
    before = len(sent(dt, GROUP))
    dt.press(step2["biz"], button(step2, "/approve"), LEO, conversation=GROUP)     # leo, second: refused
    assert "already decided: approved by lily" in sent(dt, LEO)[-1]["text"]   # told alone, in private
    assert [m["text"] for m in sent(dt, GROUP, before)] == ["leo, I sent you the details in a private chat."]
    advance(dt, clock, timedelta(minutes=10), step=timedelta(minutes=2))

    step3 = cards(dt, GROUP)[-1]                                            # the head: in the group and his chat
    assert "step 3 of 3" in step3["text"] and "step 3 of 3" in cards(dt, HANK)[-1]["text"]
    before = len(sent(dt, GROUP))
    dt.press(step3["biz"], button(step3, "/approve"), HANK, conversation=GROUP)   # hank, in the group
    assert [m["text"] for m in sent(dt, GROUP, before)] == [               # answered where he clicked
        "A1: step 3 (department head) approved. All steps approved."]
    advance(dt, clock, timedelta(minutes=10), step=timedelta(minutes=2))
    with dt.app.uow() as uow:
        assert uow.session.get(Contract, 1).state == "signed"
        posts = list(uow.session.scalars(select(OutboxPost).where(OutboxPost.platform == "dingtalk")))
    assert {p.chat for p in posts} >= {MIKE, GROUP, HANK}
    for post in posts:                                                      # every card: the outcome, no buttons
        shown = fake.cards[post.message_ref]
        assert "Approved" in render.card_text(shown) and render.card_buttons(shown) == [], post.chat
    lily_now = [c.params for c in tg.calls_to("editMessageText") if int(c.params["chat_id"]) == LILY_TG][-1]
    assert "Approved: the last step" in lily_now["text"] and "reply_markup" not in lily_now
    assert "Approved: the last step" in sent(dt, ALICE)[-1]["text"]

    # Wednesday: carol logs a complaint in the group; nobody answers it in time, so it climbs to the group
    advance(dt, clock, timedelta(days=1), step=timedelta(hours=2))
    dt.say('投诉 新建 Acme 严重程度=high 投诉内容="服务器交付延误" 诉求="本周交货"', CAROL, "carol", group=True)
    assert "Complaint Q1 from Acme logged (high severity), assigned to alice" in unescaped(dt.said())
    seen = len(sent(dt, GROUP))
    advance(dt, clock, timedelta(hours=5), step=timedelta(minutes=15))
    ping = [m["text"] for m in sent(dt, GROUP, seen) if m["text"].startswith("Escalation: complaint Q1")]
    assert len(ping) == 1 and "escalated to mike" in ping[0]
    assert any("is escalated to you" in m["text"] for m in sent(dt, MIKE))
    with dt.app.uow() as uow:
        assert uow.session.get(Complaint, 1).status == "open"

    # Friday 15:00: the meeting's prompts; alice answers in Chinese
    advance(dt, clock, timedelta(days=2), step=timedelta(hours=1))
    prompt = [m for m in sent(dt, ALICE) if "Please send your update" in m["text"]]
    assert len(prompt) == 1 and "Nov 30, 2026 at 09:30" in prompt[0]["text"]
    dt.say('例会 汇报 完成="拜访华为和Acme" 困难="无" 计划="Acme 验收"', ALICE, "alice")
    assert "your update for the meeting on Nov 30, 2026" in unescaped(dt.said())

    # Monday 30 November, the month's last working day: the self-review opens at 09:00, the digest at 09:30
    mark = len(fake.calls)
    advance(dt, clock, datetime(2026, 11, 30, 1, 45, tzinfo=UTC) - clock.now(), step=timedelta(hours=1))
    (upload,) = [c for c in fake.calls[mark:] if c.method == "/media/upload"]
    assert upload.query["access_token"] == [f"token-{fake.issued}"]
    (chart,) = fake.uploads.values()
    assert chart["type"] == "image" and chart["mime"] == "image/png" and chart["data"][:8] == b"\x89PNG\r\n\x1a\n"
    assert chart["filename"] == "digest-1-2026-11-30.png"
    picture, digest = [m for m in sent(dt, GROUP) if m["kind"] != "card"][-2:]
    assert picture["kind"] == "sampleImageMsg" and picture["param"]["photoURL"] in fake.uploads
    assert digest["text"].startswith("Weekly meeting Nov 30, 2026 09:30 — digest")
    for line in ("New customers: 2 (+2 from the week before)", "Visits: 2 (+2 from the week before)",
                 "Contracts approved: 1", "Complaints overdue: 1",
                 "alice — done: 拜访华为和Acme · problems: 无 · plan: Acme 验收", "Not answered:"):
        assert line in digest["text"], line

    # alice answers her self-review: a score by the prompt card's button and a form, the rest typed in Chinese
    (prompt,) = [m for m in cards(dt, ALICE) if "self-review is open until Dec 7, 2026" in m["text"]]
    assert "Contract value signed: CN¥800,000.00" in prompt["text"] and "Visits: 2" in prompt["text"]
    score = next(i for label, i in render.card_buttons(prompt["card"]) if label.startswith("Score: performance"))
    dt.press(prompt["biz"], score, ALICE)
    assert "score" in cards(dt, ALICE)[-1]["text"].lower()                 # the form asks for the score,
    dt.say("85", ALICE, "alice")
    assert "/review self · Note" in cards(dt, ALICE)[-1]["text"]           # then for her comment
    dt.say("K1 签了 80 万", ALICE, "alice")
    assert "Self-score 85 recorded for performance" in unescaped(dt.said())
    for n in range(2, 6):
        dt.say(f'考核 自评 {n} 80 备注="按记录"', ALICE, "alice")
    assert "All indicators scored" in unescaped(dt.said())
    submit = next(i for label, i in render.card_buttons(prompt["card"]) if label == "Submit my self-review")
    dt.press(prompt["biz"], submit, ALICE)
    assert "Your 2026-11 self-review is submitted (self-assessed 82)" in unescaped(dt.said())
    advance(dt, clock, timedelta(minutes=10), step=timedelta(minutes=2))
    assert "alice submitted their 2026-11 self-review (self-assessed 82)" in sent(dt, MIKE)[-1]["text"]
    with dt.app.uow() as uow:
        alice = uow.session.scalar(select(Member).where(Member.name == "alice"))
        review = uow.session.scalar(select(Review).where(Review.member_id == alice.id))
        assert (review.period, review.status, review.self_total) == ("2026-11", "scoring", Decimal("82.0"))
