"""The outbox dispatcher: claims due messages, renders them for their reader, sends, records."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from bot.charts import ChartRenderer, draw_chart, is_chart
from bot.ratelimit import Limit, Pacer
from domain.delivery.outbox import (
    Attachment,
    OutButton,
    attachments_for,
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
REST = "*"  # in a list of platforms: the departments on platforms this process has no sender for
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


@dataclass
class Prepared:
    """A claimed message read and rendered, ready to go out without the database."""

    msg_id: int
    platform: str
    sender: Sender | None
    outgoing: Outgoing
    payload: dict
    limits: list[Limit]


@dataclass
class Outcome:
    """What a send came to: `sent` (with where it landed), `failed` (the platform's refusal), `error` (a
    surprise), `deferred` (a limit said wait `wait` seconds) or `unsent` (this process may no longer send)."""

    state: str
    posted: Posted | None = None
    error: Exception | None = None
    wait: float = 0.0


class Dispatcher:
    def __init__(self, uow: UowFactory, senders: dict[str, Sender], replica: Owner | None = None,
                 on_failure: FailureWatcher | None = None, pacer: Pacer | None = None,
                 charts: ChartRenderer | None = None) -> None:
        """With a `replica`, claims carry its id and are sent only while its heartbeat is live (once it may
        have lapsed, another process may release them and send them). `on_failure` is told of each failed
        send: the platform, the Retry-After it gave (a 429), and whether the message is now parked. `pacer`
        holds the send limits (shared with other replicas when it says so); `charts` draws a chart stored
        as its description (bot.charts) where it is sent."""
        self._uow = uow
        self._senders = senders
        self.pacer = pacer or Pacer()
        self._replica = replica
        self._on_failure = on_failure
        self._charts = charts
        self.clock = uow().clock  # a unit of work not entered: only its clock is read

    @property
    def holder(self) -> str | None:
        return self._replica.holder if self._replica is not None else None

    def alive(self) -> bool:
        return self._replica is None or self._replica.alive()

    def _tell(self, platform: str, retry_after: float | None, msg: OutboxMessage) -> None:
        if self._on_failure is not None:
            self._on_failure(platform, retry_after, msg.status == "parked")

    def _claim(self, limit: int, platforms: list[str] | None = None, exclude: bool = False) -> list[int]:
        """Mark up to `limit` due messages as ours (of these platforms, or of all others), after releasing the
        claims of processes that are gone (no live heartbeat), or else five minutes old."""
        if limit <= 0:
            return []
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
            # a CTE, materialized: PostgreSQL may otherwise run a LIMIT … SKIP LOCKED subquery of an IN more than
            # once and claim more than `limit` rows
            chosen = (
                due.order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .cte("due")
                .prefix_with("MATERIALIZED")
            )
            ids = list(
                uow.session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(select(chosen.c.id)), OutboxMessage.status == "pending")
                    .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1,
                            claimed_by=self.holder)
                    .returning(OutboxMessage.id)
                )
            )
            uow.commit()
        return sorted(ids)

    def lanes(self) -> list[list[str]]:
        """The platforms a pump each sends for: one lane a platform with a sender here, and one for the rest
        (REST: departments on a platform this process has no sender for)."""
        return [[platform] for platform in self._senders] + [[REST]]

    def claim(self, limit: int = 100, platforms: Sequence[str] | None = None) -> list[int]:
        """Merge what falls due together, then claim what is due now, platform by platform (of `platforms`,
        by their department's platform, REST naming those with no sender here; all when None): each
        platform's claim capped by what its overall limit still allows this moment (across replicas when the
        limit is shared), so a burst is not claimed only to be put back. A replica whose heartbeat may have
        lapsed claims nothing."""
        if not self.alive():
            return []
        self._merge(limit)
        now = self.clock.now().timestamp()
        ids: list[int] = []
        for platform, sender in self._senders.items():
            if platforms is not None and platform not in platforms:
                continue
            overall = sender.overall_limits() if hasattr(sender, "overall_limits") else []
            budget = min([limit, *(self.pacer.remaining(lim, now) for lim in overall)])
            ids += self._claim(budget, [platform])
        if platforms is None or REST in platforms:
            ids += self._claim(limit, list(self._senders), exclude=True)
        return ids

    def next_due(self, uow, platforms: Sequence[str] | None = None) -> datetime | None:
        """When the next pending message falls due (of these platforms, as in `claim`), or None."""
        first = select(func.min(OutboxMessage.available_at)).where(OutboxMessage.status == "pending")
        if platforms is not None:
            served = [p for p in platforms if p != REST]
            chosen: ColumnElement[bool] = Organisation.platform.in_(served)
            if REST in platforms:
                chosen = or_(chosen, Organisation.platform.not_in(list(self._senders)))
            first = first.where(OutboxMessage.org_id.in_(select(Organisation.id).where(chosen)))
        return uow.session.scalar(first)

    def run_once(self, limit: int = 100) -> int:
        """Send what is due now, one message at a time in this thread; returns how many were sent. Each
        message is read, sent and recorded in one transaction (the console and the tests; `bizbot serve`
        sends concurrently, bot.pump)."""
        return self._send_claimed(self.claim(limit))

    def _merge(self, limit: int) -> None:
        """Notices to one person that fall due together become one message before they are claimed (those of
        the people a claim of `limit` takes next)."""
        with self._uow() as uow:
            if merge_due(uow, limit):
                uow.commit()

    def _send_claimed(self, ids: list[int]) -> int:
        """Send what this process claimed, one message at a time. A replica sends a message only while its claim
        is still its own (checked in the transaction that sends and marks it) and its heartbeat surely live;
        at the first claim it no longer holds, it puts back what it did not try."""
        replica = self._replica
        sent = 0
        for i, msg_id in enumerate(ids):
            if replica is not None and not replica.alive():
                self.unclaim(ids[i:])
                break
            outcome = self._send_guarded(msg_id)
            if outcome is None:
                if replica is not None:
                    self.unclaim(ids[i + 1:])
                    break
                continue
            sent += outcome
        return sent

    def unclaim(self, ids: list[int]) -> None:
        """Put back claims this process did not try (their attempt not counted)."""
        if not ids:
            return
        with self._uow() as uow:
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                       OutboxMessage.claimed_by == self.holder if self.holder is not None
                       else OutboxMessage.claimed_by.is_(None))
                .values(status="pending", claimed_by=None, attempts=OutboxMessage.attempts - 1)
            )
            uow.commit()

    def _send_guarded(self, msg_id: int) -> int | None:
        """Send one claimed message; one that fails in any way is retried or parked on its own, and the rest of
        the batch goes on. 1 if it was sent, 0 if not, None if its claim was not this process's."""
        try:
            return self._send_one(msg_id)
        except Exception as exc:  # a sender's, a renderer's or a platform's surprise: one message's failure
            self._failed_unexpectedly(msg_id, exc)
            return 0

    def _send_one(self, msg_id: int) -> int | None:
        """Read, send and record one claimed message in one transaction: 1 if it was sent, 0 if not, None if the
        claim is not this process's (any more): released while this process was cut off from the database, it
        may have been sent by another. The claim is read in the transaction that marks the message sent."""
        with self._uow() as uow:
            prepared = self.prepare(uow, msg_id)
            if prepared is None:
                return None
            outcome = self.transmit(prepared)
            if outcome.state == "error":
                assert outcome.error is not None
                raise outcome.error
            return self.record(uow, prepared, outcome)

    def prepare(self, uow, msg_id: int) -> Prepared | None:
        """Read and render a message this process claimed, in `uow` (uncommitted), or None if its claim is
        not this process's (any more), or this process's heartbeat may have lapsed (then it is put back)."""
        ready, failed = self.prepare_many(uow, [msg_id])
        if failed:
            raise failed[0][1]
        return ready[0] if ready else None

    def prepare_many(self, uow, ids: Sequence[int]) -> tuple[list[Prepared], list[tuple[int, Exception]]]:
        """Read and render claimed messages in `uow` (uncommitted) with a handful of statements for them all
        (the messages, their departments, recipients, accounts and files), not a handful each. Returns those
        ready to go and those whose rendering failed (each with its error); a message whose claim is not this
        process's is left out, and if this process's heartbeat may have lapsed, all are put back."""
        holder = self.holder
        msgs = list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
            OutboxMessage.claimed_by == holder if holder is not None else OutboxMessage.claimed_by.is_(None))
            .order_by(OutboxMessage.id)))
        if not msgs:
            return [], []
        if not self.alive():  # the read came late: others may count them gone
            for msg in msgs:
                msg.status, msg.claimed_by, msg.attempts = "pending", None, msg.attempts - 1
            uow.commit()
            return [], []
        orgs = {org.id: org for org in uow.session.scalars(
            select(Organisation).where(Organisation.id.in_({msg.org_id for msg in msgs})))}
        member_ids = {msg.recipient_id for msg in msgs if msg.recipient_id}
        members: dict[int, Member] = {}
        accounts: dict[int, list[tuple[str, str | None, str, int]]] = {}
        if member_ids:
            members = {m.id: m for m in uow.session.scalars(select(Member).where(Member.id.in_(member_ids)))}
            for member_id, platform, workspace, external_id, identity_id in uow.session.execute(
                    select(Identity.member_id, Identity.platform, Identity.workspace, Identity.external_id,
                           Identity.id).where(Identity.member_id.in_(member_ids))):
                accounts.setdefault(member_id, []).append((platform, workspace, external_id, identity_id))
        files = attachments_for(uow, [msg.key for msg in msgs])
        ready: list[Prepared] = []
        failed: list[tuple[int, Exception]] = []
        for msg in msgs:
            try:
                ready.append(self._prepared(uow, msg, orgs[msg.org_id], members.get(msg.recipient_id or 0),
                                            accounts.get(msg.recipient_id or 0, []), files.get(msg.key)))
            except Exception as exc:  # a renderer's surprise: this message's failure alone
                failed.append((msg.id, exc))
        return ready, failed

    def _prepared(self, uow, msg: OutboxMessage, org: Organisation, recipient: Member | None,
                  accounts: list[tuple[str, str | None, str, int]], attachment: Attachment | None) -> Prepared:
        locale = (recipient.locale if recipient and recipient.locale else None) or org.locale
        payload = payload_to_send(uow, msg)
        rendered = render(payload, locale, org.timezone)
        platform, address = self._route(org, recipient, accounts, payload)
        outgoing = Outgoing(org, recipient, msg.channel, rendered.text, rendered.buttons, locale, msg.key,
                            address, attachment, msg.parts_sent)
        sender = self._senders.get(platform)
        limits = sender.limits(outgoing) if sender is not None and hasattr(sender, "limits") else []
        return Prepared(msg.id, platform, sender, outgoing, payload, limits)

    def transmit(self, prepared: Prepared) -> Outcome:
        """Send (or edit) without the database: first the slot the limits allow (none now: deferred), then
        the chart drawn if the message carries one, then the platform's call."""
        if not self.alive():
            return Outcome("unsent")
        sender = prepared.sender
        if sender is None:
            return Outcome("failed", error=DeliveryError(f"no sender for platform {prepared.platform}"))
        try:
            wait = self.pacer.take(prepared.limits, self.clock.now().timestamp())
            if wait > 0:
                return Outcome("deferred", wait=wait)
            outgoing = prepared.outgoing
            if outgoing.attachment is not None and is_chart(outgoing.attachment):
                outgoing = replace(outgoing, attachment=self._draw(outgoing.attachment))
            edit = prepared.payload.get("edit")
            if edit is not None:
                if hasattr(sender, "edit"):
                    sender.edit(outgoing, Posted(edit["chat"], edit["ref"]))
                return Outcome("sent")
            posted = sender.send(outgoing)
        except DeliveryError as exc:
            return Outcome("failed", error=exc)
        except Exception as exc:  # a sender's or a renderer's surprise: this message's failure alone
            return Outcome("error", error=exc)
        return Outcome("sent", posted=posted if isinstance(posted, Posted) else None)

    def _draw(self, attachment: Attachment) -> Attachment:
        if self._charts is not None:
            return self._charts.draw(attachment)
        return draw_chart(attachment)

    def record_failure(self, msg_id: int, exc: Exception) -> None:
        """A message's unexpected failure, recorded in a unit of work of its own."""
        self._failed_unexpectedly(msg_id, exc)

    def record(self, uow, prepared: Prepared, outcome: Outcome, commit: bool = True) -> int:
        """Record what a send came to, in `uow`, and commit: 1 if it was sent, else 0. A message sent is
        recorded as sent even if its claim passed on during the send: a new claimant then finds it no
        longer `sending` and does not send it again."""
        msg = uow.session.get(OutboxMessage, prepared.msg_id)
        assert msg is not None
        if outcome.state == "sent":
            msg.status, msg.sent_at, msg.last_error = "sent", uow.now, None
            if outcome.posted is not None:
                record_post(uow, msg, prepared.payload, prepared.platform, outcome.posted.chat, outcome.posted.ref)
            if commit:
                uow.commit()
            return 1
        if outcome.state == "deferred":
            msg.status, msg.attempts = "pending", msg.attempts - 1
            msg.available_at = uow.now + timedelta(seconds=outcome.wait)
        elif outcome.state == "unsent":
            if msg.status == "sending" and msg.claimed_by == self.holder:
                msg.status, msg.claimed_by, msg.attempts = "pending", None, msg.attempts - 1
        else:
            exc = outcome.error
            assert exc is not None
            if isinstance(exc, DeliveryError):
                if exc.done is not None:
                    msg.parts_sent = exc.done
                self._failed(uow, msg, str(exc), exc.retry_after)
                if commit:
                    uow.commit()
                self._tell(prepared.platform, exc.retry_after, msg)
                return 0
            self._failed(uow, msg, failure_reason(exc), None, exc)
            if commit:
                uow.commit()
            self._tell(prepared.platform, None, msg)
            return 0
        if commit:
            uow.commit()
        return 0

    def record_many(self, uow, done: Sequence[tuple[Prepared, Outcome]]) -> int:
        """Record what sends came to, in `uow` (uncommitted): the plain sent messages in one statement, the
        rest (a tracked message's post, a refusal, a deferral) one by one. Returns how many were sent."""
        plain = [prepared.msg_id for prepared, outcome in done
                 if outcome.state == "sent" and (outcome.posted is None or "subject" not in prepared.payload
                                                 or "edit" in prepared.payload)]
        if plain:
            uow.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(plain))
                                .values(status="sent", sent_at=uow.now, last_error=None))
        sent = len(plain)
        quick = set(plain)
        for prepared, outcome in done:
            if prepared.msg_id not in quick:
                sent += self.record(uow, prepared, outcome, commit=False)
        return sent

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

    def _route(self, org: Organisation, recipient: Member | None,
               accounts: list[tuple[str, str | None, str, int]], payload: dict) -> tuple[str, str | None]:
        """The platform and account to use: an edit goes where its message is; a member is reached on
        the organisation's platform (the account in its workspace first, then the newest), or else on another
        platform where they are linked and we can send (the newest link). `accounts` are the recipient's
        (platform, workspace, external id, id)."""
        edit = payload.get("edit")
        if edit is not None:
            return edit["platform"], edit["chat"]
        to = payload.get("to")  # an answer goes to the chat it answers
        if to is not None:
            return to["platform"], to["chat"]
        if recipient is None:
            return org.platform, None
        here = [a for a in accounts if a[0] == org.platform]
        if here:
            best = max(here, key=lambda a: (a[1] == org.external_id, a[3]))
            return org.platform, best[2]
        for platform, _workspace, external_id, _id in sorted(accounts, key=lambda a: a[3], reverse=True):
            if platform in self._senders:
                return platform, external_id
        return org.platform, None

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
