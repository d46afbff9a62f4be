"""`bizbot serve` as an operator runs it: a process of its own on 127.0.0.1, its whole log kept in a file."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PREFIXES = ("BIZBOT_", "SLACK_", "TELEGRAM_", "FEISHU_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without any bizbot or platform setting, plus `env`; logs as plain text, as
    on a terminal (the tests read its lines), unless `env` says otherwise."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    return {**base, "PYTHONPATH": str(ROOT), "BIZBOT_CPU": "off", "BIZBOT_LOG_FORMAT": "text", **env}


class ServeProcess:
    """`python -m bot.cli serve` with `env`; stdout and stderr both go to `log` (a file, so a chatty log
    never fills a pipe and stalls the server)."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        self._out = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"],
                                     env=cli_env({"BIZBOT_HTTP_PORT": str(self.port), **env}), cwd=cwd,
                                     stdout=self._out, stderr=subprocess.STDOUT, text=True)

    def wait_serving(self, timeout: float = 60) -> None:
        """Until /healthz answers (uvicorn serves once the application has started)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"bizbot serve exited ({self.proc.returncode}):\n{self.output()}") from None
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def stop(self) -> str:
        """Stop it as an orchestrator does (SIGTERM), and its whole output."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()
        return self.output()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
