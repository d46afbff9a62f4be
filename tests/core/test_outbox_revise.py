"""The outbox's tracked subjects: every message about a subject is remembered where it landed and revised
together; one not yet delivered goes out as the latest revision; untracked messages are untouched."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.delivery.outbox import Msg, OutButton, enqueue, posts_of, revise
from domain.store.models import Member, OutboxMessage, OutboxPost


def _ids(app) -> dict[str, int]:
    with app.uow() as uow:
        return dict(uow.session.execute(select(Member.name, Member.id)).all())


def test_revise_edits_every_delivered_message_once(bot, app) -> None:
    bot("/team add bob role=sales")
    ids = _ids(app)
    with app.uow() as uow:
        for name in ("wang", "bob"):
            enqueue(uow, org_id=1, key=f"t:{name}", recipient_id=ids[name], msgid="Order {n}: {state}",
                    params={"n": 7, "state": Msg("open since {who}", {"who": "wang"})},
                    buttons=[OutButton("Close", "/help", decision=True)], subject="order:7")
        enqueue(uow, org_id=1, key="t:channel", channel="sales", msgid="Order {n}", params={"n": 7},
                subject="order:7")
        enqueue(uow, org_id=1, key="t:other", recipient_id=ids["bob"], msgid="unrelated")
        uow.commit()
    out = bot(":advance 1m")
    assert "→ @wang: Order 7: open since wang" in out and "[Close: /help]" in out
    with app.uow() as uow:
        posts = posts_of(uow, 1, "order:7")
        assert sorted(p.chat for p in posts) == ["#sales", "@bob", "@wang"]
        assert uow.session.scalar(select(func.count(OutboxPost.id))) == 3
        assert revise(uow, org_id=1, subject="order:7", msgid="Order {n}: closed", params={"n": 7}) == 1
        uow.commit()
    out = bot(":advance 1m")
    edits = [line for line in out.splitlines() if "✎" in line]
    assert sorted(edits) == sorted(f"[2026-11-23 10:01] ✎ {c}: Order 7: closed" for c in ("#sales", "@bob", "@wang"))
    assert "✎" not in bot(":advance 1m")  # once
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent")) == 0


def test_a_message_not_yet_delivered_goes_out_as_the_latest_revision(bot, app, clock) -> None:
    ids = _ids(app)
    with app.uow() as uow:
        enqueue(uow, org_id=1, key="late", recipient_id=ids["wang"], msgid="Order {n}: open", params={"n": 8},
                buttons=[OutButton("Close", "/help", decision=True)], subject="order:8")
        revise(uow, org_id=1, subject="order:8", msgid="Order {n}: closed", params={"n": 8})
        uow.commit()
    out = bot(":advance 1m")
    assert "→ @wang: Order 8: closed" in out and "Close" not in out and "✎" not in out
    with app.uow() as uow:
        (post,) = posts_of(uow, 1, "order:8")
        assert post.revision == 1
