"""Risk (风险管理): levels on customers, leads and contracts shown as red/orange/yellow, the warning signal when
one is raised, the risk list, and bad input that changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.store.models import AuditEntry, Contract, Customer, Lead, OutboxMessage

TEAM = ("/team add sup role=sales", "/team add alice role=sales supervisor=sup", "/team add bob role=sales",
        "/team add dora role=deputy", "/team add lily role=legal")


def _told(out: str) -> list[str]:
    return sorted(line.split("→ @")[1].split(":")[0] for line in out.splitlines() if "Risk warning" in line)


def test_raising_warns_the_people_who_must_act_and_lowering_says_nothing(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme", "/lead new Acme value=50万")
    out = bot('/risk set L1 中 原因="a competitor quoted lower"')             # orange: the supervisor
    assert "Risk of lead Acme (L1): not assessed → 🟠 medium (orange)." in out and "Warned: sup." in out
    assert _told(out) == ["sup"]
    out = bot('/risk set Acme high reason="two invoices overdue"')            # red: supervisor and managers
    assert _told(out) == ["dora", "sup", "wang"]
    assert ("🔴 Risk warning — high (red): customer Acme (C1), owner alice. Why: two invoices overdue (set by alice)"
            in out)
    assert _told(bot(":as sup", '/risk set C1 high reason="three invoices overdue"')) == []  # same level: news only
    # raised by someone else: the owner is told too, the one who raised it is not
    assert _told(bot('/risk set L1 high reason="the budget was cut"')) == ["alice", "dora", "wang"]
    assert _told(bot("/risk set L1 low")) == []                              # lowering: no warning
    with app.uow() as uow:
        lead, customer = uow.session.get(Lead, 1), uow.session.get(Customer, 1)
        assert (lead.risk, lead.risk_note, customer.risk, customer.risk_note) == (
            "low", None, "high", "three invoices overdue")
        audited = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.entity.in_(("lead", "customer")),
                                                                      AuditEntry.action == "update")).all()
    assert "risk high -> low" in audited and "risk unassessed -> high: two invoices overdue" in audited


def test_levels_show_as_warnings_and_the_risk_list_follows_access(bot) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme", "/lead new Acme", '/risk set Acme 高 原因="overdue"',
        ":as bob", "/customer new Beta", "/lead new Beta", '/risk set L2 medium reason="slow to decide"',
        '/contract new Beta title="ERP" amount=100000 delivery=2027-01-15 term=2027-12-31',
        '/risk set K1 high reason="penalty clause"')
    assert "Risk: 🔴 high (red) — overdue" in bot(":as alice", "/customer show Acme")
    assert "🔴 C1 · Acme" in bot("/customer list")
    out = bot(":as bob", "/lead list")
    assert "🟠 L2 · Beta" in out
    assert "Risk: 🔴 high (red) — penalty clause" in bot("/contract show K1")
    assert "🔴 K1 · Beta · ERP" in bot("/contract list") and "🔴 K1" in bot("/customer show Beta")
    mine = bot("/risk list")                                                  # bob sees his own
    assert "Risk list (2)" in mine and "🔴 K1 · contract · Beta · ERP · high (red) · bob · penalty clause" in mine
    assert mine.index("K1") < mine.index("L2") and "C1" not in mine
    everyone = bot(":as wang", "/risk list")                                  # a manager sees the department
    assert "Risk list (3)" in everyone and everyone.index("C1") < everyone.index("K1") < everyone.index("L2")
    assert "Risk list (2)" in bot("/risk list 红")
    assert "风险清单（3）" in bot("/settings lang zh", "/risk list")
    assert "🔴 C1 · 客户 · Acme · 高（红）" in bot("/risk list")


def test_a_customer_set_or_created_orange_or_red_warns_too(bot) -> None:
    out = bot(*TEAM, ":as alice", "/customer new Acme risk=medium")
    assert _told(out) == ["sup"]
    assert _told(bot("/customer set Acme risk=high")) == ["dora", "sup", "wang"]
    assert _told(bot("/customer set Acme risk=low")) == []
    assert "Risk list (0)" in bot("/risk list")


def test_bad_input_answers_and_changes_nothing(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme", ":as bob", "/customer new Beta", ":as alice")

    def counts() -> tuple[int, ...]:
        with app.uow() as uow:
            return (uow.session.scalar(select(func.count()).select_from(OutboxMessage)),
                    uow.session.scalar(select(func.count()).where(Customer.risk != "low")))

    before = counts()
    cases = {
        "/risk set Acme high": 'Say why it is a risk: reason="...".',
        "/risk set Acme purple reason=x": "Unknown risk 'purple'. Choose one of: high (red), medium (orange), low "
                                          "(yellow), or unassessed (not assessed).",
        "/risk set Nobody high reason=x": "No customer matches 'Nobody'.",
        "/risk set L9 high reason=x": "No lead L9.",
        "/risk set K9 high reason=x": "No contract K9.",
        "/risk set Beta high reason=x": "No customer matches 'Beta'.",  # not hers to see: as if none
        "/risk set C2 high reason=x": "No customer C2.",
        "/risk set Acme 未评估": "C1 is already at not assessed.",
        f"/risk set Acme high reason={'x' * 501}": "The reason is too long (501 characters; at most 500).",
        "/risk set": "Missing",
        "/risk list purple": "Unknown scope 'purple'",
    }
    for line, answer in cases.items():
        out = bot(line)
        assert out.startswith("⚠") and answer in out, (line, out)
    assert counts() == before
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Contract)) == 0
