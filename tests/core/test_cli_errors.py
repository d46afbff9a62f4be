"""What an operator sees when `bizbot` cannot start: a database that cannot be used, a port in use, no chat
platform configured, each as one clear line; and a server whose scheduler does not log every tick."""
from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.serve_process import ServeProcess, cli_env, free_port
from sqlalchemy import text

from bot.cli import platform_notes
from bot.settings import Settings
from domain.store.engine import make_engine, upgrade

PASSWORD = "s3cret pass/word"
COMMANDS = [["console", "--as", "ops"], ["serve"], ["db", "upgrade"], ["db", "current"], ["outbox"],
            ["export", "leads", "--as", "ops", "--format", "csv"]]


def bizbot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input="/team list\n", capture_output=True,
                          text=True, env=cli_env({"BIZBOT_HTTP_PORT": str(free_port()), **env}), cwd=cwd,
                          timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line, on stderr, and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_file_that_is_not_a_database(args: list[str], tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, eggs, and a great deal more than a database header holds\n" * 20)
    line = one_line(bizbot(args, {"BIZBOT_DATABASE_URL": f"sqlite:///{path}"}, tmp_path))
    assert line == f"bizbot: cannot use the database BIZBOT_DATABASE_URL=sqlite:///{path}: file is not a database"


@pytest.mark.parametrize("args", [["console", "--as", "ops"], ["db", "upgrade"]], ids=lambda a: a[0])
def test_a_database_from_a_newer_bizbot(args: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    line = one_line(bizbot(args, {"BIZBOT_DATABASE_URL": url}, tmp_path))
    assert line == (f"bizbot: cannot use the database BIZBOT_DATABASE_URL={url}: its schema is at a revision this "
                    "bizbot does not know (a newer bizbot's?): Can't locate revision identified by '9999_future'")


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound to nothing that listens: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_server_that_refuses_the_connection(args: list[str], refusing_port: int, tmp_path: Path) -> None:
    url = f"postgresql://bizbot:{PASSWORD.replace(' ', '%20').replace('/', '%2F')}@127.0.0.1:{refusing_port}/bizbot"
    result = bizbot(args, {"BIZBOT_DATABASE_URL": url}, tmp_path)
    line = one_line(result)
    assert line.startswith(f"bizbot: cannot use the database BIZBOT_DATABASE_URL=postgresql://bizbot:***@127.0.0.1:"
                           f"{refusing_port}/bizbot: connection failed: ")
    assert "Connection refused" in line
    assert "s3cret" not in result.stdout + result.stderr


class PasswordRefusingPostgres:
    """A PostgreSQL server on 127.0.0.1 that asks for a password (cleartext) and refuses whatever it gets,
    as a server does a wrong one (SQLSTATE 28P01); it keeps the passwords it was sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.passwords: list[str] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn:
            try:
                while True:  # SSL or GSS encryption asked first: not here ('N'); then the startup packet
                    length, code = struct.unpack("!ii", _exactly(conn, 8))
                    if code in (80877103, 80877104):
                        conn.sendall(b"N")
                        continue
                    _exactly(conn, length - 8)
                    break
                conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                kind, length = struct.unpack("!ci", _exactly(conn, 5))
                if kind == b"p":
                    self.passwords.append(_exactly(conn, length - 4).rstrip(b"\0").decode())
                fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"bizbot\"\0\0"
                conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
            except (OSError, struct.error):
                pass


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


@pytest.fixture
def wrong_password() -> Iterator[PasswordRefusingPostgres]:
    server = PasswordRefusingPostgres()
    yield server
    server.close()


@pytest.mark.parametrize("args", [["serve"], ["db", "upgrade"], ["outbox"]], ids=lambda a: " ".join(a))
def test_a_wrong_password(args: list[str], wrong_password: PasswordRefusingPostgres, tmp_path: Path) -> None:
    password = PASSWORD.replace(' ', '%20').replace('/', '%2F')
    url = f"postgresql://bizbot:{password}@127.0.0.1:{wrong_password.port}/bizbot"
    result = bizbot(args, {"BIZBOT_DATABASE_URL": url}, tmp_path)
    line = one_line(result)
    assert line.startswith(f"bizbot: cannot use the database BIZBOT_DATABASE_URL=postgresql://bizbot:***@127.0.0.1:"
                           f"{wrong_password.port}/bizbot: connection failed: ")
    assert line.endswith('password authentication failed for user "bizbot"')
    assert PASSWORD in wrong_password.passwords  # the password was tried, and shown nowhere
    assert "s3cret" not in result.stdout + result.stderr


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], capture_output=True, text=True,
                                env=cli_env({"BIZBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                                             "BIZBOT_HTTP_PORT": str(port)}), cwd=tmp_path, timeout=120)
    assert one_line(result) == (f"bizbot: cannot listen on 127.0.0.1:{port} (BIZBOT_HTTP_HOST, BIZBOT_HTTP_PORT): "
                                "Address already in use")
    assert not (tmp_path / "p.db").exists()  # stopped before anything else started


def test_serve_without_a_platform_says_what_to_set_and_its_scheduler_ticks_quietly(tmp_path: Path) -> None:
    """Health checks are served; the note comes once at start; a tick (seen by the backup it writes) logs
    nothing at INFO."""
    backups = tmp_path / "backups"
    served = ServeProcess({"BIZBOT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "BIZBOT_SWEEP_SECONDS": "0.1",
                           "BIZBOT_BACKUP_DIR": str(backups), "BIZBOT_BACKUP_HOUR": "0"}, tmp_path)
    try:
        served.wait_serving()
        deadline = time.monotonic() + 60
        while not list(backups.glob("bizbot-*.db")):  # the first tick's backup (the tick ran)
            assert time.monotonic() < deadline and served.proc.poll() is None, served.output()
            time.sleep(0.05)
    finally:
        log = served.stop()
    notes = [line for line in log.splitlines() if "no chat platform is configured" in line]
    assert len(notes) == 1 and " WARNING bizbot: " in notes[0], log
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in notes[0] and "TELEGRAM_BOT_TOKEN" in notes[0]
    assert "backup written" in log  # the tick's own news is logged
    assert "Running job" not in log and "executed successfully" not in log and " INFO apscheduler" not in log, log


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ["no chat platform is configured"]),
    ({"slack_bot_token": "xoxb-1"}, ["Slack is off: set SLACK_SIGNING_SECRET", "no chat platform"]),
    ({"slack_signing_secret": "s"}, ["Slack is off: set SLACK_BOT_TOKEN", "no chat platform"]),
    ({"telegram_webhook_url": "https://x.example/telegram/webhook", "slack_bot_token": "xoxb-1",
      "slack_signing_secret": "s"}, ["Telegram is off: set TELEGRAM_BOT_TOKEN"]),
    ({"telegram_bot_token": "1:x"}, []),
    ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"}, []),
])
def test_what_serve_says_about_platforms(env: dict[str, str], expected: list[str]) -> None:
    notes = platform_notes(Settings(**env))
    assert len(notes) == len(expected) and all(n.startswith(e) for n, e in zip(notes, expected, strict=True)), notes

