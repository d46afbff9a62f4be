"""A ¥800,000 contract signed in chat, carried to money in the bank: an order handed down to production,
purchasing, quality inspection and shipping (one step late and escalated), a failed and then passed acceptance,
two invoices and three payments (one 45 days overdue: in the ageing, escalated, the customer turned orange) —
every step visible in the contract, the ledger, the digest and the sales rep's figures."""
from __future__ import annotations

import pytest

TEAM = ("/team add hank role=head", "/team add mike role=manager supervisor=hank", "/team add lily role=legal",
        "/team add fay role=finance", "/team add sup role=sales supervisor=mike",
        "/team add alice role=sales supervisor=sup", "/team add carol role=service supervisor=mike",
        "/team add pete role=production", "/team add pam role=purchasing", "/team add quinn role=quality",
        "/team add lou role=logistics")


@pytest.fixture
def bot(bot):
    return lambda *lines: bot(*lines).replace("\u202f", " ")


def _to(out: str, who: str) -> list[str]:
    """What bizbot sent to `who` (each message with its following lines)."""
    messages, current = [], None
    for line in out.splitlines():
        if "] → @" in line:
            if current is not None:
                messages.append(current)
            current = line.split("] → ", 1)[1]
        elif current is not None and not line.startswith("Clock:"):
            current += "\n" + line
    if current is not None:
        messages.append(current)
    return [m for m in messages if m.startswith(f"@{who}:")]


def test_a_signed_contract_carried_to_money_in_the_bank(bot, app) -> None:
    bot(*TEAM, ":as alice", "/customer new Acme")
    # signed in chat: terms as milestones, the chain mike → lily → hank
    bot('/contract new Acme title="ERP rollout" amount=80万 delivery=2026-12-10',
        '/contract terms K1 "30% 签约, 60% 发货, 10% 验收后90天"', "/contract submit K1")
    for approver in ("mike", "lily", "hank"):
        bot(f":as {approver}", "/approve K1")
    assert "signed" in bot(":as alice", "/contract show K1")

    # the order, handed down; purchasing runs late and is escalated to the manager
    out = bot(":as carol", '/order new K1 items="ERP servers" qty=4台 delivery=2026-12-10')
    assert "Order O1 handed down from K1 for Acme" in out
    bot(":as pete", '/order done O1 note="built"')
    late = bot(":advance 3d")                                          # purchasing's two days have run out
    assert _to(late, "pam") and any("Late: step purchasing coordination" in m for m in _to(late, "pam"))
    escalated = bot(":advance 1d")
    assert any("Escalation: step purchasing coordination of order O1" in m
               for m in _to(escalated, "wang") + _to(escalated, "mike"))
    bot(":as pam", "/order done O1", ":as quinn", "/order done O1")
    bot(":as lou", "/order ship O1 carrier=SF tracking=SF778 date=2026-11-27")

    # acceptance: failed, rectified, passed
    bot(":as alice", '/order accept O1 failed note="one server dented" rectify="replace the server" owner=quinn '
        'due=2026-12-02')
    bot(":as quinn", '/order done O1 整改 note="replaced"')
    assert "The customer accepted O1." in bot(":as alice", "/order accept O1 passed")

    # two invoices through finance's approval, issued
    for n, amount in ((1, 240000), (2, 480000)):
        bot(":as alice", f"/invoice request K1 amount={amount}")
        bot(":as fay", f"/approve A{n + 1}")
        assert f"I{n}" in bot(f"/invoice issued I{n} number=0441{n} date=2026-11-27")

    # three payments: the signing share; part of the delivery share; the rest 45 days overdue
    bot(":as fay", "/payment K1 amount=240000 date=2026-11-24", "/payment K1 amount=300000 date=2026-11-27")
    out = bot(":advance 31d")      # the delivery share is 30 days overdue on Sunday 27 December: told on Monday
    assert any("Overdue payment escalated to you" in m for m in _to(out, "sup"))
    assert any("Risk indicator — receivables overdue" in m for m in _to(out, "sup"))
    bot(":advance 14d")                                                # 11 January: 45 days overdue
    ageing = bot(":as alice", "/receivables mine")
    assert "45 days overdue · CN¥180,000.00" in ageing and "31–60 days CN¥180,000.00" in ageing
    show = bot("/customer show Acme")
    assert "🟠" in show or "medium (orange)" in show
    bot(":as fay", "/payment K1 amount=180000")

    # every step visible: the contract, the ledger, the digest, the rep's figures
    view = bot(":as alice", "/contract show K1")
    assert "Delivered: 1 of 1 orders shipped" in view and "accepted: 1 of 1" in view
    assert "Invoiced: CN¥720,000.00" in view and "Collected: CN¥720,000.00" in view
    assert "Outstanding: CN¥80,000.00" in view
    ledger = bot("/contract ledger")
    assert "K1" in ledger and "Delivered on Nov 27, 2026" in ledger
    digest = bot(":as mike", "/digest")
    assert "Collected value" in digest and "Orders handed down" in digest
    figures = bot(":as alice", "/kpi alice 2027-01")
    assert "Collected value: CN¥180,000.00" in figures
