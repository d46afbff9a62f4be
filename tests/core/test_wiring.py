"""Explicit wiring: each area adds its entries in its register(wiring), the composition root calls them, and
importing a module registers nothing."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import domain
import handlers
from bot.bootstrap import App, bootstrap, wire
from bot.settings import Settings
from domain import crm
from domain.approvals.engine import DECISION_LISTENERS, REQUEST_TYPES
from domain.crm.customers import ARCHIVE_SECTIONS
from domain.crm.handover import OWNER_MOVES
from domain.delivery.due import DUE_KINDS, RECURRING, DueKind, schedule, sweep
from domain.kernel.clock import FakeClock
from domain.kernel.wiring import Key, Wiring
from domain.reporting.exports import EXPORT_TABLES
from domain.reporting.figures import MEASURES
from domain.store.models import DueItem, OutboxMessage
from domain.team.agenda import AGENDA_SOURCES
from domain.team.handover import HANDOVERS
from domain.team.members import ensure_org

ROOT = Path(__file__).resolve().parents[2]
KEYS = (DUE_KINDS, RECURRING, AGENDA_SOURCES, MEASURES, REQUEST_TYPES, ARCHIVE_SECTIONS, EXPORT_TABLES)


@pytest.mark.fast
def test_a_registry_takes_a_name_once_and_a_key_is_its_own_registry() -> None:
    wiring = Wiring()
    assert not wiring and len(wiring[DUE_KINDS]) == 0 and not wiring     # reading a registry adds nothing
    kinds = wiring[DUE_KINDS]
    kinds.add(DueKind("ping", lambda uow, item: None))
    assert wiring and list(wiring[DUE_KINDS]) == ["ping"] and wiring[DUE_KINDS] is kinds
    with pytest.raises(ValueError, match="due kinds: 'ping' is registered twice"):
        kinds.add(DueKind("ping", lambda uow, item: None))
    other: Key[DueKind] = Key("due kinds")                                  # the same words, another registry
    assert len(wiring[other]) == 0


@pytest.mark.fast
def test_the_composition_root_wires_every_area_into_a_wiring_of_its_own() -> None:
    first, second = wire(), wire()
    assert all(len(first[key]) > 0 for key in KEYS)
    assert {"callback", "care", "calendar", "complaint", "approval_nudge", "meeting", "action",
            "review_open_monthly", "review_self"} <= set(first[DUE_KINDS])
    assert list(first[AGENDA_SOURCES]) == ["callback", "lead_step", "approval", "order", "complaint", "action",
                                           "invoice", "receivable", "project_item", "collab_due"]
    # what a leaving member hands over, and what goes with a customer to a new owner
    assert list(first[HANDOVERS]) == ["crm", "approvals", "orders", "complaints", "meeting", "appraisals",
                                      "receivables", "projects"]
    assert list(first[OWNER_MOVES]) == ["complaints"]
    assert set(first[REQUEST_TYPES]) == {"contract", "change", "expense", "leave", "project", "collab", "invoice",
                                         "plan"}
    assert set(first[DECISION_LISTENERS]) == {"projects", "collab"}
    assert set(first[EXPORT_TABLES]) == {"audit", "leads", "ledger", "complaints", "orders", "receivables", "projects",
                                         "projectfile"}
    assert [s.name for s in sorted(first[ARCHIVE_SECTIONS].values(), key=lambda s: s.order)] == \
        ["contracts", "complaints"]
    assert all(list(first[key]) == list(second[key]) for key in KEYS)
    second[DUE_KINDS].add(DueKind("ping", lambda uow, item: None))
    assert "ping" not in first[DUE_KINDS]


def _modules(package: Any) -> Iterator[Any]:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations." not in info.name:                                # run by Alembic, not imported
            yield importlib.import_module(info.name)


def _containers() -> dict[tuple[str, str], tuple[int, int]]:
    """Every module-level dict, list and set of domain/ and handlers/: which object, and how many entries."""
    return {(m.__name__, name): (id(value), len(value)) for package in (domain, handlers) for m in _modules(package)
            for name, value in vars(m).items()
            if not name.startswith("__") and isinstance(value, dict | list | set)}


@pytest.mark.fast
def test_importing_every_module_registers_nothing_and_wiring_writes_nowhere_else() -> None:
    before = _containers()
    assert not Wiring()
    wiring = wire()
    handlers.load()
    assert wiring and _containers() == before


# what a module may do when imported: define things; a decorator may only wrap what it decorates
PURE_DECORATORS = {"dataclass", "cache", "lru_cache", "contextmanager", "transition", "property", "staticmethod"}


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target)


@pytest.mark.fast
def test_no_module_of_domain_runs_a_registration_when_imported() -> None:
    offenders = []
    for path in (ROOT / "domain").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for n, node in enumerate(body):
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                offenders += [f"{where} @{_decorator_name(d)}" for d in node.decorator_list
                              if _decorator_name(d) not in PURE_DECORATORS]
            elif not (isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign)
                      or (n == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))):
                offenders.append(f"{where} {ast.unparse(node).splitlines()[0]}")
    assert offenders == []


@pytest.mark.fast
def test_a_handler_module_adds_commands_to_its_own_set_only() -> None:
    offenders = []
    for path in (ROOT / "handlers").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            calls = [d for d in getattr(node, "decorator_list", [])]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                calls.append(node.value)
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for call in calls
                          if "." in _decorator_name(call) and not _decorator_name(call).startswith("commands.")]
    assert offenders == []


# --- an application of customer development alone ---------------------------------------------


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[App]:
    """The application with crm's wiring only (the `bot` fixture drives it)."""
    crm_only = Wiring()
    crm.register(crm_only)
    application = bootstrap(Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins=""), clock,
                            wiring=crm_only)
    yield application
    application.close()


def test_crm_alone_reminds_of_callbacks_and_passes_over_kinds_it_lacks(bot, app, clock) -> None:
    assert set(app.wiring[DUE_KINDS]) == {"callback", "care", "calendar", "lead_step", "lead_stale",
                                          "lead_stale_week"}
    assert not app.wiring[REQUEST_TYPES] and not app.wiring[MEASURES] and not app.wiring[ARCHIVE_SECTIONS]
    bot("/remind mute calendar", "/customer new Acme", '/visit Acme note="pricing" next=2026-11-24')
    with app.uow() as uow:                                       # an item of a kind this application lacks
        schedule(uow, 1, "complaint", 99, uow.now + timedelta(hours=1), key="complaint:99:1:response:remind")
        uow.commit()
    out = bot(":advance 1d")
    assert "→ @wang: Callback due Nov 24, 2026: Acme (after visit)." in out
    with app.uow() as uow:
        items = {item.kind: item.state for item in uow.session.scalars(select(DueItem))}
        keys = list(uow.session.scalars(select(OutboxMessage.key)))
    # (a visit to a key account would also ask its risk indicator to look again, and that item would be passed
    # over too: crm alone has no risk indicators' kind)
    assert items == {"callback": "fired", "care": "pending", "calendar": "pending", "complaint": "fired",
                     "lead_stale": "pending", "lead_stale_week": "pending"}
    assert not any(key.startswith("complaint") for key in keys)    # passed over, as the sweep does with any
    agenda = bot("/agenda")
    assert "Callbacks due" in agenda and "Approvals" not in agenda and "Action items" not in agenda
    archive = bot("/customer show Acme")
    assert "Visits" in archive and "Contracts" not in archive and "Complaints" not in archive
    kinds = bot("/remind list")
    assert "customer callbacks · on" in kinds and "calendar notices · muted" in kinds and "approval" not in kinds


def test_an_item_a_firing_schedules_for_now_fires_in_the_same_sweep(db_url: str, clock: FakeClock) -> None:
    """A review's reminder due the morning it opens is fired with the opening, so the dispatcher finds both
    notices due together and merges them, instead of sending the reminder on its own a tick later."""
    fired: list[int] = []

    def chain(uow, item) -> None:
        fired.append(item.subject_id)
        if item.subject_id < 3:
            schedule(uow, item.org_id, "chain", item.subject_id + 1, uow.now)

    wiring = Wiring()
    wiring[DUE_KINDS].add(DueKind("chain", chain))
    application = bootstrap(Settings(database_url=db_url, locale="en", timezone="Asia/Shanghai", admins=""), clock,
                            wiring=wiring)
    try:
        with application.services.uow() as uow:
            org = ensure_org(uow, "console", "local", "Sales", "Asia/Shanghai", "en")
            uow.session.flush()
            schedule(uow, org.id, "chain", 1, uow.now)
            uow.commit()
        assert sweep(application.services.uow) == 3 and fired == [1, 2, 3]
        assert sweep(application.services.uow) == 0
    finally:
        application.close()
