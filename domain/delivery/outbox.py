"""The outbox: messages written in the same transaction as their cause, sent later, once.

A payload is a message id, named parameters and buttons; it is rendered when sent, in the
recipient's locale, so a reminder reads in the language of whoever gets it. Notices to one person that
fall due together are sent as one message (`merge_due`).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.delivery.calendar import deliver_at
from domain.kernel.i18n import N_, Label, fmt_date, fmt_datetime, fmt_money, translate, use_locale
from domain.store.models import (
    Member,
    Organisation,
    OutboxAttachment,
    OutboxMessage,
    OutboxPost,
    OutboxSubject,
)
from domain.store.uow import UnitOfWork


@dataclass(frozen=True)
class OutButton:
    """A button on a message bizbot sends later; `label` is a message id, `command` a typed command."""

    label: str
    command: str
    decision: bool = False


@dataclass(frozen=True)
class Msg:
    """A parameter that is itself a message with parameters, rendered for whoever reads it."""

    msgid: str
    params: dict[str, Any]


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
    if isinstance(value, Msg):
        return {"$msg": [value.msgid, {k: encode(v) for k, v in value.params.items()}]}
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
        if tag == "$msg":
            return translate(raw[0]).format(**{k: decode(v, tz) for k, v in raw[1].items()})
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
    urgent: bool = False,
    kind: str | None = None,
    subject: str | None = None,
    address: tuple[str, str] | None = None,
) -> None:
    """Add a message unless one with the same idempotency key exists (then do nothing).

    A message that is not urgent waits for working hours in the organisation's calendar, and is
    not sent at all to a recipient who muted its `kind`; nothing is sent to a member who left. A message
    about a `subject` is tracked where it is delivered, so `revise` can later change it everywhere. An
    `address` (platform, chat) sends it to that chat rather than to the recipient's or the channel's.
    """
    org = uow.session.get(Organisation, org_id)
    assert org is not None
    if recipient_id is not None:
        recipient = uow.session.get(Member, recipient_id)
        if recipient is not None and not recipient.active:
            return  # who left the department is sent nothing (domain.team.handover)
        if recipient is not None and kind and not urgent and kind in recipient.muted:
            return
    payload = {
        "msg": msgid,
        "urgent": urgent,
        "params": {k: encode(v) for k, v in (params or {}).items()},
        "buttons": [{"label": b.label, "command": b.command, "decision": b.decision} for b in (buttons or [])],
    }
    if subject is not None:
        payload.update(subject=subject, rev=_subject_row(uow, org_id, subject).revision)
    if address is not None:
        payload["to"] = {"platform": address[0], "chat": address[1]}
    values = dict(
        org_id=org_id,
        key=key,
        recipient_id=recipient_id,
        channel=channel,
        payload=payload,
        status="pending",
        attempts=0,
        available_at=deliver_at(org, available_at or uow.now, urgent),
        created_at=uow.now,
    )
    waiting = uow.session.info.get(_WAITING)
    if waiting is not None:
        waiting.append(values)
    else:
        uow.session.execute(_new_message(uow), values)


_NEW_MESSAGE = {
    "postgresql": pg_insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"]),
    "sqlite": sqlite_insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"]),
}


_WAITING = "bizbot.outbox.waiting"  # in Session.info: the rows `enqueue` keeps for one insert (inserted_together)


def _new_message(uow: UnitOfWork) -> Any:
    """An outbox row's insert that does nothing when its key exists: one statement, its values given as
    parameters (a statement built with its values would be keyed and compiled anew for every message)."""
    return _NEW_MESSAGE[uow.session.get_bind().dialect.name]


@contextmanager
def inserted_together(uow: UnitOfWork) -> Iterator[None]:
    """Within it, the messages `enqueue` adds are inserted together as it ends (one statement for a sweep's
    batch, not one a message). For work that does not read back the messages it adds; if it fails, none are."""
    waiting: list[dict[str, Any]] = []
    uow.session.info[_WAITING] = waiting
    try:
        yield
    finally:
        del uow.session.info[_WAITING]
    if waiting:
        uow.session.execute(_new_message(uow), waiting)


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: list[OutButton]


def render(payload: dict[str, Any], locale: str, tz: str) -> Rendered:
    with use_locale(locale):
        params = {k: decode(v, tz) for k, v in payload.get("params", {}).items()}
        text = translate(payload["msg"]).format(**params)
        parts = payload.get("parts")
        if parts:  # merged notices: each rendered as it would have been, numbered
            text += "".join(f"\n{i}. " + translate(part["msg"]).format(
                **{k: decode(v, tz) for k, v in part.get("params", {}).items()}) for i, part in enumerate(parts, 1))
        buttons = [OutButton(_button_label(b), b["command"], b.get("decision", False))
                   for b in payload.get("buttons", [])]
    return Rendered(text, buttons)


def _button_label(button: dict[str, Any]) -> str:
    label = translate(button["label"])
    return f"{button['part']}. {label}" if "part" in button else label


REPLY = N_("{reply}")  # an answer already worded in its reader's language, sent later as it is

# --- merged notices: what falls due together for one person goes as one message ---------------------

MERGED = N_("Notices ({count}):")
MAX_PARTS = 20  # notices in one merged message; more make a second one
MAX_BUTTONS = 10  # buttons on a merged message (each button's command is also typed in its notice)


def _mergeable(payload: dict[str, Any]) -> bool:
    """A notice that may go together with others: not urgent, not an answer to someone, not an edit, not a
    tracked message (an approval request is revised where it was delivered), not already merged."""
    return not (payload.get("urgent") or payload.get("edit") or payload.get("to") or payload.get("subject")
                or payload.get("parts") or payload.get("msg") in (REPLY, PARKED_NOTICE))


def merge_due(uow: UnitOfWork, limit: int | None = None) -> int:
    """Notices to the same person that are due now and not yet tried are merged into one message (a manager's
    twelve "not scored" notices at 09:00 become one), whatever their kind: the merged message is a new outbox
    row that renders each notice in the reader's language, in order; the notices keep their rows and keys
    (status `merged`, pointing to it), so an idempotency key still finds its notice and nothing is sent
    twice. With a `limit`, only the people whose notices are among the first `limit` due (those a claim of
    that size takes next) are looked at, so a dispatcher's merging is bounded by what it is about to send.
    Rows are read in one statement and locked (SKIP LOCKED), so two dispatchers never merge the same notice.
    Returns how many merged messages were made."""
    now = uow.now
    # a merged message is never merged again: leaving the merged ones out keeps a person whose merged messages
    # wait on the platform's rate limit from being looked at again on every dispatch
    due = (OutboxMessage.status == "pending", OutboxMessage.available_at <= now, OutboxMessage.attempts == 0,
           OutboxMessage.recipient_id.is_not(None), OutboxMessage.key.not_like("merged:%"))
    if limit is not None:
        people: Any = (select(OutboxMessage.recipient_id).where(*due)
                       .order_by(OutboxMessage.available_at, OutboxMessage.id).limit(limit).scalar_subquery())
    else:
        people = (select(OutboxMessage.recipient_id).where(*due).group_by(OutboxMessage.recipient_id)
                  .having(func.count() > 1).scalar_subquery())
    rows = list(uow.session.scalars(
        select(OutboxMessage).where(*due, OutboxMessage.recipient_id.in_(people))
        .order_by(OutboxMessage.recipient_id, OutboxMessage.available_at, OutboxMessage.id)
        .with_for_update(skip_locked=True)))
    groups: dict[tuple[int, int], list[OutboxMessage]] = {}
    for row in rows:
        groups.setdefault((row.org_id, row.recipient_id or 0), []).append(row)
    crowded = [group for group in groups.values() if len(group) > 1]
    if not crowded:
        return 0
    with_files = set(uow.session.scalars(select(OutboxAttachment.key).where(
        OutboxAttachment.key.in_([row.key for group in crowded for row in group]))))
    made = 0
    for group in crowded:
        group = [row for row in group if row.key not in with_files and _mergeable(row.payload)]
        for start in range(0, len(group), MAX_PARTS):
            chunk = group[start:start + MAX_PARTS]
            if len(chunk) > 1:
                _merge(uow, chunk)
                made += 1
    return made


def _merge(uow: UnitOfWork, rows: list[OutboxMessage]) -> None:
    labels = [b["label"] for row in rows for b in row.payload.get("buttons", [])]
    buttons: list[dict[str, Any]] = []
    for part, row in enumerate(rows, 1):
        for b in row.payload.get("buttons", []):
            button = {"label": b["label"], "command": b["command"], "decision": b.get("decision", False)}
            if labels.count(b["label"]) > 1:  # "Done" on three callbacks: "1. Done", "2. Done", …
                button["part"] = part
            buttons.append(button)
    payload = {"msg": MERGED, "urgent": False, "params": {"count": len(rows)},
               "parts": [{"msg": row.payload["msg"], "params": row.payload.get("params", {})} for row in rows],
               "buttons": buttons[:MAX_BUTTONS]}
    first = rows[0]
    key = f"merged:{first.id}"
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    uow.session.execute(insert(OutboxMessage).values(
        org_id=first.org_id, key=key, recipient_id=first.recipient_id, channel=None, payload=payload,
        status="pending", attempts=0, available_at=uow.now, created_at=uow.now,
    ).on_conflict_do_nothing(index_elements=["key"]))
    merged_id = uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))
    for row in rows:
        row.status, row.merged_into_id = "merged", merged_id


def enqueue_reply(
    uow: UnitOfWork,
    *,
    org_id: int,
    key: str,
    text: str,
    buttons: list[OutButton],
    recipient_id: int | None = None,
    address: tuple[str, str] | None = None,
    available_at: datetime | None = None,
) -> None:
    """An answer to someone that could not be sent when it was made: sent as soon as it may be (to `address`,
    the chat it answers, or else to the recipient), and retried like any other message."""
    enqueue(uow, org_id=org_id, key=key, msgid=REPLY, params={"reply": text}, recipient_id=recipient_id,
            channel=address[1] if address and recipient_id is None else None, buttons=buttons,
            available_at=available_at, urgent=True, address=address)


PARKED_NOTICE = N_("A message to {recipient} could not be delivered after {attempts} attempts ({error}). "
                   "An operator can retry it with: bizbot outbox --retry {id}")


def park(uow: UnitOfWork, msg: OutboxMessage, reason: str) -> None:
    """Give up on a message after bounded failures, and tell the organisation's admins once."""
    msg.status, msg.last_error = "parked", reason[:500]
    if isinstance(msg.payload, dict) and msg.payload.get("msg") == PARKED_NOTICE:
        return
    recipient = uow.session.get(Member, msg.recipient_id) if msg.recipient_id else None
    admins = uow.session.scalars(
        select(Member).where(Member.org_id == msg.org_id, Member.roles.contains("admin"), Member.active)
    )
    for admin in admins:
        if admin.id == msg.recipient_id:
            continue
        enqueue(uow, org_id=msg.org_id, key=f"parked:{msg.id}:{admin.id}", recipient_id=admin.id,
                msgid=PARKED_NOTICE,
                params={"recipient": f"@{recipient.name}" if recipient else f"#{msg.channel}",
                        "attempts": msg.attempts, "error": reason[:200], "id": msg.id})


def list_messages(uow: UnitOfWork, status: str | None, limit: int = 50) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        q = q.where(OutboxMessage.status == status)
    return list(uow.session.scalars(q))


def retry_parked(uow: UnitOfWork, ids: list[int] | None) -> int:
    """Put parked messages back in the queue (all of them when ids is None)."""
    q = select(OutboxMessage).where(OutboxMessage.status == "parked")
    if ids is not None:
        q = q.where(OutboxMessage.id.in_(ids))
    rows = list(uow.session.scalars(q))
    for msg in rows:
        msg.status, msg.attempts, msg.available_at = "pending", 0, uow.now
    uow.commit()
    return len(rows)


def next_available_at(uow: UnitOfWork) -> datetime | None:
    """When the earliest waiting message may be sent."""
    return uow.session.scalar(
        select(OutboxMessage.available_at)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.available_at)
        .limit(1)
    )


# --- tracked subjects: every message about a subject, wherever delivered, revised together -------


def _subject_row(uow: UnitOfWork, org_id: int, subject: str, lock: bool = False) -> OutboxSubject:
    """The subject's row (created on first use), locked when asked so revisions and posts serialise."""
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    uow.session.execute(
        insert(OutboxSubject).values(org_id=org_id, subject=subject, revision=0)
        .on_conflict_do_nothing(index_elements=["org_id", "subject"])
    )
    q = select(OutboxSubject).where(OutboxSubject.org_id == org_id, OutboxSubject.subject == subject)
    row = uow.session.scalar(q.with_for_update() if lock else q)
    assert row is not None
    return row


def revise(
    uow: UnitOfWork,
    *,
    org_id: int,
    subject: str,
    msgid: str,
    params: dict[str, Any] | None = None,
    buttons: list[OutButton] | None = None,
) -> int:
    """Make every message about `subject` show this instead (edited where it was delivered; a message
    not yet delivered goes out as this). Returns the new revision."""
    row = _subject_row(uow, org_id, subject, lock=True)
    row.revision += 1
    row.payload = {
        "msg": msgid,
        "urgent": True,
        "params": {k: encode(v) for k, v in (params or {}).items()},
        "buttons": [{"label": b.label, "command": b.command, "decision": b.decision} for b in (buttons or [])],
    }
    uow.session.flush()
    posts = uow.session.scalars(
        select(OutboxPost).where(OutboxPost.org_id == org_id, OutboxPost.subject == subject).order_by(OutboxPost.id)
    )
    for post in posts:
        _enqueue_edit(uow, row, post)
    return row.revision


def _enqueue_edit(uow: UnitOfWork, row: OutboxSubject, post: OutboxPost) -> None:
    assert row.payload is not None
    payload = {**row.payload, "edit": {"platform": post.platform, "chat": post.chat, "ref": post.message_ref,
                                       "post": post.id}}
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    uow.session.execute(insert(OutboxMessage).values(
        org_id=row.org_id, key=f"revise:{post.id}:{row.revision}", recipient_id=post.recipient_id,
        channel=None if post.recipient_id else post.chat, payload=payload, status="pending", attempts=0,
        available_at=uow.now, created_at=uow.now,
    ).on_conflict_do_nothing(index_elements=["key"]))


def payload_to_send(uow: UnitOfWork, msg: OutboxMessage) -> dict[str, Any]:
    """A tracked message not yet delivered goes out as its subject's latest revision."""
    subject = msg.payload.get("subject")
    if subject is None or "edit" in msg.payload:
        return msg.payload
    row = _subject_row(uow, msg.org_id, subject)
    if row.payload is not None and row.revision > int(msg.payload.get("rev", 0)):
        return {**row.payload, "subject": subject, "rev": row.revision}
    return msg.payload


def record_post(
    uow: UnitOfWork, msg: OutboxMessage, payload: dict[str, Any], platform: str, chat: str, message_ref: str
) -> None:
    """Remember where a tracked message was delivered; if its subject moved on meanwhile, revise it too."""
    subject = payload.get("subject")
    if subject is None or "edit" in payload:
        return
    row = _subject_row(uow, msg.org_id, subject, lock=True)
    post = uow.add(OutboxPost(org_id=msg.org_id, subject=subject, outbox_key=msg.key, recipient_id=msg.recipient_id,
                              platform=platform, chat=chat, message_ref=message_ref,
                              revision=int(payload.get("rev", 0)), posted_at=uow.now))
    uow.session.flush()
    if row.payload is not None and row.revision > post.revision:
        _enqueue_edit(uow, row, post)


def posts_of(uow: UnitOfWork, org_id: int, subject: str) -> list[OutboxPost]:
    return list(uow.session.scalars(
        select(OutboxPost).where(OutboxPost.org_id == org_id, OutboxPost.subject == subject).order_by(OutboxPost.id)))

# --- Attachments: a file (a chart) sent with an outbox message, kept in the database with it ---


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str
    data: bytes


def attach(uow: UnitOfWork, key: str, attachment: Attachment) -> None:
    """Store a file for the outbox message `key`, in the same transaction (once; a repeat does nothing)."""

    values = dict(key=key, filename=attachment.filename, mime=attachment.mime, data=attachment.data,
                  created_at=uow.now)
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    uow.session.execute(
        insert(OutboxAttachment).values(**values).on_conflict_do_nothing(index_elements=["key"])
    )


def attachments_for(uow: UnitOfWork, keys: Sequence[str]) -> dict[str, Attachment]:
    """The files stored for these outbox messages, by message key (most have none)."""
    if not keys:
        return {}
    return {row.key: Attachment(row.filename, row.mime, bytes(row.data)) for row in uow.session.scalars(
        select(OutboxAttachment).where(OutboxAttachment.key.in_(keys)))}
