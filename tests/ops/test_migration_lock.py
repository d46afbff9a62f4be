"""Replicas starting together on one new PostgreSQL database: the migrations run once, in one of them, and
every one starts."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from domain.store.engine import current_revision, make_engine, normalize_url

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("BIZBOT_TEST_POSTGRES_URL")

# what each replica does first at start (bot.bootstrap): without the lock, two of them create the same
# tables at once and one fails
RACE = """
import sys
from domain.store.engine import make_engine, upgrade
engine = make_engine(sys.argv[1])
upgrade(engine)
print("upgraded")
"""


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (BIZBOT_TEST_POSTGRES_URL)")
def test_replicas_starting_together_migrate_once(tmp_path: Path) -> None:
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"bizbot_lock_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        starts = [subprocess.Popen([sys.executable, "-c", RACE, url], env=env, cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
        results = [(p.wait(timeout=180), *p.communicate()) for p in starts]
        assert [code for code, _out, _err in results] == [0, 0, 0], [err for _c, _o, err in results]
        assert all(out.strip() == "upgraded" for _code, out, _err in results)
        engine = make_engine(url)
        assert current_revision(engine) is not None
        with engine.connect() as conn:  # the lock was given back
            held = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar()
        engine.dispose()
        assert held == 0
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
