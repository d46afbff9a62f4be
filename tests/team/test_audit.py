"""The access log (数据访问记录): who read or changed a record, what a member did, for admins,
managers and the head only; its export; reading it is recorded too."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from domain.store.models import AuditEntry, Customer, OutboxAttachment


def _entries(out: str) -> list[str]:
    return [line.split(" · ", 1)[1] for line in out.splitlines() if line.startswith("  • ")]


def test_who_read_or_changed_a_record_and_what_a_member_did(bot) -> None:
    bot("/team add alice role=sales", "/customer new Acme owner=alice", ":as alice", "/customer show Acme",
        "/lead new Acme")
    out = bot(":as wang", "/audit C1")
    assert "Access log: C1 (2)" in out
    assert _entries(out) == ["alice · read · customer · C1", "wang · created · customer · C1 · Acme"]
    out = bot("/audit alice")
    assert _entries(out) == ["alice · created · lead · L1 · Acme", "alice · read · customer · C1"]
    out = bot("/settings lang zh", "/audit c1")
    assert "访问记录：C1（3）" in out and "alice · 查看 · 客户 · C1" in out
    assert "wang · 查看 · 访问记录 · C1 · 显示 2 条中的 2 条" in out                       # reading the log is recorded


def test_only_admins_managers_and_the_head_read_it(bot, app) -> None:
    bot("/team add alice role=sales", "/team add hank role=head", "/team add dora role=deputy")
    assert "Only admin, internal audit, department head, or manager may use /audit." in bot(":as alice", "/audit")
    assert "may use /audit" in bot(":as dora", "/audit")
    assert "Access log (" in bot(":as hank", "/audit")
    assert "Only admin, internal audit, department head, or manager" in bot(":as alice", "/export audit")
    out = bot(":as wang", "/audit alice")
    assert "alice · refused · command · /audit" in out


def test_the_newest_are_shown_and_the_export_has_them_all(bot, app) -> None:
    bot(*[f"/customer new C{i:02d}x" for i in range(40)])
    out = bot("/audit")
    assert "The newest 30 of 41; /export audit sends them all as a file." in out
    assert len(_entries(out)) == 30
    out = bot("/export audit csv")
    assert "rows: 42" in out                                          # the earlier read of the log included
    with app.uow() as uow:
        data = uow.session.scalars(select(OutboxAttachment.data).where(OutboxAttachment.filename.like("audit-%"))).one()
    rows = list(csv.reader(io.StringIO(bytes(data).decode("utf-8-sig"))))
    assert rows[0] == ["Time", "Member", "Action", "Record", "Reference", "Detail"] and len(rows) == 43
    assert rows[1][1:4] == ["wang", "created", "member"]              # oldest first


def test_bad_input_answers_and_changes_nothing(bot, app) -> None:
    bot("/customer new Acme")

    def customers() -> int:
        with app.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(Customer))

    for line, answer in {
        "/audit nobody": "No member named 'nobody'.",
        "/audit C1 from=2026-12-05 to=2026-12-01": "The end 2026-12-01 is before the start 2026-12-05.",
        "/audit from=someday": "Cannot read 'someday' as a date",
        "/export audit pdf": "Unknown FORMAT 'pdf'",
    }.items():
        out = bot(line)
        assert out.startswith("⚠") and answer in out, (line, out)
    assert customers() == 1
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEntry.entity == "audit")) == 0
