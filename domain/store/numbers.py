"""Numbers counted per department: a record's reference (C3, L12, CB7) is its department's own number.

A department's next number for a kind of record is taken with one UPSERT on its counter row
(`ref_counters`), in the transaction that inserts the record: `INSERT … ON CONFLICT (org_id, kind) DO UPDATE
SET last = last + 1 RETURNING last`. On PostgreSQL the row's lock holds a second inserter until the first
commits, and then it reads the raised count; SQLite has one writer at a time. Either way two records never
get the same number, and a rolled-back insert gives its number back. The first record of a kind in a
department creates the row, in the same statement.
"""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.store.models import RefCounter
from domain.store.uow import UnitOfWork


def _bump(insert: Any) -> Any:
    stmt = insert(RefCounter).values(org_id=bindparam("org_id"), kind=bindparam("kind"), last=1)
    return stmt.on_conflict_do_update(index_elements=["org_id", "kind"], set_={"last": RefCounter.last + 1}
                                      ).returning(RefCounter.last)


_BUMP = {"postgresql": _bump(pg_insert), "sqlite": _bump(sqlite_insert)}


N = TypeVar("N")


def next_number(uow: UnitOfWork, model: type[Any], org_id: int) -> int:
    """The department's next number for `model`'s records; taken for good when the unit of work commits."""
    conn = uow.connection()
    return int(conn.execute(_BUMP[conn.dialect.name], {"org_id": org_id, "kind": model.__tablename__}).scalar_one())


def by_number(uow: UnitOfWork, model: type[N], org_id: int, number: int | None) -> N | None:
    """The department's record of `model` with that number, if there is one."""
    if number is None:
        return None
    m: Any = model
    return uow.session.scalar(select(model).where(m.org_id == org_id, m.number == number))


def id_of(uow: UnitOfWork, model: type[Any], org_id: int, number: int | None) -> int | None:
    """The id of the department's record of `model` with that number, if there is one."""
    if number is None:
        return None
    return uow.session.scalar(select(model.id).where(model.org_id == org_id, model.number == number))
