"""Database statements and round trips per Slack command on PostgreSQL (or SQLite), as the server runs them.

    .venv/bin/python bench/roundtrips.py [--url postgresql://postgres@127.0.0.1:5432/test] [--repeat 20]

bizbot's real ASGI app on 127.0.0.1 (tests/fakes AppStack) with Slack pointed at a FakeSlack, in a database of
its own (created on the server of --url, dropped at the end). SQLAlchemy event listeners on the app's engine
count, per command:
  statements  `before_cursor_execute` (every SQL statement sent)
  begins      `begin` (a transaction begun: the driver sends BEGIN before its first statement)
  commits     `commit`, rollbacks `rollback` (each a round trip when the transaction sent anything)
  pings       the pool's ping on checkout (`dialect.do_ping`, counted by wrapping it), when pre-ping is on
  checkouts   connections taken from the pool
round trips = statements + begins + commits + rollbacks + pings (a begin, commit or rollback of a transaction
that sent nothing costs no trip; the counts here take them as one, so they are an upper bound).
Each command is run --repeat times after a warm-up; the counts are the median per command.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.slack_fake import FakeSlack  # noqa: E402
from fakes.slack_stack import SlackStack, text_of  # noqa: E402
from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from domain.kernel.clock import FakeClock  # noqa: E402
from domain.store.engine import normalize_url  # noqa: E402

KINDS = ("statements", "begins", "commits", "rollbacks", "pings", "checkouts")


class Counting:
    def __init__(self, engine: Engine) -> None:
        self.counts: Counter[str] = Counter()
        self.sql: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            self.counts["statements"] += 1
            self.sql.append(" ".join(statement.split())[:110])

        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._counter(name + "s"))
        event.listen(engine.pool, "checkout", self._counter("checkouts"))
        ping = engine.dialect.do_ping

        def do_ping(dbapi_connection: Any) -> bool:
            self.counts["pings"] += 1
            self.sql.append("(ping)")
            return ping(dbapi_connection)

        engine.dialect.do_ping = do_ping  # type: ignore[method-assign]

    def _counter(self, kind: str) -> Any:
        def count(*_args: Any) -> None:
            self.counts[kind] += 1
            if kind != "checkouts":
                self.sql.append(kind[:-1].upper())
        return count

    def take(self) -> tuple[Counter[str], list[str]]:
        counts, sql = self.counts, self.sql
        self.counts, self.sql = Counter(), []
        return counts, sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL server (a database of the run's own is made on it), or sqlite:///PATH")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print the statements of one command of each kind")
    args = parser.parse_args()

    admin = None
    name = ""
    url = normalize_url(args.url)
    if url.startswith("postgresql"):
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        name = "bizbot_rt_" + uuid.uuid4().hex[:10]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(url).set(database=name).render_as_string(hide_password=False)
    team = "T" + uuid.uuid4().hex[:8].upper()
    try:
        with FakeSlack(team_id=team) as fake:
            fake.users["U1"] = {"real_name": "Bench", "locale": "en-US"}
            stack = SlackStack(url, FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), fake)
            try:
                first = text_of(stack.say("/customer", "new Acme", user_id="U1", team_id=team))
                assert "Customer Acme" in first, first[:300]
                for i in range(5):
                    said = text_of(stack.say("/lead", f"new Acme value={(i + 1) * 100000} source=web", user_id="U1",
                                             team_id=team))
                    assert "Lead L" in said, said[:300]
                counting = Counting(stack.app.engine)
                print(f"bizbot on {stack.app.engine.dialect.name}; median per command over {args.repeat} runs")
                print(f"{'command':<12}" + "".join(f"{k:>11}" for k in KINDS) + f"{'round trips':>13}")
                for command, line, expect in (("/visit", 'Acme note="bench visit"', "Visit V"),
                                              ("/lead", "list", "Leads (")):
                    for _ in range(3):  # warm-up: caches of who is acting and the like
                        stack.say(command, line, user_id="U1", team_id=team)
                    counting.take()
                    runs: list[Counter[str]] = []
                    shown: list[str] = []
                    for _ in range(args.repeat):
                        said = text_of(stack.say(command, line, user_id="U1", team_id=team))
                        assert expect in said, said[:300]
                        counts, shown = counting.take()
                        runs.append(counts)
                    med = {k: statistics.median(c[k] for c in runs) for k in KINDS}
                    trips = statistics.median(
                        sum(c[k] for k in ("statements", "begins", "commits", "rollbacks", "pings")) for c in runs)
                    label = f"{command} {line.split()[0]}" if command == "/lead" else command
                    print(f"{label:<12}" + "".join(f"{med[k]:>11g}" for k in KINDS) + f"{trips:>13g}")
                    if args.show:
                        for sql in shown:
                            print(f"    {sql}")
            finally:
                stack.close()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
