"""Exports of leads and complaints, for the people entitled to them."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fakes.cli import run
from openpyxl import load_workbook
from sqlalchemy import select

from domain.complaints.cases import export_complaints
from domain.crm.customers import export_leads
from domain.kernel.errors import Invalid, NotFound
from domain.store.models import AuditEntry


@pytest.fixture
def team(bot):
    """wang (manager) ← alice (sales) ← bob (sales); carol (sales, apart); 小王 (service, zh)."""
    bot("/team add alice role=sales", "/team add bob role=sales supervisor=alice", "/team add carol role=sales",
        "/team add 小王 role=service lang=zh")
    bot(":as bob", "/customer new BobCo", '/lead new BobCo value=20万 source=展会 contact="Mr Li"',
        "/lead screen L1 scale=5 position=4 potential=4 intent=4")
    bot(":as carol", "/customer new CarolCo", "/lead new CarolCo value=100", "/lead stage L2 lost reason=price")
    bot(":as 小王", '/complaint new BobCo severity=high what="late delivery" wants="this week" contact="Mr Li"')
    bot(":advance 2d", ":as bob", '/complaint solution Q1 "send again"', '/complaint resolve Q1')
    return bot


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())                 # Excel reads UTF-8 with the BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_leads_each_member_gets_what_they_may_see(team, app) -> None:
    with app.uow() as uow:
        rows = _csv(export_leads(uow, "wang", None, "csv")[0])
    assert rows[0][:4] == ["Lead", "Customer", "Stage", "Value"]
    assert [r[0] for r in rows[1:]] == ["L1", "L2"]
    bob = rows[1]
    assert bob[1:8] == ["BobCo", "screening", "200000.00", "CNY", "exhibition", "bob", "Mr Li"]
    assert bob[10:12] == ["17", "yes"] and rows[2][2] == "lost" and rows[2][15] == "price"
    with app.uow() as uow:
        assert [r[0] for r in _csv(export_leads(uow, "alice", None, "csv")[0])[1:]] == ["L1"]   # her team
        assert [r[0] for r in _csv(export_leads(uow, "carol", None, "csv")[0])[1:]] == ["L2"]   # her own
        data, count, locale = export_leads(uow, "小王", None, "xlsx")
        audited = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "export",
                                                                      AuditEntry.entity == "lead")).all()
    assert (count, locale) == (0, "zh")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "商机" and sheet["A1"].value == "商机" and sheet["C1"].value == "阶段"
    assert audited == ["csv 2 rows", "csv 1 rows", "csv 1 rows", "xlsx 0 rows"]


def test_complaints_with_promises_in_local_time_and_a_range(team, app) -> None:
    with app.uow() as uow:
        rows = _csv(export_complaints(uow, "wang", None, "csv", None, None)[0])
        assert rows[0][:4] == ["Complaint", "Customer", "Severity", "Status"]
        (q1,) = rows[1:]
        assert q1[:4] == ["Q1", "BobCo", "high severity", "resolved"]
        assert q1[8:12] == ["bob", "小王", "2026-11-23 10:00", "2026-11-23 14:00"]
        assert q1[14] == "2026-11-25 10:00" and q1[17] == "send again"
        assert _csv(export_complaints(uow, "carol", None, "csv", None, None)[0])[1:] == []   # not hers
        assert len(_csv(export_complaints(uow, "小王", None, "csv", None, None)[0])) == 2   # she received it
        assert _csv(export_complaints(uow, "wang", None, "csv", date(2026, 11, 24), None)[0])[1:] == []
        assert len(_csv(export_complaints(uow, "wang", None, "csv", None, date(2026, 11, 23))[0])) == 2
        with pytest.raises(Invalid):
            export_complaints(uow, "wang", None, "csv", date(2026, 11, 24), date(2026, 11, 23))
        with pytest.raises(NotFound):
            export_complaints(uow, "nobody", None, "csv", None, None)


def test_bizbot_export_leads_and_complaints_commands(team, db_url, tmp_path) -> None:
    env = {"BIZBOT_DATABASE_URL": db_url}
    result = run(["export", "leads", "--as", "wang", "--format", "csv"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("L1,BobCo,")
    out = tmp_path / "complaints.xlsx"
    result = run(["export", "complaints", "--as", "wang", "--from", "2026-11-01", "-o", str(out)], env=env)
    assert result.returncode == 0 and "wrote 1 complaint(s)" in result.stdout
    assert load_workbook(out).active["A2"].value == "Q1"
    refused = run(["export", "complaints", "--as", "nobody"], env=env)
    assert refused.returncode != 0 and "nobody" in refused.stderr and "Traceback" not in refused.stderr


def _outbox_files(app) -> list[tuple[str, str, bytes]]:
    from domain.store.models import OutboxAttachment, OutboxMessage

    with app.uow() as uow:
        return [(m.key, a.filename, bytes(a.data)) for m, a in uow.session.execute(
            select(OutboxMessage, OutboxAttachment).join(OutboxAttachment, OutboxAttachment.key == OutboxMessage.key)
            .where(OutboxMessage.key.startswith("export:")).order_by(OutboxMessage.id))]


def test_export_from_the_chat_sends_the_file_to_the_one_who_asked(team, app) -> None:
    out = team(":as alice", "/export leads")
    assert "Your leads export is on its way to you as a file (rows: 1)." in out
    assert "→ @alice: Your export: leads (rows: 1)." in out and "📎" in out
    out = team(":as 小王", "/export 投诉 csv from=2026-11-01 to=2026-11-30")
    assert "投诉导出文件即将发送给你（共 1 行）。" in out and "你的导出：投诉（共 1 行）。" in out
    files = _outbox_files(app)
    assert [name.rsplit("-", 2)[0] for _key, name, _data in files] == ["leads", "complaints"]
    assert files[0][1].endswith(".xlsx") and files[1][1].endswith(".csv")
    assert load_workbook(io.BytesIO(files[0][2])).active["A2"].value == "L1"      # alice sees bob's lead
    assert _csv(files[1][2])[0][0] == "投诉" and _csv(files[1][2])[1][0] == "Q1"
    with app.uow() as uow:
        assert uow.session.scalar(select(AuditEntry.detail).where(AuditEntry.entity == "complaint",
                                                                   AuditEntry.action == "export")) == \
            "csv 2026-11-01..2026-11-30 1 rows"


def test_export_refuses_bad_input_and_sends_nothing(team, app) -> None:
    cases = {
        "/export": "Missing WHAT",
        "/export cats": "Unknown export 'cats'. Choose one of: leads, complaints, ledger (contract ledger), audit "
                        "(access log), orders, receivables, projects, or projectfile (project files).",
        "/export leads pdf": "Unknown FORMAT 'pdf'. Choose one of: xlsx or csv.",
        "/export leads from=2026-11-01": "The leads export has every lead; it takes no dates.",
        "/export ledger from=2026-12-01 to=2026-11-01": "The end 2026-11-01 is before the start 2026-12-01.",
        "/export complaints from=someday": "Cannot read 'someday' as a date",
    }
    for line, answer in cases.items():
        assert answer in team(":as wang", line), line
    assert _outbox_files(app) == []


def test_exports_asked_for_at_the_same_moment_are_each_sent(team, app) -> None:
    """The same table in the other format, for other days, or changed in between, asked for at the same clock
    instant by the same person: each request's file comes; none is taken for another."""
    team(":as wang", "/export leads", "/export leads csv", "/export complaints csv from=2026-11-01 to=2026-11-30",
         "/export complaints csv from=2026-11-20 to=2026-11-30", "/customer new NewCo", "/lead new NewCo value=300",
         "/export leads csv")
    files = _outbox_files(app)
    assert [name.rsplit(".", 1)[1] for _key, name, _data in files] == ["xlsx", "csv", "csv", "csv", "csv"]
    assert len({key for key, _name, _data in files}) == 5
    leads = [_csv(data) for _key, name, data in files if name.startswith("leads-") and name.endswith(".csv")]
    assert [[row[0] for row in rows[1:]] for rows in leads] == [["L1", "L2"], ["L1", "L2", "L3"]]
