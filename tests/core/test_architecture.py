"""House rules that code review forgets: domain/ and handlers/ know nothing about chat platforms."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # no database: reading the source

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_MODULES = ("slack_bolt", "slack_sdk", "slack", "telegram", "aiogram", "lark_oapi", "dingtalk_stream", "bot")
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


def _private(name: str) -> bool:
    """A name its module keeps to itself: a leading underscore, but not gettext's `_` nor a dunder."""
    return name.startswith("_") and name != "_" and not name.endswith("__")


def _bizbot_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return dotted.split(".")[0] in ("bot", "domain", "handlers") and (
        path.with_suffix(".py").is_file() or (path / "__init__.py").is_file())


def _private_uses(path: Path) -> list[str]:
    """Private names of bot/, domain/ or handlers/ that a test module imports or reads off an imported module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    modules: set[str] = set()  # local names bound to bizbot modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("bot", "domain", "handlers"):
                    found += [alias.name for part in alias.name.split(".") if _private(part)]
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] in ("bot", "domain", "handlers"):
            found += [node.module for part in node.module.split(".") if _private(part)]
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.module}.{alias.name}")
                elif _bizbot_module(f"{node.module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name) \
                and node.value.id in modules:
            found.append(f"{node.value.id}.{node.attr}")
    return [f"{path.relative_to(ROOT)}: {name}" for name in found]


def test_tests_use_no_private_name_of_the_code() -> None:
    """Tests go through the public names of bot/, domain/ and handlers/, so the code can change inside."""
    offenders = [use for path in sorted((ROOT / "tests").rglob("*.py")) for use in _private_uses(path)]
    assert offenders == []


PUBLIC_UNDERSCORED = {"_asdict", "_replace", "_fields", "_make", "_mapping"}  # named tuples' and rows' API


def test_tests_read_no_private_attribute_of_the_code() -> None:
    """Nor do they reach into an object's private attributes (`console._actor_ctx()`, `dispatcher._claim()`):
    a private attribute a test reads must be one the tests' own fakes define."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in (ROOT / "tests").rglob("*.py")}
    own = {name for tree in trees.values() for node in ast.walk(tree) for name in (
        [node.name] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else
        [node.attr] if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) else
        [node.id] if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) else [])}
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"
        for path, tree in sorted(trees.items()) for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own | PUBLIC_UNDERSCORED
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert offenders == []


def _defined_by_classes(tree: ast.Module) -> set[str]:
    """Names the module's own classes define: their methods and nested classes, class attributes, and the
    attributes their methods assign (`self._lease = ...`)."""
    names: set[str] = set()
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for node in ast.walk(cls):
            if node is cls:
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _library_private_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """Where a module reads a private name that is not its own: an attribute of an object other than `self` or
    `cls` that none of the module's classes defines (directly or through getattr/hasattr with a constant), or a
    private module or name imported from a library."""
    own = _defined_by_classes(tree) | PUBLIC_UNDERSCORED
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) \
                and _private(node.args[1].value) and node.args[1].value not in own:
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, f"import {alias.name}") for alias in node.names
                      if alias.name.split(".")[0] not in ("bot", "domain", "handlers")
                      and any(_private(part) for part in alias.name.split("."))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] not in ("bot", "domain", "handlers"):
            if any(_private(part) for part in node.module.split(".")):
                found.append((node.lineno, f"from {node.module} import ..."))
            found += [(node.lineno, f"from {node.module} import {alias.name}") for alias in node.names
                      if _private(alias.name)]
    return found


def test_code_reads_no_private_attribute_of_a_library() -> None:
    """bot/, domain/ and handlers/ use SQLAlchemy, slack-bolt, slack-sdk, python-telegram-bot and every other
    library through its public API only, so that upgrading one stays cheap: no module reads a private name of
    an object its own classes do not define."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for folder in ("bot", "domain", "handlers") for path in sorted((ROOT / folder).rglob("*.py"))
        for line, what in _library_private_reads(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []


@pytest.mark.parametrize("source", [
    "def f(conn):\n    return conn._dbapi_connection\n",                           # a library object's attribute
    "def f(app):\n    return app.bolt._listeners\n",
    "def f(application):\n    return getattr(application, '_update_queue')\n",
    "from sqlalchemy.engine.base import _EMPTY_EXECUTION_OPTIONS\n",                  # a library's private name
    "from telegram._utils.types import ODVInput\n",                                  # a library's private module
])
def test_a_private_read_of_a_library_is_found(source: str) -> None:
    assert _library_private_reads(ast.parse(source))


def test_own_private_names_and_public_underscored_api_are_allowed() -> None:
    source = (
        "class Lease:\n"
        "    def __init__(self):\n"
        "        self._session = None\n"
        "def release(held: Lease, row):\n"
        "    held._session = None\n"                  # an object of a class of the module's own
        "    return row._mapping, row._asdict()\n"    # SQLAlchemy rows' and named tuples' public API
    )
    assert _library_private_reads(ast.parse(source)) == []


# heavy libraries (each import says why; lark_oapi loads every Open API it wraps, ~3 s), loaded only by the
# process that needs them; readline, whose import switches input() to line editing and which some platforms
# lack; and the optional extras for tracing and error reporting (bot/observability.py), not installed unless
# wanted and imported only when configured
LAZY_IMPORTS = ("openpyxl", "dateparser", "pypinyin", "cn2an", "readline", "lark_oapi", "opentelemetry",
                "sentry_sdk")


def test_imports_are_at_module_level_but_the_heavy_optional_ones() -> None:
    offenders = []
    for folder in ("bot", "domain", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        names = [node.module or ""]
                    else:
                        continue
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                                  if name.split(".")[0] not in LAZY_IMPORTS]
    assert offenders == []
