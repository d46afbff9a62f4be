"""The retention purge, on the injected clock: what has done its work goes after its retention, nothing else."""
from __future__ import annotations

from datetime import timedelta

from fakes.cli import run
from sqlalchemy import select

from bot.server import create_asgi
from domain.delivery.retention import AUDIT_POLICY, Retention, purge
from domain.store.models import (
    AuditEntry,
    DueItem,
    InboundEvent,
    Organisation,
    OutboxAttachment,
    OutboxMessage,
)

DAY = timedelta(days=1)


def seed(app, org_id: int) -> None:
    now = app.clock.now()
    with app.uow() as uow:
        add = uow.session.add
        for key, state, days in (("old-fired", "fired", 40), ("new-fired", "fired", 10),
                                 ("old-cancelled", "cancelled", 40), ("old-pending", "pending", 40)):
            add(DueItem(org_id=org_id, kind="k", subject_id=1, due_at=now - days * DAY, state=state, key=key,
                        fired_at=now - days * DAY if state == "fired" else None))
        carrier = OutboxMessage(org_id=org_id, key="old-sent", payload={}, status="sent", available_at=now - 40 * DAY,
                                sent_at=now - 40 * DAY, created_at=now - 40 * DAY)
        add(carrier)
        uow.session.flush()
        for key, status, days in (("new-sent", "sent", 10), ("old-merged", "merged", 40), ("old-parked", "parked", 40),
                                  ("old-dropped", "dropped", 40), ("pending", "pending", 0)):
            add(OutboxMessage(org_id=org_id, key=key, payload={}, status=status, available_at=now - days * DAY,
                              sent_at=now - days * DAY if status == "sent" else None, created_at=now - days * DAY,
                              merged_into_id=carrier.id if status == "merged" else None))
        add(OutboxAttachment(key="old-sent", filename="a.png", mime="image/png", data=b"x", created_at=now - 40 * DAY))
        add(OutboxAttachment(key="old-parked", filename="b.png", mime="image/png", data=b"y",
                             created_at=now - 40 * DAY))
        add(InboundEvent(platform="telegram", key="old", received_at=now - 8 * DAY))
        add(InboundEvent(platform="telegram", key="new", received_at=now - 1 * DAY))
        add(AuditEntry(org_id=org_id, action="read", entity="customer", at=now - 400 * DAY))
        add(AuditEntry(org_id=org_id, action="read", entity="customer", at=now - 10 * DAY))
        uow.commit()


def left(app) -> dict[str, set]:
    with app.uow() as uow:
        s = uow.session
        return {"due": set(s.scalars(select(DueItem.key))), "outbox": set(s.scalars(select(OutboxMessage.key))),
                "files": set(s.scalars(select(OutboxAttachment.key))),
                "events": set(s.scalars(select(InboundEvent.key))),
                "audit": set(s.scalars(select(AuditEntry.at).where(AuditEntry.entity == "customer")))}


def org_of(app) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(Organisation.id))


def test_purge_deletes_only_what_is_past_its_retention(app, bot, clock) -> None:
    org_id = org_of(app)
    seed(app, org_id)
    result = purge(app.services.uow, Retention(due_days=30, outbox_days=30, events_days=7, audit_days=0), batch=1)
    kept = left(app)
    assert kept["due"] >= {"new-fired", "old-pending"} and not kept["due"] & {"old-fired", "old-cancelled"}
    # a merged message goes first, so the message that carried it may go; a parked one waits for an operator
    assert {"new-sent", "old-parked", "pending"} <= kept["outbox"]
    assert not kept["outbox"] & {"old-sent", "old-merged", "old-dropped"}
    assert kept["files"] == {"old-parked"}
    assert kept["events"] == {"new"}
    assert len(kept["audit"]) == 2  # audit: kept for ever by default
    assert result.counts["inbound_events"] == 1

    with app.uow() as uow:  # the department's own policy: a year
        org = uow.session.get(Organisation, org_id)
        org.settings = {**(org.settings or {}), AUDIT_POLICY: 365}
        uow.commit()
    purge(app.services.uow, Retention())
    assert [at for at in left(app)["audit"]] == [clock.now() - 10 * DAY]


def test_the_leader_purges_once_an_hour(app, bot, clock) -> None:
    org_id = org_of(app)
    seed(app, org_id)
    worker = create_asgi(app, run_worker=False).state.worker
    worker.tick_sync()
    assert "old-fired" not in left(app)["due"]
    with app.uow() as uow:
        uow.session.add(DueItem(org_id=org_id, kind="k", subject_id=2, due_at=clock.now() - 40 * DAY, state="fired",
                                key="later", fired_at=clock.now() - 40 * DAY))
        uow.commit()
    clock.advance(timedelta(minutes=30))
    worker.tick_sync()
    assert "later" in left(app)["due"]  # not within the hour
    clock.advance(timedelta(minutes=31))
    worker.tick_sync()
    assert "later" not in left(app)["due"]
    worker.leadership.release()


def test_an_operator_sets_a_departments_audit_retention(app, bot, db_url) -> None:
    org_id = org_of(app)
    env = {"BIZBOT_DATABASE_URL": db_url, "BIZBOT_RETENTION_AUDIT_DAYS": "730"}
    shown = run(["retention"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "audit 730 days" in shown.stdout
    changed = run(["retention", "--department", str(org_id), "--audit-days", "90"], env=env)
    assert changed.returncode == 0, changed.stderr
    assert f"{org_id:>6}  console" in changed.stdout and "audit 90 days" in changed.stdout
    with app.uow() as uow:
        assert uow.session.get(Organisation, org_id).settings[AUDIT_POLICY] == 90
    back = run(["retention", "--department", str(org_id), "--default"], env=env)
    assert "audit 730 days" in back.stdout.splitlines()[-1]
