"""Units of work joined to an adapter's session, and work carried to the next commit (real databases)."""
from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from domain.delivery.inbound import first_delivery, record_delivery
from domain.store.models import InboundEvent, Organisation
from domain.team.members import ensure_org


def _orgs(app: App) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(Organisation.external_id).order_by(Organisation.id)))


def _recorded(app: App) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(InboundEvent))


def _org(uow, key: str) -> Organisation:
    return ensure_org(uow, "test", key, f"Org {key}", "Asia/Shanghai", "en")


def test_a_joined_commit_commits_the_carried_record_with_the_change(app: App) -> None:
    with app.uow() as owner:
        assert owner.carry(lambda u: record_delivery(u, "test", "update:1"))
        with owner.joined() as uow:
            assert uow.session is owner.session
            _org(uow, "A")
            uow.commit()
    assert _orgs(app) == ["A"] and _recorded(app) == 1
    with app.uow() as uow:
        assert not first_delivery(uow, "test", "update:1")  # a redelivery is skipped


def test_what_a_joined_unit_leaves_uncommitted_is_rolled_back_and_the_carried_work_redone(app: App) -> None:
    with app.uow() as owner:
        owner.carry(lambda u: record_delivery(u, "test", "update:2"))
        with owner.joined() as uow:
            org = _org(uow, "B")  # flushed, never committed
        assert org.name == "Org B"  # still readable, as after a unit of work of its own
        with owner.joined() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Organisation)) == 0
        owner.commit()  # what is still carried: the record alone
    assert _orgs(app) == [] and _recorded(app) == 1


def test_a_crash_before_the_commit_records_nothing_so_the_redelivery_runs(app: App) -> None:
    with pytest.raises(RuntimeError), app.uow() as owner:
        owner.carry(lambda u: record_delivery(u, "test", "update:3"))
        with owner.joined() as uow:
            _org(uow, "C")
            raise RuntimeError("the process dies here")
    assert _orgs(app) == [] and _recorded(app) == 0
    with app.uow() as uow:
        assert first_delivery(uow, "test", "update:3")


def test_a_failed_use_case_in_a_joined_unit_keeps_the_record_for_the_owner(app: App) -> None:
    with app.uow() as owner:
        owner.carry(lambda u: record_delivery(u, "test", "update:4"))
        with pytest.raises(ValueError), owner.joined() as uow:
            _org(uow, "D")
            raise ValueError("a use case refuses half-way")
        with owner.joined() as uow:
            _org(uow, "E")
            uow.commit()
    assert _orgs(app) == ["E"] and _recorded(app) == 1


def test_a_nested_or_late_joined_unit_gets_a_session_of_its_own(app: App) -> None:
    with app.uow() as owner:
        with owner.joined() as outer, owner.joined() as inner:
            assert outer.session is owner.session
            assert inner.session is not owner.session
            _org(inner, "F")
            inner.commit()
        late = owner.joined()
    with late as uow:
        assert uow.session is not owner.session
        _org(uow, "G")
        uow.commit()
    assert _orgs(app) == ["F", "G"]


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_concurrent_redelivery_waits_for_the_first_and_runs_only_if_it_failed(app: App, first_commits: bool
                                                                                 ) -> None:
    """Two deliveries of one update at once: the second's record waits for the first's transaction; it is
    skipped when the first commits, and runs when the first dies before its commit."""
    second: list[bool] = []

    def redelivery() -> None:
        with app.uow() as uow:
            second.append(uow.carry(lambda u: record_delivery(u, "test", "update:5")))
            uow.commit()

    with pytest.raises(RuntimeError) if not first_commits else contextlib.nullcontext(), app.uow() as owner:
        assert owner.carry(lambda u: record_delivery(u, "test", "update:5"))
        thread = threading.Thread(target=redelivery)
        thread.start()
        with owner.joined() as uow:
            _org(uow, "H")
            if not first_commits:
                raise RuntimeError("the first delivery dies before its commit")
            uow.commit()
    thread.join(30)
    assert second == [not first_commits]
    assert _orgs(app) == (["H"] if first_commits else []) and _recorded(app) == 1


def test_a_thread_that_holds_a_session_lends_it_to_one_unit_at_a_time(app: App) -> None:
    """A server's database thread holds a session on SQLite: its units of work, one after another, share it
    and see each other's commits; one opened while it is lent gets its own; a failure leaves it usable;
    release closes it. On PostgreSQL holding changes nothing (the pool's ping on checkout stays)."""
    seen: dict[str, object] = {}

    def in_thread() -> None:
        app.sessions.hold()
        try:
            with app.uow() as first:
                _org(first, "J")
                first.commit()
                with app.uow() as nested:  # the held session is lent: this one gets its own
                    seen["nested"] = nested.session is not first.session
                    assert "J" in nested.session.scalars(select(Organisation.external_id)).all()
            with pytest.raises(RuntimeError), app.uow() as failed:
                _org(failed, "K")
                raise RuntimeError("a use case fails half-way")
            with app.uow() as second:
                seen["shared"] = second.session is first.session
                assert not second.session.new and not list(second.session.identity_map)  # nothing carried over
                _org(second, "L")
                second.commit()
            seen["held"] = first.session
        finally:
            app.sessions.release()
        with app.uow() as after:
            seen["after_release"] = after.session is not first.session

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(30)
    sqlite = app.engine.dialect.name == "sqlite"
    assert seen["nested"] and seen["after_release"]
    assert seen["shared"] is sqlite
    assert _orgs(app) == ["J", "L"]  # K was rolled back
    with app.uow() as uow:  # another thread never gets the held session
        assert uow.session is not seen["held"]


def _core_org(uow, key: str) -> None:
    from sqlalchemy import insert

    uow.connection().execute(insert(Organisation).values(
        platform="test", external_id=key, name=f"Org {key}", timezone="Asia/Shanghai", locale="en",
        created_at=uow.now))


def test_core_statements_and_the_session_share_one_transaction(app: App) -> None:
    """A unit that starts with Core statements and then asks for a session commits or rolls back both
    together, in either order, and may commit again after a commit."""
    with app.uow() as uow:
        _core_org(uow, "M")  # Core first: no session yet
        _org(uow, "N")  # the session joins the unit's transaction
        uow.commit()
        _org(uow, "O")  # after the commit: a new transaction, through the session
        _core_org(uow, "P")
        uow.commit()
    assert _orgs(app) == ["M", "N", "O", "P"]
    with pytest.raises(RuntimeError), app.uow() as uow:
        _core_org(uow, "Q")
        _org(uow, "R")
        raise RuntimeError("fails before the commit")
    with pytest.raises(RuntimeError), app.uow() as uow:
        _org(uow, "S")  # the session first, then Core
        _core_org(uow, "T")
        raise RuntimeError("fails before the commit")
    with app.uow() as uow:
        _core_org(uow, "U")
        uow.rollback()
        _org(uow, "V")
        uow.commit()
    assert _orgs(app) == ["M", "N", "O", "P", "V"]


def test_a_joined_unit_that_leaves_core_work_uncommitted_is_rolled_back(app: App) -> None:
    with app.uow() as owner:
        owner.carry(lambda u: record_delivery(u, "test", "update:6"))
        with owner.joined() as uow:
            _core_org(uow, "W")  # never committed
        owner.commit()  # the carried record alone
    assert _orgs(app) == [] and _recorded(app) == 1
