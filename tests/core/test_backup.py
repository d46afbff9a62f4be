"""Backups: a checked copy of SQLite taken while the bot works, pg_dump for PostgreSQL, the daily
backup of `bizbot serve` on the injected clock (once a local day, the newest kept), and clear failures."""
from __future__ import annotations

import logging
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PG_URL

from bot.backup import BackupError, backup, backups_in, restore
from bot.cli import main
from bot.delivery import Dispatcher
from bot.server import Worker


def _names(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM customers ORDER BY id")]


def test_a_sqlite_backup_is_a_checked_copy_taken_while_the_bot_works(bot, app, tmp_path: Path) -> None:
    if not app.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's online backup")
    bot("/customer new Acme", "/customer new Beta")
    with app.uow() as uow:                       # a transaction still open on the database while it is copied
        uow.connection().exec_driver_sql("UPDATE customers SET industry = 'IT'")
        made = backup(app.settings.database_url, tmp_path / "out" / "b.db")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.db"]   # one file, no partial one left
    assert made.size > 0 and _names(made.path) == ["Acme", "Beta"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.db"]   # not in WAL mode: a plain file
    with sqlite3.connect(made.path) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE industry = 'IT'").fetchone() == (0,)


def test_the_backup_command(bot, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not app.settings.database_url.startswith("sqlite"):
        pytest.skip("the command against the test's SQLite file")
    bot("/customer new Acme")
    monkeypatch.setenv("BIZBOT_DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("BIZBOT_BACKUP_DIR", str(tmp_path / "kept"))
    result = CliRunner().invoke(main, ["backup"])
    assert result.exit_code == 0 and "backup written:" in result.output
    (made,) = backups_in(tmp_path / "kept")
    assert _names(made) == ["Acme"]
    monkeypatch.setenv("BIZBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    result = CliRunner().invoke(main, ["backup", "-o", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "no database file at" in result.output
    assert not (tmp_path / "x.db").exists()


def test_the_daily_backup_runs_once_a_local_day_and_keeps_the_newest(bot, app, clock, tmp_path: Path) -> None:
    if not app.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's online backup")
    bot("/customer new Acme")
    folder = tmp_path / "daily"
    settings = app.settings.model_copy(update={"backup_dir": str(folder), "backup_keep": 2, "backup_hour": 2})
    worker = Worker(replace(app, settings=settings), ThreadPoolExecutor(1), Dispatcher(app.services.uow, {}))
    clock.set(clock.now().replace(hour=17, minute=30))         # 01:30 in Shanghai: not yet
    worker.backup_if_due()
    assert backups_in(folder) == []
    clock.advance(timedelta(hours=1))                          # 02:30: the day's backup
    worker.backup_if_due()
    worker.backup_if_due()                                     # and only one
    assert [p.name for p in backups_in(folder)] == ["bizbot-20261124-023000.db"]
    for _day in range(3):
        clock.advance(timedelta(days=1))
        worker.tick_sync()                                     # the sweep's replica writes it
    assert [p.name for p in backups_in(folder)] == ["bizbot-20261126-023000.db", "bizbot-20261127-023000.db"]


def test_a_failing_daily_backup_is_logged_and_tried_again_an_hour_later(app, clock, tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    settings = app.settings.model_copy(update={"backup_dir": str(blocker / "sub"), "backup_hour": 0})
    worker = Worker(replace(app, settings=settings), ThreadPoolExecutor(1), Dispatcher(app.services.uow, {}))
    with caplog.at_level(logging.ERROR, logger="bot.server"):
        worker.backup_if_due()
        worker.backup_if_due()                                 # not again at once
        clock.advance(timedelta(minutes=61))
        worker.backup_if_due()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["backup failed", "backup failed"]


@pytest.mark.skipif(not PG_URL or not shutil.which("pg_dump"), reason="pg_dump against the test PostgreSQL")
def test_a_postgres_backup_is_a_pg_dump(tmp_path: Path) -> None:
    assert PG_URL is not None
    made = backup(PG_URL, tmp_path / "pg.dump")
    assert made.path.read_bytes()[:5] == b"PGDMP"


def test_what_cannot_be_backed_up_says_why(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="in-memory"):
        backup("sqlite://", tmp_path / "m.db")
    with pytest.raises(BackupError, match="no backup for mysql"):
        backup("mysql://u@localhost/x", tmp_path / "m.db")
    assert list(tmp_path.iterdir()) == []


def test_a_restore_puts_the_backup_back_and_keeps_what_was_there(bot, app, tmp_path: Path) -> None:
    url = app.settings.database_url
    if url.startswith("postgresql") and not shutil.which("pg_restore"):
        pytest.skip("PostgreSQL's client tools (pg_dump, pg_restore) are not installed")
    bot("/customer new Acme")
    backup(url, tmp_path / "snap")
    bot("/customer new Beta")
    app.engine.dispose()
    kept = restore(url, tmp_path / "snap", tmp_path / "before.db")
    bot("/customer new Gamma")                                      # the bot goes on from the backup
    assert "Customers (2)" in bot("/customer list") and "Beta" not in bot("/customer list")
    if kept is not None:                                            # SQLite: what was there is kept
        assert _names(kept) == ["Acme", "Beta"]


def test_a_restore_refuses_a_running_server_a_bad_file_and_no_file(app, tmp_path: Path) -> None:
    url = app.settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("the SQLite serve lock")
    from bot.leader import Leadership

    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="is not a bizbot SQLite backup"):
        restore(url, tmp_path / "junk.db", None)
    with pytest.raises(BackupError, match="no backup at"):
        restore(url, tmp_path / "missing.db", None)
    backup(url, tmp_path / "snap.db")
    serving = Leadership(app.engine)
    assert serving.claim()                                          # as bizbot serve holds it
    try:
        with pytest.raises(BackupError, match="bizbot serve is running on this database"):
            restore(url, tmp_path / "snap.db", None)
    finally:
        serving.release()                                           # the "server" stops
    assert restore(url, tmp_path / "snap.db", None) is None          # then it may
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "snap.db")],
                                env={"BIZBOT_DATABASE_URL": url})
    assert result.exit_code == 2 and "run again with --yes" in result.output
