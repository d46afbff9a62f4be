"""`bizbot --version` is the installed package's version, and the CHANGELOG has an entry for it."""
from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

pytestmark = pytest.mark.fast
ROOT = Path(__file__).resolve().parents[2]


def test_version_comes_from_the_package_metadata() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"bizbot {version('bizbot')}"
    assert f"## {version('bizbot')}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
