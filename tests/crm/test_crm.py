"""Customers, leads, screening, visits and the archive — and who may see them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.store.models import AuditEntry, Callback, Customer, Lead, StageChange, Visit


@pytest.fixture
def team(bot):
    """wang (manager) ← alice (sales supervisor) ← bob (sales); carol (sales) reports to wang."""
    bot("/team add alice role=sales", "/team add bob role=sales supervisor=alice",
        "/team add carol role=sales supervisor=wang")
    return bot


def _count(app, model) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_customer_lead_visit_flow(team, app) -> None:
    bot = team
    bot(":as bob")
    assert "Customer Acme (C1) created" in bot("/customer new Acme industry=IT level=key phone=+86-10-1234567")
    assert "Lead L1 recorded at market research, value CN¥200,000.00." in bot(
        "/lead new Acme value=20万 source=展会 contact=\"Mr Li\"")
    out = bot("/lead screen L1 scale=4 position=3 potential=5 intent=4")
    assert "L1 scored 16/20" in out and "key account" in out
    # the four screening criteria as the procedure names them (客户规模、行业地位、发展潜力、合作意向)
    assert "L1 scored 15/20" in bot("/lead screen L1 客户规模=4 行业地位=3 发展潜力=4 合作意向=4")
    assert "L1 scored 14/20" in bot("/lead screen L1 规模=4 地位=3 潜力=4 意向=3")
    assert "moved from screening to first contact" in bot("/lead stage L1 contact")
    assert "moved from first contact to negotiation" in bot("/lead stage Acme 商务洽谈")
    out = bot('/visit Acme channel=phone note="discussed pricing" next=2026-12-01')
    assert "Visit V1 to Acme recorded (phone). Callback CB2 scheduled for Dec 1, 2026." in out
    archive = bot("/customer show C1")
    assert "Owner: bob" in archive and "L1 · Acme · negotiation" in archive
    assert "V1 · Nov 23, 2026 · phone · bob · discussed pricing" in archive
    assert archive.index("CB1") < archive.index("CB2")  # newest due date first: CB1 is the 30-day cadence one
    with app.uow() as uow:
        lead = uow.session.get(Lead, 1)
        assert lead.stage == "negotiation" and lead.next_date.isoformat() == "2026-12-01"
        assert uow.session.get(Visit, 1).lead_id == 1
        assert [s.to_stage for s in uow.session.scalars(select(StageChange).order_by(StageChange.id))] == [
            "research", "screening", "contact", "negotiation"]
    assert "moved from negotiation to won" in bot("/lead stage L1 won")
    assert "is closed" in bot("/lead stage L1 lost reason=x")
    assert "Lead L2 recorded" in bot("/lead new Acme 金额=一百万 来源=老客户介绍")  # 老客户介绍: a customer referral
    with app.uow() as uow:
        assert (uow.session.get(Lead, 2).source, uow.session.get(Lead, 2).value) == ("referral", 1_000_000)


def test_a_visit_goes_to_the_customers_one_open_lead(team, app) -> None:
    """Without lead=, a visit is linked to the customer's open lead when it has exactly one; with two open
    leads, to none; closed leads do not count; lead= names one."""
    bot = team
    bot(":as bob", "/customer new Acme", '/visit Acme note="first"')         # V1: no lead yet
    bot("/lead new Acme", '/visit Acme note="one open"')                      # V2: L1
    bot("/lead new Acme", '/visit Acme note="two open"')                      # V3: none
    bot('/visit Acme note="named" lead=L2')                                   # V4: L2
    bot("/lead stage L1 lost reason=budget", '/visit Acme note="one open again"')  # V5: L2
    with app.uow() as uow:
        assert [uow.session.get(Visit, i).lead_id for i in range(1, 6)] == [None, 1, None, 2, 2]


def test_stage_rules(team) -> None:
    bot = team
    bot("/customer new Acme", "/lead new Acme")
    assert "won from negotiation or follow-up" in bot("/lead stage L1 won")
    assert "needs a reason" in bot("/lead stage L1 lost")
    assert "already at market research" in bot("/lead stage L1 research")
    bot("/lead stage L1 proposal")
    assert "needs a reason" in bot("/lead stage L1 needs")
    assert "moved from proposal to needs discussion" in bot('/lead stage L1 needs reason="scope changed"')
    assert "Unknown stage 'flying'" in bot("/lead stage L1 flying")
    assert "cannot start as won" in bot("/lead new Acme stage=won")


@pytest.mark.fast
def test_stages_in_the_words_chinese_sales_teams_use() -> None:
    from domain.kernel.vocab import STAGES

    for word in ("签约", "成交", "赢单", "签单", "中标"):
        assert STAGES.parse(word) == "won", word
    for word in ("流失", "丢单", "输单", "未成交"):
        assert STAGES.parse(word) == "lost", word
    assert STAGES.parse("谈判") == STAGES.parse("洽谈") == "negotiation"


def test_references_names_and_ambiguity(team) -> None:
    bot = team
    bot("/customer new Acme Beijing", "/customer new Acme Shanghai", "/customer new 华为技术")
    assert "matches several customers" in bot("/customer show Acme")
    assert "Acme Beijing (C1)" in bot("/customer show beijing")
    assert "华为技术 (C3)" in bot("/customer show 华为")
    assert "No customer matches 'Nokia'" in bot("/customer show Nokia")
    assert "No customer C99" in bot("/customer show C99")
    assert "already exists (C1, owner wang)" in bot("/customer new acme  beijing")
    bot("/lead new C1", "/lead new C1")
    assert "several open leads: L1, L2" in bot("/lead show Acme Beijing")
    assert "has no open lead" in bot("/lead show Acme Shanghai")
    assert "No lead L9" in bot("/lead show L9")


def test_sales_sees_own_supervisor_team_manager_all(team) -> None:
    bot = team
    bot(":as bob", "/customer new BobCo", "/lead new BobCo value=100")
    bot(":as carol", "/customer new CarolCo", "/lead new CarolCo value=100")
    bot(":as alice", "/customer new AliceCo")
    # bob sees only his own
    bot(":as bob")
    # what bob may not see is not found, as if it did not exist: no reference given away
    assert bot("/customer show CarolCo") == bot("/customer show NoSuchCo").replace("NoSuchCo", "CarolCo")
    assert "C2" not in bot("/customer show CarolCo")
    assert bot("/lead show L2") == bot("/lead show L9").replace("L9", "L2")
    assert "Customers (1)" in bot("/customer list")
    assert "Only managers see the whole department" in bot("/lead list all")
    assert "No customer matches 'CarolCo'" in bot('/visit CarolCo note="hi"')
    # alice (bob's supervisor) sees bob's and her own, not carol's
    bot(":as alice")
    out = bot("/customer list")
    assert "BobCo" in out and "AliceCo" in out and "CarolCo" not in out
    assert "BobCo" in bot("/lead list team")
    assert "No customer C2." in bot("/customer show C2")
    # wang (manager) sees the department
    bot(":as wang")
    assert "Customers (3)" in bot("/customer list")
    out = bot("/lead list all")
    assert "BobCo" in out and "CarolCo" in out
    assert "None of your own. /lead list all shows the department's leads." in bot("/lead list")
    assert "None of your own" not in bot(":as alice", "/lead list")    # not department-wide: just none


def test_archive_has_the_customers_contracts_and_complaints_newest_first(bot, clock) -> None:
    """The archive holds all leads, visits, contracts, complaints and callbacks, newest first."""
    from datetime import timedelta

    bot("/customer new Acme", "/customer new Other", '/contract new Acme title="Pilot" amount=1000')
    clock.advance(timedelta(days=1))
    bot('/contract new Acme title="Rollout" amount=50000 currency=USD',
        '/contract new Other title="Elsewhere" amount=1',
        '/complaint new Acme severity=high what="late delivery" wants="this week"')
    archive = bot("/customer show Acme").replace("\u202f", " ")
    sections = [line for line in archive.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert sections == ["Leads:", "Visits:", "Contracts:", "Complaints:", "Callbacks:"]
    assert archive.index("K2 · Nov 24, 2026 · Rollout · $50,000.00 · draft · wang") < archive.index(
        "K1 · Nov 23, 2026 · Pilot · CN¥1,000.00 · draft")
    assert "Q1 · Nov 24, 2026 · high severity · in progress · late delivery" in archive
    assert "Elsewhere" not in archive
    assert "合同:\n  • K2 · 2026年11月24日 · Rollout" in bot("/settings lang zh", "/customer show Acme")


def test_visit_finds_its_customer_by_reference_exact_name_or_unique_part(team, app) -> None:
    bot = team
    bot(":as bob", "/customer new Acme Trading", "/customer new Acme Foods", "/customer new Zenith")
    assert "Visit V1 to Acme Trading recorded" in bot('/visit C1 note="a"')
    assert "Visit V2 to Zenith recorded" in bot('/visit zen note="b"')
    assert "Visit V3 to Acme Foods recorded" in bot('/visit "acme foods" note="c"')
    assert "matches several customers" in bot('/visit acme note="d"')
    assert "No customer C99" in bot('/visit C99 note="e"')
    bot(":as carol", "/customer new CarolCo", ":as bob")
    assert bot('/visit C4 note="f"') == bot('/visit C99 note="f"').replace("C99", "C4")
    assert "No customer matches 'Carol'" in bot('/visit Carol note="g"')  # not among what bob sees
    assert _count(app, Visit) == 3


def test_lead_list_keeps_closed_leads_for_a_month(bot, clock) -> None:
    """Open leads always; a won or lost lead for 30 days after it closed; a stage filter shows all."""
    from datetime import timedelta

    bot("/customer new OldWin", "/customer new NewLoss", "/customer new Open",
        "/lead new OldWin stage=negotiation", "/lead new NewLoss", "/lead new Open")
    bot("/lead stage L1 won")
    clock.advance(timedelta(days=31))
    bot('/lead stage L2 lost reason="no budget"')
    out = bot("/lead list")
    assert "Leads (2)" in out and "NewLoss" in out and "Open" in out and "OldWin" not in out
    assert "OldWin" in bot("/lead list stage=won")
    clock.advance(timedelta(days=31))
    out = bot("/lead list all")
    assert "Leads (1)" in out and "Open" in out


def test_reads_and_changes_are_audited(team, app) -> None:
    bot = team
    bot("/customer new Acme", "/customer show Acme", ":as bob", "/customer show Acme")
    with app.uow() as uow:
        rows = [(a.action, a.entity, a.entity_ref) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "customer").order_by(AuditEntry.id))]
    assert rows[:2] == [("create", "customer", "C1"), ("read", "customer", "C1")]
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "denied")) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/lead new", "Missing CUSTOMER"),
        ("/lead new Acme value=lots", "Cannot read 'lots' as an amount"),
        ("/lead new Acme value=-5", "must be between 0"),
        ("/lead new Acme currency=XYZ", "Unknown currency 'XYZ'"),
        ("/lead new Acme source=pigeon", "Unknown source 'pigeon'"),
        ("/lead new Nobody", "No customer matches 'Nobody'"),
        ("/lead new Acme next=someday", "Cannot read 'someday' as a date"),
        ("/lead screen L1 scale=9 position=3 potential=5 intent=4", "Scores run from 1 to 5"),
        ("/lead screen L1 scale=3", "Missing position="),
        ("/lead list everything", "Unknown scope 'everything'"),
        ('/visit Acme note="x" next=2020-01-01', "which has passed"),
        ("/lead new Acme next=昨天", "which has passed"),
        ("/visit Acme", "Say what happened"),
        ("/visit Acme note=x channel=telepathy", "Unknown channel 'telepathy'"),
        ("/customer new Beta cadence=forever", "as a number of days"),
        ("/customer new Beta email=nope", "is not an e-mail address"),
        ("/customer new Beta credit=Z", "Unknown credit rating 'Z'"),
        ("/callback done CB99 result=x", "No callback CB99"),
        ("/callback done CB1", "Missing result="),
        ('/visit Acme note="unclosed', "quote is not closed"),
        ("/lead show L1 extra words", "No customer matches"),
        ("/lead stage L1 won now", "Unexpected 'now'"),
    ],
)
def test_bad_input_answers_clearly_and_writes_nothing(team, app, line: str, expected: str) -> None:
    bot = team
    bot("/customer new Acme", "/lead new Acme")
    before = [_count(app, m) for m in (Customer, Lead, Visit, Callback, StageChange)]
    out = bot(line)
    assert out.startswith("⚠") and expected in out, out
    assert [_count(app, m) for m in (Customer, Lead, Visit, Callback, StageChange)] == before
