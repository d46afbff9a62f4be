"""/metrics after a scripted run: commands through a fake Telegram and the console, the worker's tick, then a
scrape of the real ASGI app."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update
from fakes.telegram_stack import TOKEN, TelegramStack
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.console.app import Console
from domain.delivery.due import schedule
from domain.store.models import Organisation

ALICE = 111


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_after_a_scripted_run(tg: TelegramStack, clock) -> None:
    for text in ("/customer new Acme", "/customer new Bolt", "/customer list", "/customer frobnicate", "/nosuch"):
        assert tg.post(command_update(text=text, user_id=ALICE, chat_id=GROUP_ID, chat_type="group")).status_code == 200
    with tg.app.uow() as uow:  # a due item, fired by the tick below
        org_id = uow.session.scalar(select(Organisation.id).where(Organisation.platform == "telegram"))
        schedule(uow, org_id, "nonesuch", 1, clock.now())
        uow.commit()
    tg.deliver()  # this replica leads, sweeps and dispatches
    response = tg.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)

    assert value(found, "bizbot_commands_total", command="customer new", platform="telegram", outcome="ok") == 2
    assert value(found, "bizbot_commands_total", command="customer list", platform="telegram", outcome="ok") == 1
    assert value(found, "bizbot_commands_total", command="unknown", platform="telegram", outcome="invalid") == 2
    assert value(found, "bizbot_command_seconds_count", command="customer new", platform="telegram") == 2
    assert value(found, "bizbot_ack_seconds_count", platform="telegram") == 5
    assert value(found, "bizbot_sweep_seconds_count") == 1
    assert value(found, "bizbot_dispatch_seconds_count") == 1
    assert value(found, "bizbot_swept_items_total") == 1
    assert value(found, "bizbot_due_items", state="fired") == 1
    assert value(found, "bizbot_metrics_database_up") == 1
    replica = tg.asgi.state.worker.leadership.replica.holder
    assert value(found, "bizbot_leader", replica=replica) == 1
    assert any(name == "bizbot_info" for name, _labels in found)
    # every outbox message counted by state and by its department's platform
    outbox = {labels: v for (name, labels), v in found.items() if name == "bizbot_outbox_messages"}
    assert all(dict(labels)["platform"] == "telegram" for labels in outbox)
    assert re.search(r"^# TYPE bizbot_command_seconds histogram$", response.text, re.M)


def test_console_commands_are_counted_too(app, clock) -> None:
    console = Console(app, clock, out=io.StringIO(), user="wang")
    console.handle("/customer new Acme")
    console.handle("/customer new")
    found = samples(generate_latest(app.metrics.registry).decode())
    assert value(found, "bizbot_commands_total", command="customer new", platform="console", outcome="ok") == 1
    assert value(found, "bizbot_commands_total", command="customer new", platform="console", outcome="invalid") == 1
