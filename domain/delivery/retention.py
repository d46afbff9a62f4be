"""Retention: what has done its work is kept for a while, then deleted, in bounded batches.

- due items fired or cancelled (by when they fired, or were due);
- outbox messages sent, merged into another or dropped, and the files sent with them (parked ones stay until
  an operator retries them);
- records of the platforms' events (kept only to process a redelivery once: platforms redeliver within
  hours);
- the audit log, per department: the department's policy (`audit_retention_days` in its settings) or else
  the installation's default; 0 keeps it for ever.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import aliased

from domain.store.models import AuditEntry, DueItem, InboundEvent, Organisation, OutboxAttachment, OutboxMessage
from domain.store.uow import UnitOfWork, UowFactory

AUDIT_POLICY = "audit_retention_days"  # the department's own audit retention, in its settings


@dataclass(frozen=True)
class Retention:
    """Days each kind of record is kept (0: for ever)."""

    due_days: int = 30
    outbox_days: int = 30
    events_days: int = 7
    audit_days: int = 0


@dataclass
class Purged:
    counts: dict[str, int] = field(default_factory=dict)
    done: bool = True  # False: a bound was reached and more remains for the next run

    def add(self, table: str, count: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + count


def audit_days(org: Organisation, default: int) -> int:
    """The department's audit retention: its own policy if it has one, else the installation's."""
    value: Any = (org.settings or {}).get(AUDIT_POLICY)
    return int(value) if isinstance(value, int) and value >= 0 else default


def purge(uow_factory: UowFactory, retention: Retention, batch: int = 1000, batches: int = 20) -> Purged:
    """Delete what is past its retention, `batch` rows a transaction and at most `batches` transactions a
    table a run (so one run is bounded; what is left goes next run)."""
    result = Purged()

    def run(table: str, one: Any) -> None:
        for _round in range(batches):
            with uow_factory() as uow:
                count = one(uow)
                uow.commit()
            result.add(table, count)
            if count < batch:
                return
        result.done = False

    if retention.due_days:
        run("due_items", lambda uow: _due(uow, uow.now - timedelta(days=retention.due_days), batch))
    if retention.outbox_days:
        run("outbox", lambda uow: _outbox(uow, uow.now - timedelta(days=retention.outbox_days), batch))
        run("outbox_attachments",
            lambda uow: _attachments(uow, uow.now - timedelta(days=retention.outbox_days), batch))
    if retention.events_days:
        run("inbound_events", lambda uow: _ids(uow, InboundEvent, InboundEvent.received_at
                                               < uow.now - timedelta(days=retention.events_days), batch))
    with uow_factory() as uow:
        policies = [(org.id, audit_days(org, retention.audit_days))
                    for org in uow.session.scalars(select(Organisation).order_by(Organisation.id))]
    for org_id, days in policies:
        if days:
            run("audit_log", lambda uow, org_id=org_id, days=days: _ids(
                uow, AuditEntry, and_(AuditEntry.org_id == org_id, AuditEntry.at < uow.now - timedelta(days=days)),
                batch))
    return result


def _ids(uow: UnitOfWork, model: Any, where: Any, batch: int) -> int:
    """Delete up to `batch` rows of `model` matching `where`; how many went."""
    ids = list(uow.session.scalars(select(model.id).where(where).order_by(model.id).limit(batch)))
    if ids:
        uow.session.execute(delete(model).where(model.id.in_(ids)), execution_options={"synchronize_session": False})
    return len(ids)


def _due(uow: UnitOfWork, cutoff: Any, batch: int) -> int:
    return _ids(uow, DueItem, or_(and_(DueItem.state == "fired", DueItem.fired_at < cutoff),
                                  and_(DueItem.state == "cancelled", DueItem.due_at < cutoff)), batch)


def _outbox(uow: UnitOfWork, cutoff: Any, batch: int) -> int:
    """Messages done before `cutoff`: sent ones by when they were sent, merged and dropped ones by when they
    were due; a message another (merged) one still points to goes only after it."""
    carried = aliased(OutboxMessage)
    still_pointed_to = exists().where(carried.merged_into_id == OutboxMessage.id)
    return _ids(uow, OutboxMessage, and_(
        or_(and_(OutboxMessage.status == "sent", OutboxMessage.sent_at < cutoff),
            and_(OutboxMessage.status.in_(("merged", "dropped")), OutboxMessage.available_at < cutoff)),
        ~still_pointed_to), batch)


def _attachments(uow: UnitOfWork, cutoff: Any, batch: int) -> int:
    """Files whose message is gone (purged), once they are past the retention themselves."""
    return _ids(uow, OutboxAttachment, and_(
        OutboxAttachment.created_at < cutoff,
        ~exists().where(OutboxMessage.key == OutboxAttachment.key)), batch)
