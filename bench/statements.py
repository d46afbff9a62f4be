"""One statement three ways: SQLAlchemy's `Connection.execute`, a prepared statement (domain/store/prepared.py),
and the bare driver call, in one run on the same connection and transaction.

    .venv/bin/python bench/statements.py [--n 20000] [--url postgresql://...]

The statements are bizbot's own: the audit row's INSERT (every command writes one) and the SELECT that
finds a customer by name. Each way runs `--n` times after a warm-up, inside one transaction that is
rolled back at the end, on SQLite in a temporary directory unless --url names another database. Prints
microseconds per statement and each way's ratio to the bare driver call.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from sqlalchemy import insert  # noqa: E402

from domain.crm.customers import _CUSTOMER_REF_BY_KEY  # noqa: E402
from domain.store.engine import make_engine, upgrade  # noqa: E402
from domain.store.models import Organisation  # noqa: E402
from domain.store.prepared import compile_plan  # noqa: E402
from domain.store.uow import _AUDIT_INSERT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="statements per way (20000)")
    parser.add_argument("--url", default=None, help="database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.url or f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        with engine.connect() as conn:
            org_id = conn.execute(insert(Organisation).returning(Organisation.id), {
                "platform": "bench", "external_id": "bench", "name": "Bench", "timezone": "UTC", "locale": "en",
                "settings": {}, "created_at": datetime.now(UTC)}).scalar_one()
            audit = {"org_id": org_id, "actor_id": None, "action": "create", "entity": "visit",
                     "entity_ref": "V1", "detail": "Acme", "at": datetime.now(UTC)}
            find = {"org_id": org_id, "key": "acme"}
            cases = [("audit INSERT", _AUDIT_INSERT, audit), ("customer SELECT", _CUSTOMER_REF_BY_KEY, find)]
            print(f"{engine.dialect.name}, {args.n} statements each way, one transaction (rolled back)")
            for label, prepared, params in cases:
                plan = compile_plan(prepared.statement, conn.dialect, frozenset(params))
                driver_args = [(value if key is None else params[key]) if proc is None
                               else proc(value if key is None else params[key]) for key, value, proc in plan.binds]
                driver_params = tuple(driver_args) if plan.names is None else dict(zip(plan.names, driver_args,
                                                                                       strict=True))
                raw = conn.connection.dbapi_connection

                def bare(sql: str = plan.sql, p: object = driver_params, raw: object = raw) -> None:
                    cursor = raw.cursor()  # type: ignore[attr-defined]
                    cursor.execute(sql, p)
                    if cursor.description:
                        cursor.fetchall()
                    cursor.close()

                ways = {"Connection.execute": lambda s=prepared.statement, p=params: _execute(conn, s, p),
                        "prepared": lambda pr=prepared, p=params: pr.rows(conn, p),
                        "driver": bare}
                timings = {}
                for name, run in ways.items():
                    for _ in range(min(1000, args.n)):
                        run()
                    start = time.perf_counter()
                    for _ in range(args.n):
                        run()
                    timings[name] = (time.perf_counter() - start) / args.n * 1e6
                base = timings["driver"]
                print(f"  {label}:")
                for name, us in timings.items():
                    print(f"    {name:<20} {us:7.2f} µs   {us / base:5.1f}x the driver call")
            conn.rollback()
        engine.dispose()


def _execute(conn, statement, params) -> None:
    result = conn.execute(statement, params)
    if result.returns_rows:
        result.all()


if __name__ == "__main__":
    main()
