"""The `bizbot` command as a newcomer runs it: scripted console sessions, settings errors, db upgrade."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.cli import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_env(db_url: str) -> dict[str, str]:
    return {"BIZBOT_DATABASE_URL": db_url}


WALKTHROUGH = """\
/settings lang zh
/team add 小李 role=sales lang=zh supervisor=王经理
/customer new 华为 行业=通信 级别=重点
/lead new 华为 value=50万 source=展会 owner=小李
/visit 华为 note="介绍方案，客户关心交期" next=下周三
:advance 10d
:now
"""


def test_console_walkthrough_in_chinese(db_env: dict[str, str]) -> None:
    result = run(["console", "--as", "王经理", "--now", "2026-11-23T10:00"], WALKTHROUGH, db_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # no BIZBOT_LOCALE: the department speaks its first member's language, read from the name's script
    assert out.startswith("欢迎，王经理！") and "如需切换，请发送 /设置 部门语言 英文。" in out
    assert "小李" in out and "华为" in out
    reminder = [line for line in out.splitlines() if "→ @王经理" in line and "华为" in line]
    assert reminder and reminder[0].startswith("[2026-12-02 09:00] → @王经理: ")
    assert "2026年12月2日" in reminder[0]
    assert "Callback due" not in out and "Traceback" not in result.stderr


def test_first_contact_speaks_the_operators_language_when_one_is_chosen(db_env: dict[str, str]) -> None:
    chosen = run(["console", "--as", "王经理"], "", {**db_env, "BIZBOT_LOCALE": "en"})
    assert chosen.stdout.startswith("Welcome, 王经理! You are the first member")
    assert "to switch, type /settings deptlang zh." in chosen.stdout


def test_console_prints_reminder_to_the_owner(db_env: dict[str, str]) -> None:
    script = "/team add alice role=sales\n:as alice\n/customer new Acme\n" \
             "/visit Acme note=\"pricing\" next=tomorrow\n:advance 1d\n"
    result = run(["console", "--as", "boss", "--now", "2026-11-23T10:00+08:00"], script, db_env)
    assert "[2026-11-24 09:00] → @alice: Callback due Nov 24, 2026: Acme (after visit)." in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BIZBOT_TIMEZONE": "Mars/Base"}, "BIZBOT_TIMEZONE: unknown time zone 'Mars/Base'"),
        ({"BIZBOT_LOCALE": "klingon"}, "BIZBOT_LOCALE: unknown language 'klingon'"),
        ({"BIZBOT_DATABASE_URL": "mysql://x"}, "BIZBOT_DATABASE_URL: use sqlite:///PATH or postgresql://"),
        ({"BIZBOT_DATABASE_URL": "::nonsense::"}, "BIZBOT_DATABASE_URL: not a database URL"),
        ({"BIZBOT_ADMINS": "U123"}, "BIZBOT_ADMINS: 'U123' is not PLATFORM:ID"),
        ({"BIZBOT_CPU": "fast"}, "BIZBOT_CPU: auto, off, or a CPU number"),
    ],
)
def test_bad_setting_stops_with_one_clear_line(env: dict[str, str], message: str, tmp_path: Path) -> None:
    result = run(["console"], "", env, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"bizbot: bad setting {message}")


def test_admins_setting_enrols_named_admin(db_env: dict[str, str]) -> None:
    run(["console", "--as", "first"], "/team list\n", db_env)
    result = run(["console", "--as", "ops"], "/team list\n", {**db_env, "BIZBOT_ADMINS": "console:ops"})
    assert "You are an admin (BIZBOT_ADMINS)" in result.stdout
    assert "ops — admin" in result.stdout


def test_stranger_is_told_how_to_join(db_env: dict[str, str]) -> None:
    run(["console", "--as", "first"], "/team list\n", db_env)
    result = run(["console", "--as", "stranger"], "/team list\n", db_env)
    assert "not a member yet" in result.stdout and "/team add stranger" in result.stdout
    assert "Nobody is acting" in result.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    head = _head_revision()
    result = run(["db", "upgrade"], env={"BIZBOT_DATABASE_URL": url})
    assert result.returncode == 0 and f"database at revision {head}" in result.stdout
    assert run(["db", "current"], env={"BIZBOT_DATABASE_URL": url}).stdout.strip() == head


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from domain.store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    (head,) = ScriptDirectory.from_config(cfg).get_heads()
    return head


def test_default_database_is_bizbot_db_in_the_working_directory(tmp_path: Path) -> None:
    result = run(["console", "--as", "me"], "/team list\n", {}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bizbot.db").exists()


def test_committed_slack_manifest_is_current() -> None:
    result = run(["slack", "manifest"])
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "deploy/slack/manifest.yaml").read_text(encoding="utf-8")
    assert result.stdout == committed, "run: bizbot slack manifest -o deploy/slack/manifest.yaml"


def test_serve_answers_health_checks(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BIZBOT_", "SLACK_"))},
           "PYTHONPATH": str(ROOT), "BIZBOT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
           "BIZBOT_HTTP_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    ready = json.loads(resp.read())
                    # the one process on its SQLite file leads the scheduler from the start
                    assert ready["status"] == "ready" and ready["scheduler"]["leader"] is True
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            assert json.loads(resp.read()) == {"status": "ok"}
        if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
            # BIZBOT_CPU=auto on SQLite: the event loop and the database thread share one CPU
            assert os.sched_getaffinity(proc.pid) == {max(os.sched_getaffinity(0))}
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "xoxb" not in output


def test_the_server_freezes_what_start_up_allocated(tmp_path: Path) -> None:
    """`bizbot serve` (create_asgi with freeze_heap) moves start-up's objects out of the cyclic collector's
    reach once started; a test process leaves it off (run apart, so this process is not frozen)."""
    code = """if True:
        import gc, sys
        from starlette.testclient import TestClient
        from bot.bootstrap import bootstrap
        from bot.server import create_asgi
        from bot.settings import Settings
        app = bootstrap(Settings(database_url=sys.argv[1]))
        for freeze in (False, True):
            with TestClient(create_asgi(app, run_worker=False, freeze_heap=freeze)) as client:
                assert client.get("/healthz").status_code == 200
                print(freeze, gc.get_freeze_count() > 0)
    """
    out = subprocess.run([sys.executable, "-c", code, f"sqlite:///{tmp_path / 'f.db'}"], cwd=ROOT, text=True,
                         capture_output=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["False", "False", "True", "True"], out.stderr


def test_outbox_command_lists_and_retries(db_env: dict[str, str]) -> None:
    run(["console", "--as", "w", "--now", "2026-11-23T10:00"],
        '/customer new Acme\n/visit Acme note="x" next=today\n', db_env)
    listing = run(["outbox", "--status", "sent"], env=db_env)
    assert listing.returncode == 0 and "callback:2:" in listing.stdout
    assert run(["outbox", "--retry", "all"], env=db_env).stdout.strip() == "re-queued 0 parked message(s)"


def test_cpu_setting_pins_only_where_asked(tmp_path: Path) -> None:
    """auto pins on SQLite only; off never; a CPU this process may not use is one clear line."""
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("CPU affinity is Linux-only; elsewhere bizbot leaves placement to the OS")
    allowed = sorted(os.sched_getaffinity(0))
    probe = ("import os, sys\nfrom bot.affinity import AffinityError, pin\n"
             "try:\n    cpu = pin(sys.argv[1], sys.argv[2])\nexcept AffinityError as exc:\n    print(exc)\n"
             "else:\n    print(cpu, sorted(os.sched_getaffinity(0)))\n")

    def ask(setting: str, dialect: str) -> str:
        result = subprocess.run([sys.executable, "-c", probe, setting, dialect], capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert ask("auto", "sqlite") == f"{allowed[-1]} [{allowed[-1]}]"
    assert ask("auto", "postgresql") == f"None {allowed}"
    assert ask("off", "sqlite") == f"None {allowed}"
    assert ask(str(allowed[0]), "postgresql") == f"{allowed[0]} [{allowed[0]}]"
    assert ask("4096", "sqlite").startswith("BIZBOT_CPU: CPU 4096 is not one this process may use")
