"""Who may open a department: by default only the operator's people (BIZBOT_ADMINS) or whoever holds a code from
`bizbot enrol`; a further group joins an existing department through its admin. A stranger is told so once, and
nothing is stored for them. Through the real adapters, with Telegram and Slack faked at the HTTP edge."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_stack import SlackStack, text_of
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update, my_chat_member_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.settings import Settings
from domain.kernel.clock import FakeClock
from domain.store.models import (
    AuditEntry,
    Customer,
    Dialog,
    EnrolmentCode,
    Identity,
    Invite,
    Member,
    Organisation,
    OrganisationLink,
)
from domain.team.members import create_department_code

ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB, CAROL, EVE = 111, 222, 333, 666
SECOND, THIRD, FOURTH = -4000000002, -4000000003, -4000000004
STORED = (Organisation, Member, Identity, AuditEntry, Customer, Dialog, Invite, OrganisationLink)
STRANGER_EN = "not a bizbot department"


def count(stack, model) -> int:
    with stack.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def rows(stack) -> dict[str, int]:
    """How many rows of everything a person could leave behind (inbound-event ids are kept for every update)."""
    return {model.__name__: count(stack, model) for model in STORED}


def in_group(text: str, chat_id: int = GROUP_ID, user_id: int = ALICE, first_name: str = "Alice",
             language_code: str = "en") -> dict:
    return command_update(text=text, user_id=user_id, chat_id=chat_id, chat_type="group", first_name=first_name,
                          language_code=language_code)


def bizbot_enrol(db_url: str, *args: str) -> str:
    """Run `bizbot enrol` as the operator would; the code it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZBOT_")}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "enrol", *args], capture_output=True, text=True,
                            env={**env, "BIZBOT_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return re.search(r"enrolment code: (\S+)", result.stdout).group(1)


# --- Telegram -----------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def tg(db_url: str, clock: FakeClock, fake: FakeTelegram) -> Iterator[TelegramStack]:
    """The default: enrolment closed; Alice is named in BIZBOT_ADMINS."""
    stack = TelegramStack(db_url, clock, fake, open_enrolment=False, admins=f"telegram:{ALICE}")
    yield stack
    stack.close()


def test_telegram_stranger_in_a_second_group_is_told_once_and_nothing_is_stored(
        tg: TelegramStack, clock: FakeClock) -> None:
    tg.post(in_group("/customer new Acme"))
    assert "first member" in tg.last(GROUP_ID)["text"]  # the operator's admin opened the first department
    before = rows(tg)

    tg.post(my_chat_member_update(chat_id=SECOND, chat_type="group", user_id=EVE, first_name="Eve"))
    tg.post(in_group("/customer new Evil", SECOND, EVE, "Eve"))
    tg.post(in_group("/help", SECOND, EVE, "Eve"))
    tg.post(in_group("/team list", SECOND, EVE, "Eve"))
    said = tg.said(SECOND)
    assert len(said) == 1 and STRANGER_EN in said[0] and "/enrol CODE" in said[0]
    assert rows(tg) == before

    clock.advance(timedelta(hours=2))  # after a while the stranger may be told again, still storing nothing
    tg.post(in_group("/customer new Evil", SECOND, EVE, "Eve"))
    assert len(tg.said(SECOND)) == 2 and rows(tg) == before
    tg.post(in_group("/customer list"))
    assert "Customers (1)" in tg.last(ALICE)["text"]  # a list goes to the private chat


def test_telegram_stranger_is_told_in_their_own_language(tg: TelegramStack) -> None:
    tg.post(in_group("/visit Acme", SECOND, EVE, "Eve", language_code="zh-hans"))
    (said,) = tg.said(SECOND)
    assert "/登记 代码" in said and not re.search(r"[A-Za-z]{3,}", said.replace("bizbot", "").replace("enrol", ""))
    assert count(tg, Organisation) == 0 and count(tg, Member) == 0


def test_bizbot_enrol_code_opens_the_first_department_once(db_url: str, fake: FakeTelegram) -> None:
    clock = FakeClock(datetime.now(UTC))  # the command's code is dated by the real clock
    code = bizbot_enrol(db_url)
    expiring = bizbot_enrol(db_url, "--hours", "1")
    stack = TelegramStack(db_url, clock, fake, open_enrolment=False)
    try:
        with stack.app.uow() as uow:  # only the codes' hashes are kept
            assert code not in {c.code_hash for c in uow.session.scalars(select(EnrolmentCode))}
        stack.post(in_group("/customer new Acme"))
        assert STRANGER_EN in stack.last(GROUP_ID)["text"] and count(stack, Organisation) == 0

        stack.post(in_group(f"/enrol {code.lower()}"))
        assert "now a bizbot department" in stack.last(GROUP_ID)["text"]
        stack.post(in_group("/customer new Acme"))
        assert "Customer Acme (C1) created" in stack.last(GROUP_ID)["text"]
        with stack.app.uow() as uow:
            assert [(m.name, m.roles) for m in uow.session.scalars(select(Member))] == [("Alice", "admin,manager")]

        before = rows(stack)
        stack.post(in_group(f"/enrol {code}", SECOND, BOB, "Bob"))  # used: refused, nothing new
        assert "unknown, used or expired" in stack.last(SECOND)["text"]
        clock.advance(timedelta(hours=2))
        stack.post(in_group(f"/start {expiring}", SECOND, BOB, "Bob"))  # the startgroup link's form; expired
        assert "unknown, used or expired" in stack.last(SECOND)["text"]
        assert rows(stack) == before
    finally:
        stack.close()


def test_a_group_joins_the_department_by_its_admin_or_with_an_admins_code(tg: TelegramStack) -> None:
    tg.post(in_group("/customer new Acme"))
    tg.post(in_group("/team add bob role=sales"))

    tg.post(my_chat_member_update(chat_id=SECOND, chat_type="group", user_id=ALICE))
    assert "send /enrol here" in tg.last(SECOND)["text"]
    tg.post(in_group("/customer list", SECOND))
    assert "not part of your department" in tg.last(SECOND)["text"]
    tg.post(in_group("/enrol", SECOND))
    assert "now belongs to the department" in tg.last(SECOND)["text"]
    tg.post(in_group("/customer list", SECOND))
    assert "Acme" in tg.last(ALICE)["text"]  # the same department, seen from the second group

    tg.post(in_group("/team invite-group"))
    code = re.search(r"send /enrol (\S+) there", tg.last(ALICE)["text"]).group(1)
    tg.post(in_group(f"/enrol {code}", THIRD, CAROL, "Carol"))  # Carol is nobody yet: the group joins all the same
    assert "ask one of its admins for an invite code" in tg.last(THIRD)["text"]
    tg.post(in_group(f"/enrol {code}", FOURTH, CAROL, "Carol"))
    assert "unknown, used or expired" in tg.last(FOURTH)["text"]
    tg.post(in_group("/customer new Ours", THIRD))
    assert "Customer Ours (C2) created" in tg.last(THIRD)["text"]
    with tg.app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Organisation)) == 1
        assert sorted(int(link.external_id) for link in uow.session.scalars(select(OrganisationLink))) == [
            THIRD, SECOND]
        assert uow.session.scalar(select(func.count()).select_from(Member)) == 2


def test_only_an_admin_joins_a_group_and_a_stranger_cannot_use_an_admins_command(tg: TelegramStack) -> None:
    tg.post(in_group("/customer new Acme"))
    before = rows(tg)
    tg.post(in_group("/enrol", SECOND, EVE, "Eve"))
    tg.post(in_group("/enrol", SECOND, EVE, "Eve"))
    assert len(tg.said(SECOND)) == 1 and STRANGER_EN in tg.said(SECOND)[0]
    for attempt in range(8):  # guessed codes: a few answers, then silence; nothing stored
        tg.post(in_group(f"/enrol WRONG-{attempt}", SECOND, EVE, "Eve"))
    assert 2 <= len(tg.said(SECOND)) <= 6
    assert rows(tg) == before


def test_open_enrolment_restores_the_old_behaviour(db_url: str, clock: FakeClock, fake: FakeTelegram) -> None:
    stack = TelegramStack(db_url, clock, fake, open_enrolment=True)
    try:
        stack.post(my_chat_member_update(chat_id=SECOND, chat_type="group", user_id=EVE, first_name="Eve"))
        assert "first person here to use a command becomes" in stack.last(SECOND)["text"]
        stack.post(in_group("/customer new Acme", SECOND, EVE, "Eve"))
        assert "first member" in stack.last(SECOND)["text"]
        stack.post(in_group("/customer new Other"))
        assert "first member" in stack.last(GROUP_ID)["text"]
        assert count(stack, Organisation) == 2
    finally:
        stack.close()


# --- Slack --------------------------------------------------------------------------------------------------


@pytest.fixture
def slack_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        server.users["U9"] = {"real_name": "Eve", "locale": "zh-CN"}
        server.users["U8"] = {"real_name": "Mallory", "locale": "en-US"}
        yield server


@pytest.fixture
def slack(db_url: str, clock: FakeClock, slack_fake: FakeSlack) -> Iterator[SlackStack]:
    stack = SlackStack(db_url, clock, slack_fake, open_enrolment=False, admins="slack:U1")
    yield stack
    stack.close()


def test_slack_stranger_workspace_is_refused_and_nothing_is_stored(slack: SlackStack) -> None:
    assert "first member" in text_of(slack.say("/customer", "new Acme"))
    before = rows(slack)
    for text in ("new Evil", "list"):
        message = slack.say("/customer", text, team_id="T2", user_id="U8")
        assert STRANGER_EN in message["text"] and message["response_type"] == "ephemeral"
    message = slack.say("/enrol", "NOT-A-CODE", team_id="T2", user_id="U8")
    assert "unknown, used or expired" in message["text"]
    assert rows(slack) == before


def test_slack_department_code_opens_a_workspace_and_a_group_code_does_not(slack: SlackStack) -> None:
    slack.say("/help")
    group_code = re.search(r"send /enrol (\S+) there", slack.say("/team", "invite-group")["text"]).group(1)
    before = rows(slack)
    message = slack.say("/enrol", group_code, team_id="T3", user_id="U8")
    assert "cannot be done here" in message["text"] and rows(slack) == before
    with slack.app.uow() as uow:
        code, _ = create_department_code(uow)

    message = slack.say("/enrol", code, team_id="T2", user_id="U9")
    assert "此会话现在是 bizbot 的一个部门" in message["text"]  # in Eve's Slack language
    assert "Acme（C1）" in slack.say("/customer", "new Acme", team_id="T2", user_id="U9")["text"]
    with slack.app.uow() as uow:
        org = uow.session.scalar(select(Organisation).where(Organisation.external_id == "T2"))
        (eve,) = uow.session.scalars(select(Member).where(Member.org_id == org.id))
    assert eve.roles == "admin,manager"
    assert "unknown, used or expired" in slack.say("/enrol", code, team_id="T4", user_id="U8")["text"]


def test_slack_open_enrolment_restores_the_old_behaviour(db_url: str, clock: FakeClock,
                                                         slack_fake: FakeSlack) -> None:
    stack = SlackStack(db_url, clock, slack_fake, open_enrolment=True)
    try:
        assert "first member" in text_of(stack.say("/customer", "new Acme", team_id="T2", user_id="U8"))
    finally:
        stack.close()


# --- the console --------------------------------------------------------------------------------------------


def test_the_console_still_opens_its_department_with_the_default_settings(db_url: str, clock: FakeClock) -> None:
    from conftest import ConsoleDriver

    assert Settings(database_url=db_url).open_enrolment is False
    app = bootstrap(Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai"), clock)
    try:
        bot = ConsoleDriver(app, clock)
        assert "Welcome, wang" in bot.out.getvalue()
        assert "Customer Acme (C1) created" in bot("/customer new Acme")
    finally:
        app.close()
