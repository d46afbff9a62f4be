"""`bizbot console --as NAME` on a deployment's database acts inside the department that has that member."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.cli import run
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import func, select

from domain.store.models import Customer, Organisation, OutboxMessage

ALICE, OTHER_ALICE = 111, 444
GROUP, OTHER_GROUP = -1001, -1002


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def in_group(text: str, user_id: int = ALICE, chat_id: int = GROUP) -> dict:
    return command_update(text=text, user_id=user_id, chat_id=chat_id, chat_type="group")


def departments(tg: TelegramStack) -> dict[int, str]:
    with tg.app.uow() as uow:
        return dict(uow.session.execute(select(Organisation.id, Organisation.external_id)).all())


def test_console_as_a_member_acts_in_their_telegram_department(tg: TelegramStack, db_url: str) -> None:
    tg.post(in_group("/customer new Acme"))
    tg.post(in_group("/team add bob role=sales"))
    (org_id,) = departments(tg)
    result = run(["console", "--as", "alice"], stdin="/customer list\n/customer new Bolt\n:advance 1d\n",
                 env={"BIZBOT_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "Acme" in result.stdout and "Bolt" in result.stdout  # the department's customers, and a new one
    assert "cannot be moved" in result.stdout
    with tg.app.uow() as uow:
        assert set(uow.session.scalars(select(Customer.org_id))) == {org_id}  # no console department made
        assert set(departments(tg)) == {org_id}
        # what the console's commands queue is left for the server to send
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == "sent")) == 0


def test_a_member_of_several_departments_needs_department(tg: TelegramStack, db_url: str) -> None:
    tg.post(in_group("/customer new Acme"))
    tg.post(in_group("/customer new Zeta", user_id=OTHER_ALICE, chat_id=OTHER_GROUP))
    orgs = {external: org_id for org_id, external in departments(tg).items()}
    first, second = orgs[str(GROUP)], orgs[str(OTHER_GROUP)]
    env = {"BIZBOT_DATABASE_URL": db_url}
    refused = run(["console", "--as", "Alice"], stdin="/customer list\n", env=env)
    assert refused.returncode == 2 and "several departments" in refused.stderr and str(second) in refused.stderr
    chosen = run(["console", "--as", "Alice", "--department", str(second)], stdin="/customer list\n", env=env)
    assert chosen.returncode == 0, chosen.stderr
    assert "Zeta" in chosen.stdout and "Acme" not in chosen.stdout
    wrong = run(["console", "--as", "Alice", "--department", "999"], stdin="", env=env)
    assert wrong.returncode == 2 and "no department '999'" in wrong.stderr
    assert first != second


def test_without_such_a_member_the_console_opens_its_own_department(tg: TelegramStack, db_url: str) -> None:
    tg.post(in_group("/customer new Acme"))
    result = run(["console", "--as", "wang"], stdin="/customer list\n", env={"BIZBOT_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "Acme" not in result.stdout
    assert len(departments(tg)) == 2
