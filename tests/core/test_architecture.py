"""House rules that code review forgets: domain/ and handlers/ know nothing about chat platforms."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_MODULES = ("slack_bolt", "slack_sdk", "slack", "telegram", "aiogram", "bot")
PLATFORM_WORDS = ("block_kit", "blocks=", "callback_data", "inline_keyboard", "chat_id", "parse_mode", "mrkdwn")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_and_handlers_import_no_platform_library() -> None:
    offenders = []
    for folder in ("domain", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            bad = _imports(path) & set(PLATFORM_MODULES)
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_domain_and_handlers_carry_no_platform_markup() -> None:
    offenders = []
    for folder in ("domain", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8").lower()
            offenders += [f"{path.relative_to(ROOT)}: {w}" for w in PLATFORM_WORDS if w in text]
    assert offenders == []


def test_domain_does_not_import_handlers() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "domain").rglob("*.py") if "handlers" in _imports(p)
    ]
    assert offenders == []
