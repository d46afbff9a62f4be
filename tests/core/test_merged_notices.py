"""Notices to the same person that fall due together go as one message, whatever their kind: each notice is
rendered as it would have been, in the reader's language, numbered; idempotency keys still hold; urgent messages,
answers, tracked messages and files go on their own."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.delivery import Dispatcher, Outgoing
from domain.delivery.outbox import OutButton, enqueue, merge_due
from domain.kernel.i18n import N_
from domain.store.models import Member, OutboxMessage

CALLBACK = N_("Callback due {due}: {customer} ({reason}). When done: /callback done {ref} result=\"...\"")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.sent.append(message)


def _members(bot, app) -> dict[str, Member]:
    bot("/team add li role=sales", "/team add zhao role=sales lang=zh")
    with app.uow() as uow:
        return {m.name: m for m in uow.session.scalars(select(Member))}


def _notice(uow, member: Member, key: str, customer: str, urgent: bool = False) -> None:
    enqueue(uow, org_id=member.org_id, key=key, recipient_id=member.id, kind="callback", msgid=CALLBACK,
            params={"due": uow.now.date(), "customer": customer, "reason": "x", "ref": key},
            buttons=[OutButton(N_("Done"), f"/callback done {key}", decision=True)], urgent=urgent)


def test_notices_due_together_go_as_one_message_per_person(bot, app, clock) -> None:
    people = _members(bot, app)
    with app.uow() as uow:
        for i in range(12):
            _notice(uow, people["li"], f"CB{i + 1}", f"客户{i + 1}")
        _notice(uow, people["zhao"], "CB20", "华为")
        _notice(uow, people["zhao"], "CB21", "中兴")
        _notice(uow, people["wang"], "CB30", "Acme")                      # alone: sent as it is
        _notice(uow, people["li"], "CB40", "Urgent", urgent=True)         # urgent: never waits to be merged
        uow.commit()
    sender = Recorder()
    Dispatcher(app.services.uow, {"console": sender}).run_once()
    by = {}
    for message in sender.sent:
        by.setdefault(message.recipient.name, []).append(message)
    assert sorted((name, len(msgs)) for name, msgs in by.items()) == [("li", 2), ("wang", 1), ("zhao", 1)]
    (merged,) = [m for m in by["li"] if "Notices" in m.text]
    lines = merged.text.splitlines()
    assert lines[0] == "Notices (12):" and lines[1].startswith("1. Callback due") and "客户1 " in lines[1]
    assert lines[12].startswith("12. Callback due") and "客户12" in lines[12]
    assert [b.label for b in merged.buttons][:2] == ["1. Done", "2. Done"] and len(merged.buttons) == 10
    assert merged.buttons[0].command == "/callback done CB1"
    (urgent,) = [m for m in by["li"] if "Urgent" in m.text]
    assert not urgent.text.startswith("Notices")
    (zh,) = by["zhao"]
    assert zh.text.startswith("通知（2 条）：") and "华为" in zh.text and "Callback" not in zh.text
    assert not by["wang"][0].text.startswith("Notices")
    with app.uow() as uow:
        rows = {r.key: r for r in uow.session.scalars(select(OutboxMessage))}
    carrier = rows["merged:" + str(rows["CB1"].id)]
    assert carrier.status == "sent"
    assert all(rows[f"CB{i}"].status == "merged" and rows[f"CB{i}"].merged_into_id == carrier.id for i in range(1, 13))
    # the same notice written again (a sweep run twice) is still one notice: nothing more is sent
    with app.uow() as uow:
        _notice(uow, people["li"], "CB1", "客户1")
        _notice(uow, people["li"], "CB2", "客户2")
        uow.commit()
    clock.advance(timedelta(minutes=1))
    Dispatcher(app.services.uow, {"console": sender}).run_once()
    assert len(sender.sent) == 4


def test_merging_twice_changes_nothing_and_later_notices_merge_on_their_own(bot, app, clock) -> None:
    people = _members(bot, app)
    with app.uow() as uow:
        for i in range(3):
            _notice(uow, people["li"], f"A{i}", f"c{i}")
        uow.commit()
    with app.uow() as uow:
        assert merge_due(uow) == 1
        uow.commit()
    with app.uow() as uow:
        assert merge_due(uow) == 0                      # the merged message stands alone; the notices are merged
        uow.commit()
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(OutboxMessage.status == "pending")) == 1
    # held back by quiet hours, notices merge when they may go, not before
    clock.advance(timedelta(hours=11))                  # 21:00: quiet
    with app.uow() as uow:
        for i in range(2):
            _notice(uow, people["li"], f"B{i}", f"d{i}")
        uow.commit()
    with app.uow() as uow:
        assert merge_due(uow) == 0
    clock.advance(timedelta(hours=12))                  # 09:00 the next morning
    with app.uow() as uow:
        assert merge_due(uow) == 1
        uow.commit()


def test_the_appraisal_notices_a_manager_gets_at_once_are_one_message(bot, app) -> None:
    """Twelve members' reviews not scored by the deadline: their manager gets one message, not twelve."""
    bot("/remind mute calendar", *[f"/team add s{i} role=sales" for i in range(1, 13)])
    out = bot(":advance 18d")                           # past the 10 December deadline, to 11 December
    overdue = [line for line in out.splitlines() if "→ @wang:" in line and "Notices" in line]
    lines = out.splitlines()
    assert any("was not scored by" in lines[lines.index(line) + 1] for line in overdue), out
    assert not [line for line in lines if "→ @wang:" in line and "was not scored by" in line]
    block = out[out.index(next(line for line in overdue if "was not scored" in lines[lines.index(line) + 1])):]
    assert all(f"s{i}'s 2026-11 review was not scored" in block for i in range(1, 13))
