"""Tables written for the people entitled to see them: CSV (UTF-8 with a BOM, so Excel reads Chinese) or
xlsx. The ledger (domain.approvals.contracts) and the appraisal reviews (domain.appraisals.reviews) are exported through here."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Label
from domain.kernel.vocab import Vocabulary
from domain.store.uow import UnitOfWork

FORMATS = ("csv", "xlsx")
# what makes a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters an xlsx file cannot hold


def inert(text: str) -> str:
    """Text a spreadsheet shows as text: one that would start a formula gets a leading single quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text

def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return inert(str(value))
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _xlsx_cell(sheet: Any, row: int, column: int, value: Any) -> None:
    """A cell of its value's type; text is always a string cell (never a formula, nor an error code)."""
    if isinstance(value, str):
        cell = sheet.cell(row=row, column=column, value=inert(_NOT_IN_XLSX.sub("", str(value))))
        cell.data_type = "s"
    else:
        sheet.cell(row=row, column=column, value=value)


def write_table(header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, title: str = "bizbot",
                money_columns: Sequence[int] = ()) -> bytes:
    """The rows as CSV or xlsx bytes (`money_columns`: 0-based columns shown with two decimals in xlsx). Text
    never becomes a formula in either; numbers stay numbers."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([_csv_cell(v) for v in header])
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise ValueError(f"unknown format {fmt!r}")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for number, values in enumerate([header, *rows], 1):
        for column, value in enumerate(values, 1):
            _xlsx_cell(sheet, number, column, value)
    for column in money_columns:
        for cells in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cells[0].number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- from the chat: the file comes to the one who asked, as a message of its own -----------------

EXPORTS = Vocabulary(
    N_("export"),
    {"leads": N_("leads"), "complaints": N_("complaints"), "ledger": N_("contract ledger"),
     "audit": N_("access log")},
    {"商机": "leads", "lead": "leads", "投诉": "complaints", "complaint": "complaints", "台账": "ledger",
     "合同台账": "ledger", "contracts": "ledger", "访问记录": "audit", "审计": "audit", "日志": "audit",
     "log": "audit"},
)
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def send_export(uow: UnitOfWork, actor: Actor, what: str, fmt: str, start: date | None = None,
                end: date | None = None) -> int:
    """Write the table `what` (leads, complaints, ledger, audit) with the rows the actor may see, and send it
    to them as a file, in the same transaction; how many rows it has. Audited (by the table)."""
    from domain.approvals.contracts import ledger_table
    from domain.complaints.cases import complaints_table
    from domain.crm.customers import leads_table
    from domain.delivery.outbox import Attachment, attach, enqueue
    from domain.team.auditlog import audit_table

    what = EXPORTS.parse(what)
    if fmt not in FORMATS:
        raise Invalid(N_("Unknown format '{format}'. Choose xlsx or csv."), format=fmt)
    if what == "leads":
        if start is not None or end is not None:
            raise Invalid(N_("The leads export has every lead; it takes no dates."))
        data, count = leads_table(uow, actor, fmt)
    elif what == "complaints":
        data, count = complaints_table(uow, actor, fmt, start, end)
    elif what == "audit":
        data, count = audit_table(uow, actor, fmt, start, end)
    else:
        data, count = ledger_table(uow, actor, fmt, start, end)
    stamp = uow.now.astimezone(ZoneInfo(actor.timezone)).strftime("%Y%m%d-%H%M%S")
    key = f"export:{actor.org_id}:{actor.member_id}:{what}:{uow.now.isoformat()}"
    enqueue(uow, org_id=actor.org_id, key=key, recipient_id=actor.member_id, urgent=True,
            msgid=N_("Your export: {what} (rows: {count})."), params={"what": Label(EXPORTS.labels[what]), "count": count})
    attach(uow, key, Attachment(f"{what}-{stamp}.{fmt}", MIME[fmt], data))
    uow.commit()
    return count
