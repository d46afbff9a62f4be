"""Instructions per Slack command, counted by valgrind: a measure a noisy machine does not blur.

    .venv/bin/python bench/instructions.py [--first 20] [--last 100] [--targets bare,visit,list,db-visit,db-list]

bench/slack_ack.py measures time, and on a shared VM the same code reads 10-30% apart from one run to the
next. This counts the instructions a command costs instead: each target runs in a child process under
`valgrind --tool=callgrind` (PYTHONHASHSEED=0), once with --first and once with --last commands after the
same set-up, and the difference divided by the difference in commands is one command's instructions
(start-up and set-up cancel out). Runs repeat to within about 1%. It is for comparing versions of bizbot,
not for checking the targets: the requests are driven through ASGI without uvicorn, whose HTTP handling both
apps pay alike, so the ratio here is lower than the one bench/slack_ack.py measures; and instructions are
not time (bizbot's larger heap misses the caches more often).

Targets (the same apps as bench/slack_ack.py, driven in-process through ASGI, one command after another):
  bare      the bare slack-bolt AsyncApp acking `/ping`
  visit     bizbot's `/visit Acme note=...` through Starlette and Bolt to its ack
  list      bizbot's `/lead list`
  db-visit  only what the database thread does for a /visit (who is acting, the use case, the commit)
  db-list   the same for /lead list
The use cases run on the event loop's thread here, not on the database thread: under valgrind, which runs
one thread at a time, the hand-overs between threads make the counts vary by 10-15% from run to run. The
ack budget is raised, since valgrind runs the code about fifty times slower. Needs valgrind (not a
project dependency; `apt-get install valgrind`). Takes about ten minutes for all five targets.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

TARGETS = ("bare", "visit", "list", "db-visit", "db-list")
LINES = {"visit": ("/visit", 'Acme note="bench visit"', "Visit V"), "list": ("/lead", "list", "Leads (")}


# --- child: one target, N commands ------------------------------------------------------------
class _InlineExecutor(Executor):
    """Runs each use case at once on the calling thread (see the module's docstring for why), an Executor
    without threads, so the adapters take the same paths as with the server's."""

    def __init__(self, app: Any) -> None:
        app.sessions.hold()  # the event loop's thread holds the connection, as the database thread would

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:  # type: ignore[override]
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as the executor would
            future.set_exception(exc)
        return future

    def background(self) -> Executor:
        return self


async def _call(app: Any, body: bytes, expect: str) -> None:
    from fakes.slack_payloads import next_trigger_id, signed_headers
    from slack_ack import SECRET

    body = body.replace(b"TRIGGER", next_trigger_id().encode())  # a trigger_id of its own, as Slack sends
    headers = [(k.lower().encode(), v.encode()) for k, v in signed_headers(body, SECRET).items()]
    headers += [(b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/slack/events", "raw_path": b"/slack/events", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app(scope, receive, send)
    text = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body").decode()
    if expect not in text:
        raise SystemExit(f"unexpected answer: {text[:300]}")


def _asgi_target(target: str, commands: int) -> None:
    import slack_ack
    from fakes.slack_fake import FakeSlack

    import bot.server
    import bot.slack.app

    bot.slack.app.ACK_BUDGET = 600.0
    bot.server.database_threads = _InlineExecutor  # type: ignore[assignment]
    team = "T" + uuid.uuid4().hex[:8].upper()
    with tempfile.TemporaryDirectory() as tmp, FakeSlack(team_id=team) as fake:
        fake.users["U1"] = {"real_name": "Bench", "locale": "en-US"}

        def body(command: str, text: str) -> bytes:
            return slack_ack.command_body(fake.base_url, team, command, text)

        setup: list[tuple[bytes, str]] = []
        if target == "bare":
            app, _unused = slack_ack._bare_asgi(fake.api_url, True)
            measured, expect = body("/ping", ""), "pong"
        else:
            app, _unused = slack_ack._bizbot_asgi(fake.api_url, f"sqlite:///{tmp}/bizbot.db")
            setup = [(body("/customer", "new Acme"), "Acme")] + [
                (body("/lead", f"new Acme value={(i + 1) * 100000} source=web"), "Lead L") for i in range(5)]
            command, text, expect = LINES[target]
            measured = body(command, text)

        async def run() -> None:
            lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            await lifespan.put({"type": "lifespan.startup"})
            started = asyncio.Event()

            async def lifespan_send(message: dict[str, Any]) -> None:
                if message["type"] == "lifespan.startup.complete":
                    started.set()

            task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.get,
                                             lifespan_send))
            await started.wait()
            for request, answer in setup:
                await _call(app, request, answer)
            for _i in range(30):  # warm: caches filled, statements compiled
                await _call(app, measured, expect)
            gc.collect()
            for _i in range(commands):
                await _call(app, measured, expect)
            await lifespan.put({"type": "lifespan.shutdown"})
            await task

        asyncio.run(run())


def _db_target(target: str, commands: int) -> None:
    from bot.bootstrap import bootstrap
    from bot.settings import Settings
    from bot.slack.app import SlackAdapter, SlackUser

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bizbot.db", locale="en", timezone="Asia/Shanghai",
                            admins="", open_enrolment=True,  # the first user opens the department
                            slack_bot_token="xoxb-bench",
                            slack_signing_secret="bench",
                            slack_api_url="http://127.0.0.1:9/api/")
        app = bootstrap(settings)
        executor = ThreadPoolExecutor(1)
        adapter = SlackAdapter(app, settings, executor)
        user = SlackUser("T1", "U1")
        app.sessions.hold()  # as the server's database thread does
        adapter._run(user, "Bench", "en", "/customer new Acme")
        for i in range(5):
            adapter._run(user, "Bench", "en", f"/lead new Acme value={(i + 1) * 100000} source=web")
        command, text, _expect = LINES[target.removeprefix("db-")]
        line = f"{command} {text}"
        for _i in range(30):
            adapter._run(user, "Bench", "en", line)
        gc.collect()
        for _i in range(commands):
            adapter._run(user, "Bench", "en", line)
        app.sessions.release()
        executor.shutdown()
        app.close()


# --- parent: count, subtract, report ---------------------------------------------------------
def _instructions(target: str, commands: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
         "--child", target, str(commands)], env=env, capture_output=True, text=True, timeout=3600)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{target} with {commands} commands failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=20, help="commands in the first count (20)")
    parser.add_argument("--last", type=int, default=100, help="commands in the second count (100)")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"some of {', '.join(TARGETS)}")
    parser.add_argument("--child", nargs=2, metavar=("TARGET", "COMMANDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        target, commands = args.child[0], int(args.child[1])
        (_db_target if target.startswith("db-") else _asgi_target)(target, commands)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/instructions.py needs valgrind on the PATH")
    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; choose from {TARGETS}")
    per: dict[str, float] = {}
    print(f"valgrind callgrind, PYTHONHASHSEED=0; per command = (count at {args.last} - count at {args.first}) "
          f"/ {args.last - args.first}", flush=True)
    for target in targets:
        first, last = _instructions(target, args.first), _instructions(target, args.last)
        per[target] = (last - first) / (args.last - args.first)
        print(f"  {target:<9} {per[target] / 1000:9.1f} k instructions per command", flush=True)
    if "bare" in per:
        print()
        for target in ("visit", "list"):
            if target in per:
                print(f"bare ack / bizbot {target}: {per['bare'] / per[target]:.0%} (without uvicorn's HTTP "
                      f"handling, which both pay: lower than the ratio bench/slack_ack.py measures)")


if __name__ == "__main__":
    main()
