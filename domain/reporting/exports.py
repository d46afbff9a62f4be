"""Tables written for the people entitled to see them: CSV (UTF-8 with a BOM, so Excel reads Chinese) or
xlsx. Each area writes its own tables through `write_table`, and adds those people may ask for in the chat
(/export) to EXPORT_TABLES in its `register(wiring)`."""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.delivery.outbox import Attachment, attach, enqueue
from domain.kernel.actor import Actor
from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Choices, Label
from domain.kernel.wiring import Key
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
    from openpyxl import Workbook  # heavy: loaded only by the process that writes a workbook

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


@dataclass(frozen=True)
class ExportTable:
    """A table people may have sent to them, with the rows they may see: `write` gives the file and how many
    rows it has, and audits it. A dated table is written for a range of days, `write(uow, actor, fmt, start,
    end)`; one that takes no dates, `write(uow, actor, fmt)`, says why (`no_dates`, a message id)."""

    name: str
    label: str  # msgid
    write: Callable[..., tuple[bytes, int]]
    no_dates: str | None = None


EXPORT_TABLES: Key[ExportTable] = Key("export tables")
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def send_export(uow: UnitOfWork, actor: Actor, what: str, fmt: str, start: date | None = None,
                end: date | None = None) -> int:
    """Write the table `what` (a name in EXPORT_TABLES) with the rows the actor may see, and send it to them
    as a file, in the same transaction; how many rows it has. Audited (by the table)."""
    tables = uow.wiring[EXPORT_TABLES]
    table = tables.get(what)
    if table is None:
        raise Invalid(N_("Unknown {what} '{value}'. Choose one of: {choices}."), what=Label(N_("export")),
                      value=what, choices=Choices(list(tables)))
    if fmt not in FORMATS:
        raise Invalid(N_("Unknown format '{format}'. Choose xlsx or csv."), format=fmt)
    if table.no_dates is None:
        data, count = table.write(uow, actor, fmt, start, end)
    elif start is not None or end is not None:
        raise Invalid(table.no_dates)
    else:
        data, count = table.write(uow, actor, fmt)
    stamp = uow.now.astimezone(ZoneInfo(actor.timezone)).strftime("%Y%m%d-%H%M%S")
    # what makes this request one of its own: the table, its format and days, the moment, and the file itself
    # (the table may have changed since a request of the same moment)
    days = f"{start.isoformat() if start else ''}..{end.isoformat() if end else ''}"
    key = (f"export:{actor.org_id}:{actor.member_id}:{what}:{fmt}:{days}:{uow.now.isoformat()}:"
           f"{hashlib.sha256(data).hexdigest()[:16]}")
    enqueue(uow, org_id=actor.org_id, key=key, recipient_id=actor.member_id, urgent=True,
            msgid=N_("Your export: {what} (rows: {count})."), params={"what": Label(table.label), "count": count})
    attach(uow, key, Attachment(f"{what}-{stamp}.{fmt}", MIME[fmt], data))
    uow.commit()
    return count
