"""Backups: records are kept in one store, and backed up.

`bizbot backup` writes one now; with `BIZBOT_BACKUP_DIR` set, `bizbot serve` (the replica that runs the
sweep) writes one a day after `BIZBOT_BACKUP_HOUR` local time and keeps the newest `BIZBOT_BACKUP_KEEP`.

- SQLite: sqlite3's online backup API, page by page from a connection of its own, so a consistent copy
  is taken while the bot keeps working; the copy is checked (`PRAGMA integrity_check`) before it counts.
- PostgreSQL: `pg_dump --format=custom` (restore with `pg_restore`); the password goes to pg_dump in its
  environment (PGPASSWORD), never on its command line, where every user of the machine could read it.

A backup is written to a temporary name and renamed when complete, so a crash never leaves a half file
that looks like a backup.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from bot.leader import SingleProcessError, lock_sqlite

log = logging.getLogger(__name__)
PREFIX = "bizbot-"


class BackupError(Exception):
    """A backup could not be written; the message says why, without secrets."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int


def backup(database_url: str, target: Path) -> Backup:
    """Write a backup of the database to `target` (a file; its folder is created). Whatever stops it — the
    database, the disk, pg_dump — is a BackupError."""
    url = make_url(database_url)
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if url.get_backend_name() == "sqlite":
            _sqlite(url.database or "", partial)
        elif url.get_backend_name() == "postgresql":
            _postgres(database_url, partial)
        else:
            raise BackupError(f"no backup for {url.get_backend_name()} databases")
        partial.replace(target)
        return Backup(target, target.stat().st_size)
    except (OSError, sqlite3.Error, subprocess.SubprocessError) as exc:
        raise BackupError(f"{type(exc).__name__}: {exc}") from None
    finally:
        with contextlib.suppress(OSError):  # nothing to clear when the folder itself could not be made
            partial.unlink(missing_ok=True)


def stamp(now: datetime) -> str:
    """How backup files name the moment they were taken (local time)."""
    return now.strftime("%Y%m%d-%H%M%S")


def _sqlite(database: str, target: Path) -> None:
    if not database or database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    if not Path(database).exists():
        raise BackupError(f"no database file at {database}")
    source = sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=1024)  # in steps: the bot's writers are not held off for the whole copy
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (the source's WAL mode came along)
        result = copy.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {result}")
    finally:
        copy.close()
        source.close()


def _postgres(database_url: str, target: Path) -> None:
    _pg_client("pg_dump", database_url, lambda dsn: ["--format=custom", "--no-owner", f"--file={target}", dsn])


def _pg_client(tool: str, database_url: str, arguments: Callable[[str], list[str]]) -> None:
    """Run pg_dump or pg_restore against the database: the password in its environment (PGPASSWORD), never
    on its command line, where every user of the machine could read it."""
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} is not installed (PostgreSQL's client tools); install them")
    url = make_url(database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([program, *arguments(dsn)], env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-500:]}")


def restore(database_url: str, source: Path, keep_current: Path | None) -> Path | None:
    """Put a backup back in place of the database; the server must be stopped. On SQLite the backup is
    checked first and the current database is backed up to `keep_current` (returned) before it is
    replaced, through SQLite's backup API (so its WAL files stay consistent); on PostgreSQL it is
    `pg_restore --clean --if-exists` into the database. Migrations run at the next start."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        _pg_restore(database_url, source)
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(f"no restore for {database_url.split(':', 1)[0]} databases")
    database = Path(url.database)
    try:
        lock = lock_sqlite(database)
    except SingleProcessError:
        raise BackupError("bizbot serve is running on this database; stop it before restoring") from None
    with lock:
        backup_copy = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            result = backup_copy.execute("PRAGMA integrity_check").fetchone()
            if not result or result[0] != "ok":
                raise BackupError(f"{source} failed its integrity check: {result}")
            kept = None
            if database.exists() and keep_current is not None:
                kept = backup(database_url, keep_current).path
            target = sqlite3.connect(database)
            try:
                backup_copy.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a bizbot SQLite backup: {exc}") from None
        finally:
            backup_copy.close()
    return kept


def _pg_restore(database_url: str, source: Path) -> None:
    _pg_client("pg_restore", database_url,
               lambda dsn: ["--clean", "--if-exists", "--no-owner", f"--dbname={dsn}", str(source)])


def file_name(now: datetime, database_url: str) -> str:
    suffix = ".dump" if make_url(database_url).get_backend_name() == "postgresql" else ".db"
    return f"{PREFIX}{stamp(now)}{suffix}"


def backups_in(folder: Path) -> list[Path]:
    """The finished backups in a folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.suffix in (".db", ".dump"))


def taken_at(path: Path, tz: str) -> datetime | None:
    """When a backup was taken, from its name (local time, as `file_name` wrote it)."""
    try:
        return datetime.strptime(path.name[len(PREFIX):len(PREFIX) + 15], "%Y%m%d-%H%M%S").replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return None


def daily(database_url: str, folder: Path, keep: int, hour: int, tz: str, now: datetime) -> Backup | None:
    """The day's backup, when it is due: from `hour` local time, once a local day (the files themselves
    are the record, so a restart or a new leader neither skips nor doubles one). The newest `keep` stay."""
    local = now.astimezone(ZoneInfo(tz))
    if local.hour < hour:
        return None
    taken = [t for t in (taken_at(p, tz) for p in backups_in(folder)) if t is not None]
    if taken and max(taken).date() == local.date():
        return None
    made = backup(database_url, folder / file_name(local, database_url))
    for old in backups_in(folder)[:-keep]:
        old.unlink(missing_ok=True)
    log.info("backup written: %s (%d bytes)", made.path, made.size)
    return made
