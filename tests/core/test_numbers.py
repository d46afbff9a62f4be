"""References count per department (C1 is each department's first customer), and what a member may not
see is answered as missing."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from bot.bootstrap import App
from domain.crm import callbacks
from domain.crm import customers as crm
from domain.kernel.actor import Actor
from domain.kernel.errors import NotFound
from domain.store.engine import alembic_config, make_engine, upgrade
from domain.store.models import (
    AuditEntry,
    Callback,
    Customer,
    Member,
    Organisation,
    RefCounter,
    Visit,
)
from domain.store.numbers import next_number
from domain.team.members import actor_for


def _department(app: App, name: str) -> Actor:
    """A department of its own (as another Slack workspace would be) with its manager, who acts."""
    with app.uow() as uow:
        org = uow.add(Organisation(platform="slack", external_id=f"T-{name}", name=name, timezone="Asia/Shanghai",
                                   locale="en", settings={}, created_at=uow.now))
        uow.session.flush()
        member = uow.add(Member(org_id=org.id, name=f"{name}-boss", name_key=f"{name}-boss", roles="manager",
                                active=True, created_at=uow.now))
        uow.session.flush()
        actor = actor_for(uow, member)
        uow.commit()
    return actor


def _customer(app: App, actor: Actor, name: str) -> Customer:
    with app.uow() as uow:
        customer, _first = crm.create_customer(uow, actor, name, crm.CustomerFields())
    return customer


def test_each_department_numbers_its_own_records_from_one(app: App) -> None:
    a, b = _department(app, "east"), _department(app, "west")
    assert [_customer(app, a, f"East {i}").number for i in range(1, 6)] == [1, 2, 3, 4, 5]
    first_west = _customer(app, b, "West 1")
    assert first_west.number == 1     # not 6: the west's references tell nothing of the east's customers
    with app.uow() as uow:
        visit, _customer_ref, cb = crm.record_visit(uow, b, "West 1", note="met", next_date=date(2026, 12, 1))
        lead = crm.create_lead(uow, b, "C1")
    # the west's first visit and lead; its callbacks: the first regular one, then the visit's
    assert (visit, lead.number, cb.number if cb else None) == (1, 1, 2)
    with app.uow() as uow:
        counters = set(uow.session.execute(select(RefCounter.org_id, RefCounter.kind, RefCounter.last)).all())
    assert counters >= {(a.org_id, "customers", 5), (b.org_id, "customers", 1), (b.org_id, "visits", 1),
                        (b.org_id, "leads", 1), (a.org_id, "callbacks", 5), (b.org_id, "callbacks", 2)}


def test_a_reference_finds_only_its_own_departments_record(app: App) -> None:
    a, b = _department(app, "east"), _department(app, "west")
    _customer(app, a, "Alpha")
    _customer(app, b, "Beta")
    with app.uow() as uow:
        assert crm.find_customer(uow, b, "C1").name == "Beta"
        assert crm.find_customer(uow, a, "C1").name == "Alpha"
        with pytest.raises(NotFound):
            crm.find_customer(uow, b, "Alpha")      # the east's customer, by name
        with pytest.raises(NotFound):
            crm.find_customer(uow, b, "C2")
        crm.create_lead(uow, a, "Alpha")
        with pytest.raises(NotFound):
            crm.find_lead(uow, b, "L1")             # the east's only lead
    with app.uow() as uow:                          # the west's CB1 is done; the east's stays open
        done = callbacks.complete_callback(uow, b, "CB1", "called")
    assert done.customer.name == "Beta"
    with app.uow() as uow:
        open_ones = uow.session.scalars(select(Callback.org_id).where(Callback.status == "open")).all()
    assert open_ones.count(a.org_id) == 1


def test_numbers_taken_at_once_are_distinct(app: App) -> None:
    """A second insert waits for the first's transaction (PostgreSQL: its counter row's lock; SQLite: its
    write lock), then takes the next number; a rolled-back insert gives its number back."""
    a = _department(app, "east")
    taken: list[int] = []
    with app.uow() as first:
        mine = next_number(first, Customer, a.org_id)

        def second() -> None:
            with app.uow() as uow:
                taken.append(next_number(uow, Customer, a.org_id))
                uow.commit()

        other = threading.Thread(target=second)
        other.start()
        if app.engine.dialect.name == "postgresql":
            _until_waiting_for_a_lock(app)
        first.commit()
    other.join(timeout=30)
    assert not other.is_alive()
    assert (mine, taken) == (1, [2])
    with app.uow() as uow:
        next_number(uow, Customer, a.org_id)        # taken, then rolled back with its unit of work
    with app.uow() as uow:
        assert next_number(uow, Customer, a.org_id) == 3


def _until_waiting_for_a_lock(app: App) -> None:
    with app.engine.connect() as conn:
        for _ in range(3000):
            waiting = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'")).scalar()
            conn.rollback()
            if waiting:
                return
            threading.Event().wait(0.01)
    raise AssertionError("the second insert never waited for the first")


def test_customers_created_by_two_threads_at_once_get_distinct_numbers(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the server runs its units of work on one database thread")
    a = _department(app, "east")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def create(prefix: str) -> None:
        try:
            start.wait()
            for i in range(10):
                _customer(app, a, f"{prefix} {i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(p,)) for p in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with app.uow() as uow:
        numbers = sorted(uow.session.scalars(select(Customer.number).where(Customer.org_id == a.org_id)))
        callback_numbers = sorted(uow.session.scalars(select(Callback.number).where(Callback.org_id == a.org_id)))
    assert numbers == list(range(1, 21)) and callback_numbers == list(range(1, 21))


# --- what a member may not see is not found ------------------------------------------------------


@pytest.fixture
def team(bot):
    """wang (manager) ← bob (sales); carol (sales) reports to wang; bob sees only his own."""
    bot("/team add bob role=sales supervisor=wang", "/team add carol role=sales supervisor=wang")
    bot(":as carol", "/customer new CarolCo", "/lead new CarolCo value=100", '/contract new CarolCo title=X amount=10')
    bot(":as bob", "/customer new BobCo")
    return bot


def _denied(app: App) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "denied"))


def test_a_hidden_customer_by_name_or_reference_is_not_found_and_the_refusal_audited(team, app) -> None:
    bot = team
    assert bot("/customer show CarolCo") == "⚠ No customer matches 'CarolCo'.\n"   # the same as for no such name
    assert bot("/customer show NoSuchCo") == "⚠ No customer matches 'NoSuchCo'.\n"
    assert bot("/customer show C1") == "⚠ No customer C1.\n"                        # the same as for C99
    assert bot("/customer show C99") == "⚠ No customer C99.\n"
    assert bot('/visit CarolCo note="hi"') == "⚠ No customer matches 'CarolCo'.\n"
    assert bot("/lead show CarolCo") == "⚠ No customer matches 'CarolCo'.\n"
    assert bot("/lead show L1") == "⚠ No lead L1.\n"
    assert bot("/contract show K1") == "⚠ No contract K1.\n"
    assert bot("/callback done CB1 result=x") == "⚠ No callback CB1.\n"
    assert bot("/remind snooze CB1 1h") == bot("/remind snooze CB99 1h").replace("CB99", "CB1")
    assert _denied(app) == 8                        # each refusal is audited (not the unknown NoSuchCo, C99, CB99)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Visit)) == 0
    # a part of a name finds only what bob sees
    assert "BobCo (C2)" in bot("/customer show co") and "CarolCo" not in bot("/customer show co")
    # creating it again says who holds it, not its reference
    out = bot("/customer new CarolCo")
    assert "Customer CarolCo already exists (owner carol)." in out and "C1" not in out
    assert "already exists (C2, owner bob)" in bot("/customer new BobCo")
    # carol and the manager see it
    assert "CarolCo (C1)" in bot(":as carol", "/customer show C1")
    assert "CarolCo (C1)" in bot(":as wang", "/customer show CarolCo")


# --- migration 0014: existing records numbered by id within their department -----------------------


def test_the_migration_numbers_existing_records_by_id_within_each_department(db_url: str) -> None:
    engine = make_engine(db_url)
    cfg = alembic_config(engine)
    try:
        command.downgrade(cfg, "0013")
        ids = _seed_before_numbers(engine)
        upgrade(engine)
        with engine.connect() as conn:
            numbers = dict(conn.execute(sa.text("SELECT id, number FROM customers")).all())
            counters = set(conn.execute(sa.text("SELECT org_id, kind, last FROM ref_counters")).all())
            sources = dict(conn.execute(sa.text("SELECT id, source_ref FROM callbacks")).all())
            refs = conn.execute(sa.text("SELECT entity, entity_ref FROM audit_log ORDER BY id")).all()
        east, west = ids["orgs"]
        e1, w1, e2, e3, w2 = ids["customers"]
        assert [numbers[i] for i in (e1, e2, e3)] == [1, 2, 3] and [numbers[i] for i in (w1, w2)] == [1, 2]
        assert counters == {(east, "customers", 3), (west, "customers", 2), (west, "callbacks", 2)}
        first_cb, second_cb = ids["callbacks"]
        assert sources == {first_cb: None, second_cb: "CB1"}   # the west's first callback is its CB1
        # the access log names records by their new references; a member's name is left as it was
        assert refs == [("customer", "C2"), ("customer", "C3"), ("member", f"C{e3}")]
        command.downgrade(cfg, "0013")               # and back: references are ids again
        with engine.connect() as conn:
            refs = conn.execute(sa.text("SELECT entity, entity_ref FROM audit_log ORDER BY id")).all()
        assert refs == [("customer", f"C{w2}"), ("customer", f"C{e3}"), ("member", f"C{e3}")]
    finally:
        upgrade(engine)
        engine.dispose()


def _seed_before_numbers(engine: sa.Engine) -> dict[str, list[int]]:
    """Two departments whose customers' ids interleave, a callback that names another, access log rows."""
    def insert(conn: sa.Connection, table: str, **values: object) -> int:
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        return conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING id"), values).scalar_one()

    when = "2026-11-23 02:00:00"
    with engine.begin() as conn:
        orgs = [insert(conn, "organisations", platform="slack", external_id=f"T{i}", name=f"d{i}", timezone="UTC",
                       locale="en", settings="{}", created_at=when) for i in (1, 2)]
        boss = [insert(conn, "members", org_id=org, name="m", name_key="m", roles="manager", active=True,
                       created_at=when) for org in orgs]
        customers = [insert(conn, "customers", org_id=orgs[o], name=f"c{n}", name_key=f"c{n}", owner_id=boss[o],
                            level="regular", risk="low", created_at=when, updated_at=when)
                     for n, o in enumerate((0, 1, 0, 0, 1))]
        cbs = [insert(conn, "callbacks", org_id=orgs[1], customer_id=customers[4], owner_id=boss[1],
                      due_date=date(2026, 12, 1) + timedelta(days=i), reason="cadence", source_ref=source,
                      status="open", created_at=when) for i, source in enumerate((None, "first"))]
        conn.execute(sa.text("UPDATE callbacks SET source_ref = :ref WHERE id = :id"),
                     {"ref": f"CB{cbs[0]}", "id": cbs[1]})
        for org, entity, ident in ((orgs[1], "customer", customers[4]), (orgs[0], "customer", customers[3]),
                                   (orgs[0], "member", customers[3])):
            insert(conn, "audit_log", org_id=org, actor_id=None, action="read", entity=entity,
                   entity_ref=f"C{ident}", at=when)
    return {"orgs": orgs, "customers": customers, "callbacks": cbs}
