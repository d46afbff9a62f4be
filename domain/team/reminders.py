"""A member's own reminders: send one again later (snooze), stop or resume a kind of them (mute)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.delivery.calendar import next_working_morning
from domain.delivery.due import DUE_KINDS, DueKind, schedule
from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid, NotFound
from domain.kernel.i18n import N_, translate
from domain.store.models import DueItem, Member, Organisation
from domain.store.numbers import id_of
from domain.store.uow import UnitOfWork
from domain.team.access import parse_ref, require_visible


def snooze(uow: UnitOfWork, actor: Actor, text: str, until: str) -> datetime:
    """Send a reminder again later: in an hour, or on the next working morning."""
    for kind in uow.wiring[DUE_KINDS].values():
        number = parse_ref(text, kind.prefix) if kind.prefix else None
        if number is not None and kind.model is not None:
            subject = id_of(uow, kind.model, actor.org_id, number)
            break
    else:
        raise NotFound(N_("Nothing to snooze is called {ref}."), ref=text)
    if subject is None:
        raise NotFound(N_("Nothing to snooze is called {ref}."), ref=text)
    item = uow.session.scalar(select(DueItem).where(DueItem.key == f"{kind.name}:{subject}"))
    owner = kind.owner(uow, subject) if kind.owner else None
    if item is None or item.org_id != actor.org_id or owner is None:
        raise NotFound(N_("Nothing to snooze is called {ref}."), ref=text)
    require_visible(uow, actor, owner, N_("Nothing to snooze is called {ref}."), ref=text)
    org = uow.session.get(Organisation, actor.org_id)
    assert org is not None
    if until in ("1h", "hour"):
        when = uow.now + timedelta(hours=1)
    elif until in ("tomorrow", "morning", "明天"):
        local = uow.now.astimezone(ZoneInfo(org.timezone))
        end_of_day = datetime.combine(local.date(), time(23, 59), tzinfo=ZoneInfo(org.timezone))
        when = next_working_morning(org, end_of_day)
    else:
        raise Invalid(N_("Snooze for 1h or until tomorrow."))
    schedule(uow, actor.org_id, kind.name, subject, when)
    uow.audit(actor.org_id, actor.member_id, "update", kind.name, text.strip().upper(), f"snoozed to {when}")
    uow.commit()
    return when


def kinds_named(kinds: Mapping[str, DueKind], text: str) -> list[str]:
    """The kinds of reminder `text` names: a kind (callback), or its label in the reader's language, whole or in
    part ("客户回访", "回访"; "考核提醒" names all four appraisal reminders)."""

    text = text.strip().lower()
    if text in kinds:
        return [text]
    labels = {k.name: translate(k.label).lower() for k in kinds.values() if k.label}
    for match in (lambda label: label == text, lambda label: text in label):
        found = sorted(name for name, label in labels.items() if match(label))
        if found and len({labels[name] for name in found}) == 1:
            return found
    raise Invalid(N_("Unknown reminder kind '{kind}'. Choose one of: {choices}."), kind=text,
                  choices=", ".join(sorted(kinds)))


def set_muted(uow: UnitOfWork, actor: Actor, text: str, muted: bool) -> list[str]:
    """Stop (or resume) the kinds of reminder `text` names for oneself; returns those kinds."""
    kinds = kinds_named(uow.wiring[DUE_KINDS], text)
    member = uow.session.get(Member, actor.member_id)
    assert member is not None
    current = set(member.muted)
    current = current | set(kinds) if muted else current - set(kinds)
    member.prefs = {**(member.prefs or {}), "muted": sorted(current)}
    uow.audit(actor.org_id, actor.member_id, "update", "member", member.name, f"muted={sorted(current)}")
    uow.commit()
    return kinds
