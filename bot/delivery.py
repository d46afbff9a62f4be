"""The outbox dispatcher: claims due messages, renders them for their reader, sends, records."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, update

from bot.ratelimit import Limit, RateLimiter
from domain.delivery.outbox import (
    Attachment,
    OutButton,
    attachment_for,
    merge_due,
    park,
    payload_to_send,
    record_post,
    render,
)
from domain.store.models import Identity, Lease, Member, Organisation, OutboxMessage
from domain.store.uow import UowFactory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(minutes=5)  # the last resort: a claim this old is released whoever owns it
HEARTBEAT = "replica:"  # + a process's id: its heartbeat in `leases` (bot.leader.Replica)


@dataclass(frozen=True)
class Outgoing:
    org: Organisation
    recipient: Member | None
    channel: str | None
    text: str
    buttons: list[OutButton]
    locale: str
    key: str
    address: str | None = None
    attachment: Attachment | None = None  # a file sent with the message (a chart)
    done: int = 0  # parts an earlier attempt delivered (see DeliveryError.done)


@dataclass(frozen=True)
class Posted:
    """Where a sent message landed (a Slack channel and ts, a Telegram chat and message id), for edits."""

    chat: str
    ref: str


class DeliveryError(Exception):
    """A send failed; `retry_after` (seconds) is honoured when the platform gave one. A message sent in
    parts that failed part-way says in `done` how many parts the platform has, so a retry goes on
    from there."""

    def __init__(self, reason: str, retry_after: float | None = None, done: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.done = done


class Sender(Protocol):
    def send(self, message: Outgoing) -> Posted | None: ...


class LimitedSender(Sender, Protocol):
    def limits(self, message: Outgoing) -> list[Limit]: ...


class Owner(Protocol):
    """The process claims are made for (bot.leader.Replica): its id and whether its heartbeat is live."""

    holder: str

    def alive(self) -> bool: ...


FailureWatcher = Callable[[str, "float | None", bool], None]


class Dispatcher:
    def __init__(self, uow: UowFactory, senders: dict[str, Sender], replica: Owner | None = None,
                 on_failure: FailureWatcher | None = None) -> None:
        """With a `replica`, claims carry its id and are sent only while its heartbeat is live (once it may
        have lapsed, another process may release them and send them). `on_failure` is told of each failed
        send: the platform, the Retry-After it gave (a 429), and whether the message is now parked."""
        self._uow = uow
        self._senders = senders
        self._limiter = RateLimiter()
        self._replica = replica
        self._on_failure = on_failure

    def _tell(self, platform: str, retry_after: float | None, msg: OutboxMessage) -> None:
        if self._on_failure is not None:
            self._on_failure(platform, retry_after, msg.status == "parked")

    def _claim(self, limit: int, platforms: list[str] | None = None, exclude: bool = False) -> list[int]:
        """Mark up to `limit` due messages as ours (of these platforms, or of all others), after releasing the
        claims of processes that are gone (no live heartbeat), or else five minutes old."""
        with self._uow() as uow:
            now = uow.now
            alive = select(Lease.holder).where(Lease.name.startswith(HEARTBEAT), Lease.expires_at > now)
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending",
                       or_(OutboxMessage.claimed_at < now - STALE_CLAIM,
                           and_(OutboxMessage.claimed_by.is_not(None), OutboxMessage.claimed_by.not_in(alive))))
                .values(status="pending", claimed_by=None)
            )
            due = select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.available_at <= now
            )
            if platforms is not None:
                orgs = select(Organisation.id).where(
                    Organisation.platform.not_in(platforms) if exclude else Organisation.platform.in_(platforms)
                )
                due = due.where(OutboxMessage.org_id.in_(orgs))
            due = (
                due.order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            ids = list(
                uow.session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(due), OutboxMessage.status == "pending")
                    .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1,
                            claimed_by=self._replica.holder if self._replica is not None else None)
                    .returning(OutboxMessage.id)
                )
            )
            uow.commit()
        return sorted(ids)

    def run_once(self, limit: int = 100) -> int:
        """Send what is due now, platform by platform; returns how many were sent.

        Each platform's claim is capped by what its overall limit still allows this moment, so a
        burst is not claimed only to be put back. A replica whose heartbeat may have lapsed claims nothing.
        """
        if self._replica is not None and not self._replica.alive():
            return 0
        self._merge()
        sent = 0
        now = self._now()
        for platform, sender in self._senders.items():
            overall = sender.overall_limits() if hasattr(sender, "overall_limits") else []
            budget = min([limit, *(self._limiter.remaining(lim, now) for lim in overall)])
            if budget > 0:
                sent += self._send_claimed(self._claim(budget, [platform]))
        sent += self._send_claimed(self._claim(limit, list(self._senders), exclude=True))
        return sent

    def _merge(self) -> None:
        """Notices to one person that fall due together become one message before anything is claimed."""
        with self._uow() as uow:
            if merge_due(uow):
                uow.commit()

    def _send_claimed(self, ids: list[int]) -> int:
        """Send what this process claimed, one message at a time. A replica sends a message only while its claim
        is still its own (checked in the transaction that sends and marks it) and its heartbeat surely live;
        at the first claim it no longer holds, it puts back what it did not try."""
        replica = self._replica
        sent = 0
        for i, msg_id in enumerate(ids):
            if replica is not None and not replica.alive():
                self._unclaim(ids[i:], replica.holder)
                break
            outcome = self._send_guarded(msg_id)
            if outcome is None:
                if replica is not None:
                    self._unclaim(ids[i + 1:], replica.holder)
                    break
                continue
            sent += outcome
        return sent

    def _unclaim(self, ids: list[int], holder: str) -> None:
        """Put back claims this process did not try (their attempt not counted)."""
        with self._uow() as uow:
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                       OutboxMessage.claimed_by == holder)
                .values(status="pending", claimed_by=None, attempts=OutboxMessage.attempts - 1)
            )
            uow.commit()

    def _now(self) -> float:
        with self._uow() as uow:
            return uow.now.timestamp()

    def _send_guarded(self, msg_id: int) -> int | None:
        """Send one claimed message; one that fails in any way is retried or parked on its own, and the rest of
        the batch goes on. 1 if it was sent, 0 if not, None if its claim was not this process's."""
        try:
            return self._send_one(msg_id)
        except Exception as exc:  # a sender's, a renderer's or a platform's surprise: one message's failure
            self._failed_unexpectedly(msg_id, exc)
            return 0

    def _send_one(self, msg_id: int) -> int | None:
        """Render, send and record one claimed message: 1 if it was sent, 0 if not, None if the claim is not
        this process's (any more): released while this process was cut off from the database, it may have
        been sent by another. The claim is read in the transaction that marks the message sent."""
        replica = self._replica
        holder = replica.holder if replica is not None else None
        with self._uow() as uow:
            msg = uow.session.scalar(select(OutboxMessage).where(
                OutboxMessage.id == msg_id, OutboxMessage.status == "sending",
                OutboxMessage.claimed_by == holder if holder is not None else OutboxMessage.claimed_by.is_(None)))
            if msg is None:
                return None
            if replica is not None and not replica.alive():  # the read came late: others may count it gone
                msg.status, msg.claimed_by, msg.attempts = "pending", None, msg.attempts - 1
                uow.commit()
                return None
            org = uow.session.get(Organisation, msg.org_id)
            assert org is not None
            recipient = uow.session.get(Member, msg.recipient_id) if msg.recipient_id else None
            locale = (recipient.locale if recipient and recipient.locale else None) or org.locale
            payload = payload_to_send(uow, msg)
            rendered = render(payload, locale, org.timezone)
            platform, address = self._route(uow, org, recipient, payload)
            outgoing = Outgoing(org, recipient, msg.channel, rendered.text, rendered.buttons, locale, msg.key,
                                address, attachment_for(uow, msg.key), msg.parts_sent)
            sender = self._senders.get(platform)
            limits = sender.limits(outgoing) if sender is not None and hasattr(sender, "limits") else []
            now = uow.now.timestamp()
            wait = self._limiter.wait(limits, now)
            if wait > 0:
                msg.status, msg.attempts = "pending", msg.attempts - 1
                msg.available_at = uow.now + timedelta(seconds=wait)
                uow.commit()
                return 0
            try:
                if sender is None:
                    raise DeliveryError(f"no sender for platform {platform}")
                self._deliver(uow, msg, payload, platform, sender, outgoing)
            except DeliveryError as exc:
                if exc.done is not None:
                    msg.parts_sent = exc.done
                self._failed(uow, msg, str(exc), exc.retry_after)
                uow.commit()
                self._tell(platform, exc.retry_after, msg)
                return 0
            self._limiter.record(limits, now)
            # sent, so recorded as sent even if the claim passed on during the send: a new claimant then finds
            # the message no longer `sending` and does not send it again
            msg.status, msg.sent_at, msg.last_error = "sent", uow.now, None
            uow.commit()
            return 1

    def _failed_unexpectedly(self, msg_id: int, exc: Exception) -> None:
        """Record an unexpected failure in a fresh unit of work (the message's own was rolled back)."""
        try:
            with self._uow() as uow:
                msg = uow.session.get(OutboxMessage, msg_id)
                holder = self._replica.holder if self._replica is not None else None
                if msg is None or msg.status != "sending" or msg.claimed_by != holder:  # not this process's now
                    log.error("outbox message %s failed", msg_id, exc_info=exc)
                    return
                org = uow.session.get(Organisation, msg.org_id)
                self._failed(uow, msg, failure_reason(exc), None, exc)
                uow.commit()
                self._tell(org.platform if org is not None else "unknown", None, msg)
        except Exception:  # its claim goes stale and the message is tried again
            log.exception("outbox message %s failed and its failure could not be recorded", msg_id)

    def _route(self, uow, org: Organisation, recipient: Member | None, payload: dict) -> tuple[str, str | None]:
        """The platform and account to use: an edit goes where its message is; a member is reached on
        the organisation's platform, or else on another platform where they are linked and we can send."""
        edit = payload.get("edit")
        if edit is not None:
            return edit["platform"], edit["chat"]
        to = payload.get("to")  # an answer goes to the chat it answers
        if to is not None:
            return to["platform"], to["chat"]
        if recipient is None:
            return org.platform, None
        address = self._address(uow, org, recipient)
        if address is not None:
            return org.platform, address
        for platform, external_id in uow.session.execute(
            select(Identity.platform, Identity.external_id)
            .where(Identity.member_id == recipient.id, Identity.platform != org.platform)
            .order_by(Identity.id.desc())
        ).all():
            if platform in self._senders:
                return platform, external_id
        return org.platform, None

    @staticmethod
    def _deliver(uow, msg: OutboxMessage, payload: dict, platform: str, sender: Sender,
                 outgoing: Outgoing) -> None:
        """Send (or, for a revision, edit) and remember where a tracked message landed."""
        edit = payload.get("edit")
        if edit is not None:
            if hasattr(sender, "edit"):
                sender.edit(outgoing, Posted(edit["chat"], edit["ref"]))
            return
        posted = sender.send(outgoing)
        if isinstance(posted, Posted):
            record_post(uow, msg, payload, platform, posted.chat, posted.ref)

    @staticmethod
    def _address(uow, org: Organisation, member: Member) -> str | None:
        """The member's account on the organisation's platform (a Slack user id, a Telegram chat id)."""
        return uow.session.scalar(
            select(Identity.external_id)
            .where(Identity.member_id == member.id, Identity.platform == org.platform)
            .order_by((Identity.workspace == org.external_id).desc(), Identity.id.desc())
            .limit(1)
        )

    @staticmethod
    def _failed(uow, msg: OutboxMessage, reason: str, retry_after: float | None,
                exc: Exception | None = None) -> None:
        """Retry later (Retry-After, else exponential backoff); after MAX_ATTEMPTS, park it. An unexpected
        `exc` is logged with its traceback, once."""
        reason = redact(reason)
        if exc is None:
            log.warning("outbox %s failed (attempt %s): %s", msg.key, msg.attempts, reason)
        else:
            log.error("outbox %s failed (attempt %s): %s", msg.key, msg.attempts, reason, exc_info=exc)
        msg.last_error = reason[:500]
        if msg.attempts >= MAX_ATTEMPTS:
            park(uow, msg, reason)
            return
        delay = retry_after if retry_after is not None else 30 * 2 ** (msg.attempts - 1)
        msg.status, msg.available_at = "pending", uow.now + timedelta(seconds=delay)


_SECRETS = re.compile(
    r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}"        # a Telegram bot token (also inside a Bot API URL)
    r"|\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"       # a Slack token
    r"|(?<=://)[^/@\s]+(?=@)"                  # a URL's user and password
    r"|(?i:(?<=token=)|(?<=secret=)|(?<=password=)|(?<=bearer ))[^&\s]+"
)


def redact(text: str) -> str:
    """`text` with anything that looks like a token or a password replaced by ***."""
    return _SECRETS.sub("***", text)


def failure_reason(exc: Exception) -> str:
    """What an unexpected failure records: its class and the first line of its message, short and with
    no secret in it."""
    lines = str(exc).strip().splitlines()
    detail = redact(lines[0].strip()) if lines else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:199] + "…"
