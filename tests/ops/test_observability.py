"""Tracing and error reporting are opt-in: unset, nothing is imported or enabled; set without the library,
one clear line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import io, logging, sys
from bot.logs import configure
from bot.observability import enable
from bot.settings import load_settings
settings = load_settings()
out = io.StringIO()
configure(settings, "info", stream=out)
print(enable(settings), "opentelemetry" in sys.modules, "sentry_sdk" in sys.modules)
print(out.getvalue(), end="")
"""


def probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BIZBOT_", "OTEL_", "SENTRY_", "SLACK_", "TELEGRAM_"))}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                            env={**clean, "PYTHONPATH": str(ROOT), "BIZBOT_LOG_FORMAT": "text", **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def installed(name: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True).returncode == 0


def test_unset_nothing_is_imported_or_enabled() -> None:
    assert probe() == ["[] False False"]


@pytest.mark.skipif(installed("sentry_sdk") or installed("opentelemetry.sdk"),
                    reason="the optional libraries are installed here")
def test_set_without_the_library_says_so_in_one_line() -> None:
    lines = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318", SENTRY_DSN="https://key@sentry.example/1")
    assert lines[0] == "[] False False"
    warnings = lines[1:]
    assert len(warnings) == 2 and all("pip install 'bizbot[observability]'" in w for w in warnings)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in warnings[0] and "SENTRY_DSN" in warnings[1]
    assert "key@" not in "".join(warnings)
