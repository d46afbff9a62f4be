"""Prepared statements (domain.store.prepared) against `Connection.execute`, on the real databases."""
from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.bootstrap import App
from domain.crm import customers as crm
from domain.store.models import AuditEntry, Customer, Identity, Lead, Visit
from domain.store.prepared import Prepared
from domain.store.uow import _AUDIT_INSERT
from domain.team import members as team

WHEN = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)
_NUMBERS = itertools.count(1000)  # visits' numbers (unique in a department)


def _identity(app: App) -> Identity:
    with app.uow() as uow:
        return uow.session.scalars(select(Identity)).one()


def _visit_params(app: App, customer_id: int, **extra: object) -> dict[str, object]:
    with app.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None
        org_id, owner_id = customer.org_id, customer.owner_id
    return {"org_id": org_id, "number": next(_NUMBERS), "customer_id": customer_id, "member_id": owner_id,
            "channel": "phone",
            "purpose": None, "needs": "pricing", "note": "called", "next_date": date(2026, 12, 1), "at": WHEN,
            **extra}


@pytest.fixture
def acme(app: App, bot) -> int:
    bot("/customer new Acme", "/lead new Acme value=100000 source=web")
    with app.uow() as uow:
        return uow.session.scalars(select(Customer.id)).one()


def test_selects_return_what_execute_returns(app: App, acme: int) -> None:
    ident = _identity(app)
    who = {"platform": ident.platform, "external_id": ident.external_id, "workspace": ident.workspace,
           "org_platform": None, "org_external_id": None}
    with app.uow() as uow:
        conn = uow.connection()
        for prepared in (team._BY_WORKSPACE_IDENTITY, team._BY_ACCOUNT):
            assert prepared.rows(conn, who) == [tuple(r) for r in conn.execute(prepared.statement, who)]
            assert prepared.first(conn, who) is not None
        key = {"org_id": uow.session.get(Customer, acme).org_id, "key": "acme"}
        assert crm._CUSTOMER_REF_BY_KEY.rows(conn, key) == [
            tuple(r) for r in conn.execute(crm._CUSTOMER_REF_BY_KEY.statement, key)]
        assert crm._CUSTOMER_REF_BY_KEY.first(conn, {**key, "key": "nobody"}) is None


def test_an_insert_stores_what_execute_stores_with_its_types_processed(app: App, acme: int) -> None:
    params = _visit_params(app, acme, lead_customer=acme)
    with app.uow() as uow:
        conn = uow.connection()
        mine = crm._INSERT_VISIT_TO_ITS_LEAD.one(conn, params)
        theirs = tuple(conn.execute(crm._INSERT_VISIT_TO_ITS_LEAD.statement, {**params, "number": next(_NUMBERS)}).one())
        uow.commit()
    assert mine[1] == theirs[1] is not None  # the customer's one open lead, found by the statement's subquery
    with app.uow() as uow:
        a, b = (uow.session.get(Visit, mine[0]), uow.session.get(Visit, theirs[0]))
        assert a is not None and b is not None
        columns = [c.key for c in Visit.__table__.columns if c.key not in ("id", "number")]
        assert [getattr(a, c) for c in columns] == [getattr(b, c) for c in columns]
        assert a.at == WHEN and a.next_date == date(2026, 12, 1) and a.needs == "pricing"


def test_result_values_are_converted_as_execute_converts_them(app: App, acme: int) -> None:
    """Dates and times, decimals and booleans come back as the column types make them."""
    with app.uow() as uow:
        org_id = uow.session.get(Customer, acme).org_id
        uow.audit(org_id, None, "read", "lead", "L1", "list")
        uow.commit()
    for stmt in (select(AuditEntry.at, AuditEntry.entity_ref).where(AuditEntry.org_id == bindparam("org_id")),
                 select(Lead.value, Lead.key_account, Lead.created_at, Lead.next_date).where(
                     Lead.org_id == bindparam("org_id")),
                 crm._lead_list_statement("mine", False).statement):
        params = {"org_id": org_id, "member_id": 1, "since": WHEN, "stage": None}
        with app.uow() as uow:
            conn = uow.connection()
            expected = [tuple(r) for r in conn.execute(stmt, params)]
            got = Prepared(stmt).rows(conn, params)
            assert got == expected and got
            assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in expected]


def test_the_statements_own_literals_are_bound(app: App, acme: int) -> None:
    """_INSERT_VISIT_TO_ITS_LEAD compares stages with literals ('won', 'lost') and limits to 2: held in the plan."""
    with app.uow() as uow:
        lead = uow.session.scalars(select(Lead)).one()
        lead.stage = "won"
        uow.commit()
    params = _visit_params(app, acme, lead_customer=acme)
    with app.uow() as uow:
        _visit_id, lead_id = crm._INSERT_VISIT_TO_ITS_LEAD.one(uow.connection(), params)
        assert lead_id is None  # its only lead is closed


def test_a_unit_of_work_rolls_back_what_it_did_not_commit(app: App, acme: int) -> None:
    params = _visit_params(app, acme, lead_id=None)
    with app.uow() as uow:
        crm._INSERT_VISIT.one(uow.connection(), params)
        _AUDIT_INSERT.rows(uow.connection(), {"org_id": params["org_id"], "actor_id": None, "action": "create", "entity": "visit",
                                              "entity_ref": "V1", "detail": None, "at": WHEN})
    with app.uow() as uow:
        assert uow.session.scalars(select(Visit)).all() == []
        assert not uow.session.scalars(select(AuditEntry).where(AuditEntry.at == WHEN)).all()


def test_other_parameter_names_compile_another_plan(app: App, acme: int) -> None:
    audit = Prepared(insert(AuditEntry))
    base = {"org_id": _visit_params(app, acme)["org_id"], "actor_id": None, "action": "read", "entity": "lead", "at": WHEN}
    with app.uow() as uow:
        audit.rows(uow.connection(), base)
        audit.rows(uow.connection(), {**base, "entity_ref": "L1", "detail": "list"})
        uow.commit()
    with app.uow() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.at == WHEN).order_by(AuditEntry.id)).all()
    assert [(r.entity_ref, r.detail) for r in rows] == [(None, None), ("L1", "list")]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it_and_the_unit_goes_on(app: App, acme: int) -> None:
    params = _visit_params(app, acme, lead_id=None, member_id=999_999)  # no such member
    good = _visit_params(app, acme, lead_id=None)
    with app.uow() as uow:
        with pytest.raises(IntegrityError) as prepared_error:
            crm._INSERT_VISIT.one(uow.connection(), params)
        uow.rollback()
        with pytest.raises(IntegrityError) as execute_error:
            uow.connection().execute(crm._INSERT_VISIT.statement, params)
        uow.rollback()
        assert type(prepared_error.value.orig) is type(execute_error.value.orig)
        assert prepared_error.value.statement and not prepared_error.value.connection_invalidated
        crm._INSERT_VISIT.one(uow.connection(), good)  # the connection works
        uow.commit()
    with app.uow() as uow:
        assert len(uow.session.scalars(select(Visit)).all()) == 1


def test_a_naive_datetime_is_refused_as_the_column_type_refuses_it(app: App, acme: int) -> None:
    params = _visit_params(app, acme, lead_id=None, at=WHEN.replace(tzinfo=None))
    with app.uow() as uow:
        with pytest.raises(StatementError, match="naive") as prepared_error:
            crm._INSERT_VISIT.one(uow.connection(), params)
        with pytest.raises(StatementError, match="naive") as execute_error:
            uow.connection().execute(crm._INSERT_VISIT.statement, params)
    assert type(prepared_error.value.orig) is type(execute_error.value.orig) is ValueError


def test_logged_and_listened_statements_go_through_sqlalchemy(app: App, acme: int,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    key = {"org_id": _visit_params(app, acme)["org_id"], "key": "acme"}
    event.listen(app.engine, "before_cursor_execute", listen)
    try:
        with app.uow() as uow:
            quiet = crm._CUSTOMER_REF_BY_KEY.rows(uow.connection(), key)
    finally:
        event.remove(app.engine, "before_cursor_execute", listen)
    assert len(seen) == 1 and seen[0].startswith("SELECT customers.id")
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"), app.uow() as uow:
        logged = crm._CUSTOMER_REF_BY_KEY.rows(uow.connection(), key)
    assert logged == quiet and len(logged) == 1
    assert any("SELECT customers.id" in r.getMessage() for r in caplog.records)


def test_statements_that_need_more_than_the_driver_are_refused_when_compiled(app: App) -> None:
    now = {"org_id": 1, "since": WHEN - timedelta(days=1)}
    refused = [
        (Prepared(select(AuditEntry.id).where(AuditEntry.id.in_(bindparam("ids", expanding=True)))), {"ids": [1]},
         "expanding IN"),
        (Prepared(select(AuditEntry.id).where(AuditEntry.at > bindparam("since"))), {}, "needs parameter"),
        (Prepared(insert(Lead)), {"org_id": 1, "customer_id": 1, "owner_id": 1}, "defaults"),
    ]
    with app.uow() as uow:
        conn = uow.connection()
        for prepared, params, why in refused:
            with pytest.raises(TypeError, match=why):
                prepared.rows(conn, params)
        assert Prepared(select(AuditEntry.id).where(AuditEntry.at > bindparam("since"),
                                                    AuditEntry.org_id == bindparam("org_id"))).rows(conn, now) == []


def test_on_a_connection_outside_a_transaction_it_begins_one_as_execute_does(app: App, acme: int) -> None:
    params = _visit_params(app, acme, lead_id=None)
    with app.engine.connect() as conn:
        assert not conn.in_transaction()
        crm._INSERT_VISIT.one(conn, params)
        assert conn.in_transaction()
        conn.rollback()
        crm._INSERT_VISIT.one(conn, params)
        conn.commit()
    with app.uow() as uow:
        assert len(uow.session.scalars(select(Visit)).all()) == 1


def test_an_execute_listener_sees_it_and_a_schema_translate_map_is_refused(app: App, acme: int) -> None:
    seen: list[object] = []

    def listen(conn, clauseelement, multiparams, params, execution_options) -> None:
        seen.append(clauseelement)

    key = {"org_id": _visit_params(app, acme)["org_id"], "key": "acme"}
    event.listen(app.engine, "before_execute", listen)
    try:
        with app.uow() as uow:
            assert len(Prepared(crm._CUSTOMER_REF_BY_KEY.statement).rows(uow.connection(), key)) == 1
    finally:
        event.remove(app.engine, "before_execute", listen)
    assert [str(s)[:19] for s in seen] == ["SELECT customers.id"]
    with app.engine.connect() as conn:
        mapped = conn.execution_options(schema_translate_map={None: "elsewhere"})
        with pytest.raises(TypeError, match="schema_translate_map"):
            Prepared(crm._CUSTOMER_REF_BY_KEY.statement).rows(mapped, key)


def test_a_lost_postgresql_connection_is_invalidated_and_the_next_unit_of_work_reconnects(app: App,
                                                                                        acme: int) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("a server that ends a connection: PostgreSQL's pg_terminate_backend")
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    key = {"org_id": _visit_params(app, acme)["org_id"], "key": "acme"}
    with app.uow() as uow:
        conn = uow.connection()
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with app.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as lost:
            crm._CUSTOMER_REF_BY_KEY.rows(conn, key)
        assert lost.value.connection_invalidated and conn.invalidated
    with app.uow() as uow:
        assert len(crm._CUSTOMER_REF_BY_KEY.rows(uow.connection(), key)) == 1
