"""Deliveries a platform may repeat (retries, replays) are processed once: their ids are remembered."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.store.models import InboundEvent
from domain.store.uow import UnitOfWork

KEEP = timedelta(days=3)


# Asked for every update, so built once per dialect (building the statement costs more than running it); whether
# the row went in is its row count (no RETURNING: nothing is read back)
_RECORD = {
    name: insert(InboundEvent).on_conflict_do_nothing(index_elements=["platform", "key"])
    .execution_options(preserve_rowcount=True)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def record_delivery(uow: UnitOfWork, platform: str, key: str) -> bool:
    """Record the event id, uncommitted; False when it was recorded before (by this process or any other;
    on PostgreSQL a record not yet committed elsewhere is waited for)."""
    connection = uow.connection()
    return connection.execute(_RECORD[connection.dialect.name],
                              {"platform": platform, "key": key[:200], "received_at": uow.now}).rowcount == 1


def seen_delivery(uow: UnitOfWork, platform: str, key: str) -> bool:
    """Whether the event id was recorded (and committed) before. For what is recorded only once its handling is
    done, so a delivery whose handling failed is not remembered and its redelivery runs it."""
    return uow.connection().execute(
        select(InboundEvent.id).where(InboundEvent.platform == platform, InboundEvent.key == key[:200]).limit(1)
    ).first() is not None


def record_pending(uow: UnitOfWork, platform: str, key: str, event: str) -> bool:
    """Record the event id with the event itself, uncommitted, before the platform is told it arrived; False
    when it was recorded before (a repeat, whose work is done or under way)."""
    connection = uow.connection()
    return connection.execute(_RECORD[connection.dialect.name],
                              {"platform": platform, "key": key[:200], "received_at": uow.now,
                               "pending": event}).rowcount == 1


def take_pending(uow: UnitOfWork, platform: str, key: str) -> bool:
    """Claim a recorded event's work, uncommitted: True once, for whoever clears its `pending` first (on
    PostgreSQL a claim not yet committed elsewhere is waited for, then found taken)."""
    result = cast(CursorResult[Any], uow.connection().execute(
        update(InboundEvent)
        .where(InboundEvent.platform == platform, InboundEvent.key == key[:200], InboundEvent.pending.is_not(None))
        .values(pending=None)))
    return result.rowcount == 1


def pending_events(uow: UnitOfWork, platform: str, limit: int = 500) -> list[tuple[str, str]]:
    """Events recorded but whose work was never taken (the process stopped after acknowledging them), oldest
    first: (key, event)."""
    rows = uow.connection().execute(
        select(InboundEvent.key, InboundEvent.pending)
        .where(InboundEvent.platform == platform, InboundEvent.pending.is_not(None))
        .order_by(InboundEvent.id).limit(limit))
    return [(key, str(event)) for key, event in rows]


def first_delivery(uow: UnitOfWork, platform: str, key: str) -> bool:
    """Record the event id and commit; False when it was seen before."""
    first = record_delivery(uow, platform, key)
    uow.commit()
    return first


def forget_old(uow: UnitOfWork) -> int:
    result = cast(CursorResult[Any],
                  uow.session.execute(delete(InboundEvent).where(InboundEvent.received_at < uow.now - KEEP)))
    uow.commit()
    return result.rowcount
