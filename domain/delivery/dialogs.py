"""Short-lived adapter state in the database (half-filled forms, long button payloads)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select

from domain.store.models import Dialog
from domain.store.uow import UnitOfWork


def put(uow: UnitOfWork, platform: str, key: str, payload: dict[str, Any], ttl: timedelta) -> None:
    row = uow.session.scalar(select(Dialog).where(Dialog.platform == platform, Dialog.key == key))
    if row is None:
        uow.add(Dialog(platform=platform, key=key, payload=payload, expires_at=uow.now + ttl))
    else:
        row.payload, row.expires_at = payload, uow.now + ttl
    uow.commit()


def get(uow: UnitOfWork, platform: str, key: str) -> dict[str, Any] | None:
    """The payload, or None when there is none or it has expired."""
    row = uow.session.scalar(select(Dialog).where(Dialog.platform == platform, Dialog.key == key))
    if row is None or row.expires_at <= uow.now:
        return None
    return dict(row.payload)


# built once: it is asked before every command
_OPEN = select(Dialog.id).where(Dialog.platform == bindparam("platform"), Dialog.key == bindparam("key"),
                                Dialog.expires_at > bindparam("now"))


def is_open(uow: UnitOfWork, platform: str, key: str) -> bool:
    """Whether an unexpired entry is there: one indexed read, asked before every command."""
    return uow.connection().execute(_OPEN, {"platform": platform, "key": key, "now": uow.now}).first() is not None


def discard(uow: UnitOfWork, platform: str, key: str) -> None:
    """Delete the entry, uncommitted: the caller commits it with the rest of its work."""
    uow.session.execute(delete(Dialog).where(Dialog.platform == platform, Dialog.key == key))


def drop(uow: UnitOfWork, platform: str, key: str) -> None:
    discard(uow, platform, key)
    uow.commit()


def purge_expired(uow: UnitOfWork) -> int:
    result = uow.session.execute(delete(Dialog).where(Dialog.expires_at <= uow.now).returning(Dialog.id))
    count = len(result.all())
    uow.commit()
    return count
