"""Prepared statements: the few Core statements every command runs, compiled once and run as their SQL.

`Connection.execute(statement, params)` finds the statement's compiled form in the engine's cache, builds
an execution context, a cursor result and its metadata, and a Row per row, on every call. For the
statements every command runs — who is acting, the customer by name, the visit, a lead list, the audit
row — that machinery cost more than the statements (`bench/statements.py` times one INSERT each way; the
database thread's part of a /visit went from 1.18 M to 0.70 M instructions, `bench/instructions.py`).

A `Prepared` statement keeps what SQLAlchemy compiled for each dialect — its SQL, the order of its
parameters, their type processors, the statement's own literal values, and the result columns' type
processors — and runs that SQL on the unit of work's own driver connection, in its transaction,
returning the rows as tuples of the values `execute` would give (dates, decimals and booleans converted
by the same column types). The SQL is the one SQLAlchemy compiles from the statement; none is written by
hand. A driver error is raised as SQLAlchemy raises it (`sqlalchemy.exc.DBAPIError` and its subclasses,
the connection invalidated when the driver says it was lost). When SQL is being logged
(`sqlalchemy.engine` at INFO, as `echo` sets it) or a cursor or execute event is listened for, the statement
goes through `Connection.execute` instead, so logs and instrumentation see it as they see every other.

What the driver alone does not do, a prepared statement must not need; that is checked when it is first
compiled for a dialect, raising `TypeError` (so a statement that needs more fails in the tests, and is
run with `Connection.execute`):
- Python-side column defaults (an INSERT must name every column that has one);
- expanding IN parameters, or parameters rendered into the SQL at execution time;
- result columns other than the statement's own (its selected or returned columns, in their order).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine

_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")


@dataclass
class _Plan:
    sql: str
    keys: frozenset[str]  # the parameter names it was compiled for (an INSERT's columns follow them)
    # per driver parameter, in order: the caller's key (None: a literal of the statement's own, held in
    # `value`), and the type's bind processor
    binds: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...]
    names: tuple[str, ...] | None  # the parameters' names for a driver that takes them by name; None: by place
    columns: tuple[TypeEngine[Any], ...]  # the result columns' types, for the dialect
    # their result processors, found from the driver's type codes when the first rows come (as `execute`
    # finds them); None until then
    results: tuple[Callable[[Any], Any] | None, ...] | None = None


class Prepared:
    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, frozenset[str]], _Plan] = {}
        self._last: dict[Dialect, _Plan] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it on `conn`, in the connection's transaction, with `params` keyed as for `execute`; the rows
        it selects or returns (none for a statement without RETURNING)."""
        plan = self._last.get(conn.dialect)
        if plan is None or plan.keys != params.keys():
            plan = self._plan(conn.dialect, params)
            if conn.get_execution_options().get("schema_translate_map"):
                raise TypeError("prepared statements are compiled without a schema_translate_map")
        dispatch = conn.dispatch
        if (dispatch.before_cursor_execute or dispatch.after_cursor_execute or dispatch.before_execute
                or dispatch.after_execute or _SQL_LOG.isEnabledFor(logging.INFO)):
            result = conn.execute(self.statement, params)  # watched: as any other statement
            return [tuple(row) for row in result] if result.returns_rows and plan.columns else []
        try:
            values = [(value if key is None else params[key]) if proc is None
                      else proc(value if key is None else params[key]) for key, value, proc in plan.binds]
        except Exception as err:  # a value its column type refuses: as `execute` raises it
            raise StatementError(str(err), plan.sql, dict(params), err) from err
        args = tuple(values) if plan.names is None else dict(zip(plan.names, values, strict=True))
        description, found = _run(conn, plan.sql, args)
        if not found or not plan.columns:
            return []  # (an INSERT without RETURNING may still return its key: PostgreSQL's implicit RETURNING)
        results = plan.results if plan.results is not None else _results(plan, conn.dialect, description)
        if any(results):
            return [tuple([value if proc is None else proc(value) for proc, value in zip(results, row, strict=True)])
                    for row in found]
        return found

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def one(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...]:
        found = self.rows(conn, params)
        if len(found) != 1:
            raise LookupError(f"expected one row, got {len(found)}: {self.statement!s:.60}")
        return found[0]

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        keys = frozenset(params)
        plan = self._plans.get((dialect.name, keys))
        if plan is None:
            plan = self._plans[dialect.name, keys] = compile_plan(self.statement, dialect, keys)
        self._last[dialect] = plan
        return plan


def _results(plan: _Plan, dialect: Dialect, description: Any) -> tuple[Callable[[Any], Any] | None, ...]:
    if description is None or len(description) != len(plan.columns):
        raise TypeError(f"prepared statement's rows have {len(description or ())} columns, its statement "
                        f"{len(plan.columns)}: {plan.sql:.60}")
    plan.results = tuple(column.result_processor(dialect, entry[1]) for column, entry in zip(plan.columns, description,
                                                                                            strict=True))
    return plan.results


def _run(conn: Connection, sql: str, args: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    """The SQL on the connection's driver connection; a driver error raised as SQLAlchemy raises it."""
    if not conn.in_transaction():
        conn.begin()  # as `execute` would (autobegin), so that the connection's commit or rollback covers it
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dialect = conn.dialect
    cursor = raw.cursor()
    try:
        cursor.execute(sql, args)
        return (cursor.description, list(cursor.fetchall())) if cursor.description else (None, [])
    except dialect.loaded_dbapi.Error as err:
        lost = dialect.is_disconnect(err, raw, cursor)
        if lost:
            conn.invalidate(err)
        raise DBAPIError.instance(sql, args, err, dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                  dialect=dialect) from err
    finally:
        try:
            cursor.close()
        except dialect.loaded_dbapi.Error:
            pass  # a cursor of a connection that was lost; the error that matters is the one above


def compile_plan(statement: Executable, dialect: Dialect, keys: frozenset[str]) -> _Plan:
    """What SQLAlchemy compiles `statement` to for `dialect`, given parameters named `keys`; raises
    TypeError for a statement that needs what `Connection.execute` does beyond running the SQL."""
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))  # type: ignore[attr-defined]
    name_of = f"{statement!s:.60}"
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        raise TypeError(f"prepared statement needs Python-side column defaults: {name_of}")
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise TypeError(f"prepared statement has parameters rendered at execution (expanding IN, literal_execute): "
                        f"{name_of}")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    order = compiled.positiontup if dialect.positional else list(by_name)
    escaped = compiled.escaped_bind_names or {}
    binds = []
    for name in order or ():
        bind = by_name[name]
        if bind.key in keys:
            key, value = bind.key, None
        elif name in keys:
            key, value = name, None
        elif bind.required or bind.callable is not None:
            raise TypeError(f"prepared statement needs parameter {bind.key!r}: {name_of}")
        else:
            key, value = None, bind.effective_value
        binds.append((key, value, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    names = None if dialect.positional else tuple(escaped.get(name, name) for name in order or ())
    columns = tuple(column.type.dialect_impl(dialect) for column in getattr(statement, "exported_columns", ()))
    return _Plan(compiled.string, keys, tuple(binds), names, columns)
