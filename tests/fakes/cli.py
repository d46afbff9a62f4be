"""The `bizbot` command run as a newcomer runs it: a subprocess with only the environment given."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BIZBOT_")}
    full_env["BIZBOT_LOG_FORMAT"] = "text"  # as on a terminal: the tests read its lines
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
        env={**full_env, "PYTHONPATH": str(ROOT)}, cwd=cwd or ROOT, timeout=120,
    )
