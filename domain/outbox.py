"""The outbox: messages written in the same transaction as their cause, sent later, once.

A payload is a message id, named parameters and buttons; it is rendered when sent, in the
recipient's locale, so a reminder reads in the language of whoever gets it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.i18n import Label, fmt_date, fmt_datetime, fmt_money, translate, use_locale
from domain.models import OutboxMessage
from domain.uow import UnitOfWork


@dataclass(frozen=True)
class OutButton:
    """A button on a message bizbot sends later; `label` is a message id, `command` a typed command."""

    label: str
    command: str
    decision: bool = False


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Label):
        return {"$label": str(value)}
    if isinstance(value, Money):
        return {"$money": [str(value.amount), value.currency]}
    return value


def decode(value: Any, tz: str) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        if tag == "$datetime":
            return fmt_datetime(datetime.fromisoformat(raw), tz)
        if tag == "$date":
            return fmt_date(date.fromisoformat(raw))
        if tag == "$label":
            return translate(raw)
        if tag == "$money":
            return fmt_money(Decimal(raw[0]), raw[1])
    return value


def enqueue(
    uow: UnitOfWork,
    *,
    org_id: int,
    key: str,
    msgid: str,
    params: dict[str, Any] | None = None,
    recipient_id: int | None = None,
    channel: str | None = None,
    buttons: list[OutButton] | None = None,
    available_at: datetime | None = None,
) -> None:
    """Add a message unless one with the same idempotency key exists (then do nothing)."""
    payload = {
        "msg": msgid,
        "params": {k: encode(v) for k, v in (params or {}).items()},
        "buttons": [{"label": b.label, "command": b.command, "decision": b.decision} for b in (buttons or [])],
    }
    values = dict(
        org_id=org_id,
        key=key,
        recipient_id=recipient_id,
        channel=channel,
        payload=payload,
        status="pending",
        attempts=0,
        available_at=available_at or uow.now,
        created_at=uow.now,
    )
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    uow.session.execute(
        insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
    )


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: list[OutButton]


def render(payload: dict[str, Any], locale: str, tz: str) -> Rendered:
    with use_locale(locale):
        params = {k: decode(v, tz) for k, v in payload.get("params", {}).items()}
        text = translate(payload["msg"]).format(**params)
        buttons = [OutButton(translate(b["label"]), b["command"], b.get("decision", False))
                   for b in payload.get("buttons", [])]
    return Rendered(text, buttons)
