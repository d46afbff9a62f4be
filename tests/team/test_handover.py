"""Hand-overs: a customer's new owner takes what is open with it; a member who leaves (离职交接) hands
everything open to a successor, cannot act and is sent nothing, and keeps their history."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from domain.appraisals import reviews as appraisals
from domain.appraisals.reviews import period_of
from domain.store.models import (
    ActionItem,
    ApprovalRequest,
    AuditEntry,
    Callback,
    Complaint,
    ComplaintStep,
    Contract,
    Customer,
    DueItem,
    Lead,
    Member,
    Organisation,
    OutboxMessage,
    Review,
    Visit,
)
from domain.team.members import acting, actor_for, find_member, link_identity


def _to(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if f"→ @{name}:" in line]


def _member(app, name: str) -> Member:
    with app.uow() as uow:
        return uow.session.scalar(select(Member).where(Member.name == name))


@pytest.fixture
def dept(bot):
    """wang (admin, manager) ← 小李 (sales) ← 小王 (sales); 小赵 (sales) reports to wang; 小陈 is customer service."""
    bot("/team add 小李 role=sales supervisor=wang", "/team add 小王 role=sales supervisor=小李",
        "/team add 小赵 role=sales supervisor=wang lang=zh", "/team add 小陈 role=service")
    return bot


def test_a_new_owner_takes_the_customers_open_work_and_both_are_told(dept, app) -> None:
    bot = dept
    bot(":as 小李", "/customer new 华为 level=key birthday=1990-11-24",            # C1, its regular callback CB1
        '/visit 华为 note="pricing" next=2026-11-26',                             # CB2 on the 26th
        '/lead new 华为 value=20万 next=2026-11-25 step="send the quote"',         # L1, reminded on the 25th
        "/lead new 华为", "/lead stage L2 lost reason=budget")                     # L2: closed, stays his
    bot(":as wang", '/complaint new 华为 severity=low what="late invoice" wants="a new invoice"',   # Q1: 小李's
        '/complaint new 华为 severity=low what="rude driver" wants="an apology" assignee=小陈')      # Q2: service's
    out = bot("/customer set 华为 owner=小赵")
    assert "Customer 华为 (C1) updated. 小赵 owns it now, with what was open: L1, CB1, CB2, Q1." in out
    with app.uow() as uow:
        zhao, li, chen = (_member(app, name).id for name in ("小赵", "小李", "小陈"))
        assert uow.session.get(Customer, 1).owner_id == zhao
        assert [(lead.number, lead.owner_id) for lead in uow.session.scalars(select(Lead).order_by(Lead.id))] == [
            (1, zhao), (2, li)]                                                   # a closed lead stays with its owner
        assert {cb.owner_id for cb in uow.session.scalars(select(Callback))} == {zhao}
        assert [c.assignee_id for c in uow.session.scalars(select(Complaint).order_by(Complaint.id))] == [zhao, chen]
        step = uow.session.scalar(select(ComplaintStep).where(ComplaintStep.complaint_id == 1)
                                  .order_by(ComplaintStep.id.desc()).limit(1))
        assert (step.kind, step.target_id) == ("assign", zhao)                   # on Q1's timeline
        audit = uow.session.scalar(select(AuditEntry).where(AuditEntry.entity_ref == "C1")
                                   .order_by(AuditEntry.id.desc()).limit(1))
        assert "owner=小赵" in audit.detail and "L1" in audit.detail
    assert _to(out, "小赵") == ["[2026-11-23 10:00] → @小赵: wang把客户华为（C1）交给你负责，此前由小李负责。"
                                "未完成的事项随之转给你：L1, CB1, CB2, Q1。"]     # each in their own language
    assert _to(out, "小李") == ["[2026-11-23 10:00] → @小李: wang made 小赵 the owner of customer 华为 (C1); its open "
                                "leads, callbacks and care reminders go to 小赵 now."]
    later = bot(":advance 3d")                                                     # the 24th, 25th and 26th
    assert not _to(later, "小李")                                                 # reminded of nothing he cannot open
    zhao_lines = "\n".join(_to(later, "小赵"))
    assert "华为" in zhao_lines and "L1" in zhao_lines and "CB2" in zhao_lines     # birthday, next step, callback
    assert "No customer matches '华为'" in bot(":as 小李", "/customer show 华为")
    assert "already owns" in bot(":as wang", "/customer set 华为 owner=小赵")


def test_a_member_who_left_gets_no_new_work(dept, app) -> None:
    bot = dept
    bot("/customer new Acme", "/team leave 小王 to=小李")
    assert "小王 has left the department." in bot("/customer set Acme owner=小王")
    assert "小王 has left the department." in bot("/lead new Acme owner=小王")
    assert "小王 has left the department." in bot("/team add 小孙 role=sales supervisor=小王")
    assert "has already left" in bot("/team leave 小王 to=小赵")
    assert "cannot take over their own work" in bot("/team leave 小赵 to=小赵")
    assert "another admin or manager" in bot("/team leave wang to=小赵")
    assert "只有" in bot(":as 小赵", "/team leave 小李 to=小赵")                      # 小赵 reads Chinese
    with app.uow() as uow:
        assert uow.session.get(Customer, 1).owner_id == _member(app, "wang").id


def test_offboarding_hands_every_open_item_to_the_successor(dept, app) -> None:
    bot = dept
    bot(":as 小李", "/customer new 华为", '/lead new 华为 next=2026-11-27 step="demo"',  # C1 CB1 L1
        '/visit 华为 note="first talk"',                                                  # V1: his, stays his
        "/customer new 中兴", "/callback done CB2 result=fine")                          # C2, CB2 done, CB3 next
    bot(":as 小赵", "/customer new 小米")
    bot(":as wang", "/lead new 小米 owner=小李",                                           # L2: 小李's, on 小赵's C3
        '/complaint new 华为 severity=low what="late" wants="on time" assignee=小李',   # Q1
        '/action 小李 "call 华为 back" due=2026-11-30')                                              # A1 (action)
    bot(":as 小王", "/leave from=2026-12-07 to=2026-12-08 reason=family handover=小赵")            # A1 (approval)
    with app.uow() as uow:
        assert uow.session.get(ApprovalRequest, 1).chain[0]["approver_id"] == _member(app, "小李").id
        link_identity(uow, actor_for(uow, find_member(uow, 1, "wang")), "小李", "telegram", "tg", "42")
        assert acting(uow, "telegram", "42") is not None
        appraisals.open_period(uow, uow.session.get(Organisation, 1), period_of("monthly", date(2026, 11, 1)))
        uow.commit()
        wang_review = uow.session.scalar(select(Review.number).join(Member, Member.id == Review.member_id)
                                         .where(Member.name == "小王"))
        waiting = uow.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.recipient_id == _member(app, "小李").id, OutboxMessage.status == "pending"))
    assert waiting                                                                 # his self-review ask, not yet sent
    out = bot(":as wang", "/team leave 小李 交接人=小赵")
    assert "小李 left the department" in out and "小赵 took over what was open" in out
    for expected in ("小王", "华为 (C1)", "中兴 (C2)", "L1", "L2", "CB1", "CB3", "Q1", "A1", f"R{wang_review}"):
        assert expected in out, expected
    with app.uow() as uow:
        li, zhao = _member(app, "小李"), _member(app, "小赵")
        assert not li.active and li.successor_id == zhao.id and li.left_at is not None
        assert {c.owner_id for c in uow.session.scalars(select(Customer).where(Customer.number.in_((1, 2))))} == {
            zhao.id}
        assert {lead.owner_id for lead in uow.session.scalars(select(Lead))} == {zhao.id}
        assert {cb.owner_id for cb in uow.session.scalars(select(Callback).where(Callback.status == "open"))} == {
            zhao.id}
        assert uow.session.scalar(select(Callback).where(Callback.status == "done")).owner_id == li.id  # history
        assert uow.session.get(Visit, 1).member_id == li.id
        assert uow.session.get(Complaint, 1).assignee_id == zhao.id
        assert uow.session.scalar(select(ActionItem)).owner_id == zhao.id
        assert uow.session.get(ApprovalRequest, 1).chain[0]["approver_id"] == zhao.id   # the supervisor step
        assert _member(app, "小王").supervisor_id == zhao.id                           # the team, and its reviews
        assert uow.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.recipient_id == li.id, OutboxMessage.status == "pending")) == 0
        audit = uow.session.scalar(select(AuditEntry).where(AuditEntry.entity == "member",
                                                            AuditEntry.entity_ref == "小李")
                                   .order_by(AuditEntry.id.desc()).limit(1))
        assert audit.detail.startswith("left successor=小赵") and "Q1" in audit.detail
        assert acting(uow, "telegram", "42") is None                                  # no platform acts for him
    told = out[out.rindex("→ @小赵:"):]                                               # in 小赵's language
    assert "wang记录了小李已离职。以下未完成的事项由你接手：\n原下属：小王\n客户：华为 (C1), 中兴 (C2)\n" in told
    assert any(line.startswith("[2026-11-23 10:00] → @小赵: A1 · 小王") for line in _to(out, "小赵"))  # asked at once
    assert "A1" in bot(":as 小赵", "/approvals")                                      # the step waits for 小赵
    assert "has left the department and can no longer act" in bot(":as 小李", "/customer list")
    assert "小李 — left Nov 23, 2026, successor 小赵" in bot(":as wang", "/team list")
    later = bot(":advance 7d")
    assert not _to(later, "小李")                                                     # sent nothing
    assert any("L1" in line for line in _to(later, "小赵"))                            # the lead's next step
    with app.uow() as uow:
        assert uow.session.scalar(select(DueItem).where(DueItem.kind == "lead_step")).state == "fired"


def test_offboarding_hands_unsigned_contracts_and_open_requests_to_the_successor(dept, app) -> None:
    bot = dept
    bot(":as 小李", "/customer new 华为", '/contract new 华为 title="试点" amount=1000',   # K1, a draft
        '/expense travel amount=300 note="taxi"')                                         # A1, pending with wang
    out = bot(":as wang", "/team leave 小李 交接人=小赵")
    assert "K1" in out and "A1" in out
    with app.uow() as uow:
        zhao = _member(app, "小赵")
        assert uow.session.scalar(select(Contract.owner_id).where(Contract.number == 1)) == zhao.id
        assert uow.session.scalar(select(ApprovalRequest.requester_id).where(ApprovalRequest.number == 1)) == zhao.id
        details = set(uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.detail.like("%小李 left%"))))
        assert {"owner 小李 -> 小赵: 小李 left", "requester 小李 -> 小赵: 小李 left"} <= details
    out = bot(":as 小赵", "/contract show K1")
    assert "试点" in out


def test_a_name_held_by_a_member_who_left_is_free_for_whoever_joins(dept, app) -> None:
    bot = dept
    bot(":as 小王", "/customer new Acme")
    bot(":as wang", "/team leave 小王 to=小李")
    assert "小王 joined as sales" in bot("/team add 小王 role=sales")                   # back, or another 小王
    assert "There is already a member named 小王" in bot("/team add 小王 role=sales")    # the new one is active
    with app.uow() as uow:
        both = list(uow.session.scalars(select(Member).where(Member.name == "小王").order_by(Member.id)))
        assert [m.left_at is not None for m in both] == [True, False]
        assert find_member(uow, 1, "小王").id == both[1].id                             # the name finds the new one
        assert uow.session.get(Customer, 1).owner_id == _member(app, "小李").id        # what was handed over stays
    assert "Acme" not in bot(":as 小王", "/customer list")
