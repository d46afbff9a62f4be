"""Reminders at scale: sweep 5,000 due items among 100,000 customers, then deliver within limits.

    .venv/bin/python bench/reminders.py [--customers 100000] [--due 5000] [--chats 500] [--url URL]

Delivery runs on the injected clock against a fake Telegram that enforces its limits (30 messages a
second overall, 1 a second per chat) and answers 429 when they are broken, so the figure is the
simulated time bizbot needs, compared with the lower bound those limits allow. The sweep and the
dispatcher run in this process, with the fake platform: the CPU it spends is printed with each phase.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict, deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.bootstrap import bootstrap
from bot.delivery import DeliveryError, Dispatcher, Outgoing
from bot.ratelimit import Limit
from bot.settings import Settings
from domain.delivery.due import sweep
from domain.kernel.clock import FakeClock
from domain.store.models import Callback, Customer, DueItem, Identity, Member, OutboxMessage
from domain.team.members import ensure_org

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


class LimitedTelegram:
    """A platform that counts 429s: it refuses a send that breaks 30/s overall or 1/s per chat."""

    def overall_limits(self) -> list[Limit]:
        return [Limit("telegram:all", 30, 1.0)]

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[str] = []
        self.rejected = 0
        self._all: deque[float] = deque()
        self._chat: dict[str, float] = defaultdict(lambda: -1e9)

    def limits(self, message: Outgoing) -> list[Limit]:
        chat = str(message.address)
        return [Limit("telegram:all", 30, 1.0), Limit(f"telegram:chat:{chat}", 1, 1.0)]

    def send(self, message: Outgoing) -> None:
        now = self.clock.now().timestamp()
        while self._all and self._all[0] <= now - 1.0:
            self._all.popleft()
        chat = str(message.address)
        if len(self._all) >= 30 or now - self._chat[chat] < 1.0:
            self.rejected += 1
            raise DeliveryError("Too Many Requests", retry_after=1)
        self._all.append(now)
        self._chat[chat] = now
        self.sent.append(message.key)


def seed(app, customers: int, due: int, chats: int) -> None:
    with app.uow() as uow:
        org = ensure_org(uow, "telegram", "-1001", "bench", "Asia/Shanghai", "en")
        uow.commit()
        members = [{"org_id": org.id, "name": f"m{i}", "name_key": f"m{i}", "roles": "sales", "active": True,
                    "created_at": START, "locale": "en"} for i in range(chats)]
        uow.session.execute(insert(Member), members)
        ids = list(uow.session.scalars(select(Member.id).order_by(Member.id)))
        uow.session.execute(insert(Identity), [{"member_id": m, "platform": "telegram", "workspace": "telegram",
                                                 "external_id": str(10_000 + i)} for i, m in enumerate(ids)])
        batch = 10_000
        for start in range(0, customers, batch):
            uow.session.execute(insert(Customer), [
                {"org_id": org.id, "number": i + 1, "name": f"c{i}", "name_key": f"c{i}", "owner_id": ids[i % chats],
                 "level": "regular", "risk": "low", "cadence_days": 30, "created_at": START, "updated_at": START}
                for i in range(start, min(start + batch, customers))])
        customer_ids = list(uow.session.scalars(select(Customer.id).order_by(Customer.id)))
        rows = []
        for i, cid in enumerate(customer_ids):
            is_due = i < due
            rows.append({"org_id": org.id, "number": i + 1, "customer_id": cid, "owner_id": ids[i % chats],
                         "due_date": date(2026, 11, 23) if is_due else date(2026, 12, 1 + i % 28),
                         "reason": "cadence", "status": "open", "created_at": START})
        for start in range(0, len(rows), batch):
            uow.session.execute(insert(Callback), rows[start:start + batch])
        cb_ids = list(uow.session.scalars(select(Callback.id, ).order_by(Callback.id)))
        items = [{"org_id": org.id, "kind": "callback", "subject_id": cb, "state": "pending", "key": f"callback:{cb}",
                  "due_at": START if i < due else START + timedelta(days=8 + i % 28)} for i, cb in enumerate(cb_ids)]
        for start in range(0, len(items), batch):
            uow.session.execute(insert(DueItem), items[start:start + batch])
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        clock = FakeClock(START)
        app = bootstrap(Settings(database_url=url, locale="en", timezone="Asia/Shanghai"), clock)
        t0 = time.perf_counter()
        seed(app, args.customers, args.due, args.chats)
        print(f"seeded {args.customers} customers, {args.customers} callbacks, {args.due} due now, "
              f"{args.chats} chats in {time.perf_counter() - t0:.1f} s")
        t0, cpu0 = time.perf_counter(), time.process_time()
        fired = sweep(app.services.uow)
        sweep_s = time.perf_counter() - t0
        print(f"sweep: {fired} due items → outbox in {sweep_s:.2f} s ({sweep_s / max(fired, 1) * 1000:.2f} ms each, "
              f"CPU {time.process_time() - cpu0:.2f} s)")
        platform = LimitedTelegram(clock)
        dispatcher = Dispatcher(app.services.uow, {"telegram": platform})
        t0, cpu0 = time.perf_counter(), time.process_time()
        waiting = (select(func.count()).select_from(OutboxMessage)
                   .where(OutboxMessage.status.in_(("pending", "sending"))))
        while True:
            dispatcher.run_once(limit=500)
            with app.uow() as uow:
                if not uow.session.scalar(waiting):
                    break
            clock.advance(timedelta(milliseconds=100))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        simulated = (clock.now() - START).total_seconds()
        with app.uow() as uow:
            statuses = defaultdict(int)
            for status in uow.session.scalars(select(OutboxMessage.status)):
                statuses[status] += 1
            # the bound counts the messages that went out: a person's notices due together go as one message
            per_recipient = list(uow.session.scalars(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
                .group_by(OutboxMessage.recipient_id)))
        messages, per_chat = sum(per_recipient), max(per_recipient, default=0)
        bound = max(messages / 30, per_chat - 1, 0.1)
        print(f"delivered {len(platform.sent)} ({len(set(platform.sent))} distinct) in {simulated:.1f} s of "
              f"platform time ({wall:.1f} s of computer time, CPU {cpu:.1f} s); 429s: {platform.rejected}")
        print(f"lower bound from the limits: {bound:.1f} s; ratio {simulated / bound:.3f}× (target ≤ 1.1×)")
        print(f"outbox: {dict(statuses)} ({fired} notices in {messages} messages); "
              f"lost: {sum(n for status, n in statuses.items() if status not in ('sent', 'merged'))}; "
              f"doubled: {len(platform.sent) - len(set(platform.sent))}")
        app.close()


if __name__ == "__main__":
    main()
