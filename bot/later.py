"""Answers a platform would not take when they were made (rate limited, an error, no answer): kept in the
outbox, so the dispatcher delivers them — retried, honouring Retry-After — like any other message."""
from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import timedelta

from domain.delivery.outbox import OutButton, enqueue_reply
from domain.store.uow import UnitOfWork
from handlers.replies import Reply

log = logging.getLogger(__name__)


def keep_reply(uow: UnitOfWork, reply: Reply, *, org_id: int, platform: str, recipient_id: int | None = None,
               chat: str | None = None, retry_after: float | None = None, reason: str = "") -> None:
    """Queue `reply` (already worded in its reader's language) for the chat it answers, or else for the
    recipient; not before `retry_after` seconds when the platform asked for that. Uncommitted."""
    enqueue_reply(
        uow, org_id=org_id, key=f"reply:{platform}:{secrets.token_hex(8)}",
        text=replace(reply, buttons=[]).as_text(),
        buttons=[OutButton(b.label, b.command, b.decision) for b in reply.buttons],
        recipient_id=recipient_id, address=(platform, chat) if chat else None,
        available_at=uow.now + timedelta(seconds=retry_after) if retry_after else None,
    )
    log.info("%s answer not taken (%s); queued for the dispatcher", platform, reason or "refused")
