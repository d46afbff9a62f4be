"""A new record's risk is "not assessed" (未评估), not a yellow warning nobody gave; a level set when the record is
created can take its reason; the migration turns the low risks that were only the old default into "not assessed"."""
from __future__ import annotations

from sqlalchemy import select, text

from domain.store.engine import make_engine
from domain.store.models import Customer, Lead


def test_new_records_start_not_assessed_without_a_warning_colour(bot, app) -> None:
    bot("/customer new Acme", "/lead new Acme value=10万")
    archive = bot("/customer show C1")
    assert "Risk: not assessed" in archive and "🟡" not in archive
    assert "🟡" not in bot("/lead show L1") and "Risk: not assessed" in bot("/lead show L1")
    assert "Risk list (0)" in bot("/risk list")
    with app.uow() as uow:
        assert (uow.session.get(Customer, 1).risk, uow.session.get(Lead, 1).risk) == ("unassessed", "unassessed")
    assert "风险：未评估" in bot("/settings lang zh", "/customer show C1").replace(": ", "：")
    # assessed low, it shows as low
    out = bot("/settings lang en", "/risk set Acme low")
    assert "not assessed → 🟡 low (yellow)" in out


def test_a_level_set_when_creating_takes_its_reason(bot, app) -> None:
    bot("/team add sup role=sales", "/team add alice role=sales supervisor=sup", ":as alice")
    out = bot('/customer new Beta risk=high reason="owes its last supplier"')
    assert "Why: owes its last supplier (set by alice)" in out
    assert "🔴 high (red) — owes its last supplier" in bot("/customer show Beta")
    out = bot('/customer new Gamma 风险=中 原因="新客户，付款能力未知"')
    assert "Why: 新客户，付款能力未知" in out
    out = bot('/customer set Gamma risk=low reason="paid in advance"')
    assert "🟡 low (yellow) — paid in advance" in bot("/customer show Gamma")
    with app.uow() as uow:
        before = uow.session.scalar(select(Customer.risk_note).where(Customer.name == "Gamma"))
    out = bot('/customer set Gamma reason="no level"')
    assert out.startswith("⚠") and "A reason goes with a risk level" in out
    assert out.startswith("⚠") and "A reason goes with a risk level" in bot('/customer new Delta reason=x')
    with app.uow() as uow:
        assert uow.session.scalar(select(Customer.risk_note).where(Customer.name == "Gamma")) == before
        assert uow.session.scalar(select(Customer).where(Customer.name == "Delta")) is None


def test_the_migration_keeps_assessed_low_risks_and_clears_the_default_ones(db_url) -> None:
    """Run the 0016 data step on rows as 0015 left them: a low risk with a reason, or one the access log shows was
    set, stays low; a low risk that was only the default becomes not assessed."""
    from alembic import command

    from domain.store.engine import alembic_config

    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.downgrade(config, "0015")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, platform, external_id, name, timezone, locale, settings, "
                          "created_at) VALUES (1, 'console', 'x', 'x', 'Asia/Shanghai', 'en', '{}', "
                          "'2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO members (id, org_id, name, name_key, roles, active, created_at) VALUES "
                          "(1, 1, 'wang', 'wang', 'manager', true, '2026-01-01 00:00:00')"))
        for number, note in ((1, None), (2, "checked"), (3, None)):
            conn.execute(text("INSERT INTO customers (org_id, number, name, name_key, owner_id, level, risk, "
                              "risk_note, "
                              "created_at, updated_at) VALUES (1, :n, :name, :name, 1, 'regular', 'low', :note, "
                              "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                         {"n": number, "name": f"c{number}", "note": note})
        conn.execute(text("INSERT INTO audit_log (org_id, actor_id, action, entity, entity_ref, detail, at) VALUES "
                          "(1, 1, 'update', 'customer', 'C3', 'risk medium -> low', '2026-01-02 00:00:00')"))
    command.upgrade(config, "head")
    with engine.connect() as conn:
        risks = dict(conn.execute(text("SELECT number, risk FROM customers ORDER BY number")).all())
    engine.dispose()
    assert risks == {1: "unassessed", 2: "low", 3: "low"}
