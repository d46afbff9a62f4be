"""Tables written for people entitled to see them: CSV (UTF-8 with BOM, so Excel reads Chinese) or xlsx."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.access import Actor, require_role
from domain.errors import Forbidden
from domain.team import actor_for, find_member
from domain.uow import UnitOfWork

EXPORT_ROLES = frozenset({"admin", "manager", "deputy", "head"})


def exporter(uow: UnitOfWork, org_id: int, name: str, what: str) -> Actor:
    """The member an export runs as: it must exist and hold a managing role; the export is audited."""
    actor = actor_for(uow, find_member(uow, org_id, name))
    try:
        require_role(actor, EXPORT_ROLES)
    except Forbidden:
        uow.audit(org_id, actor.member_id, "refuse", "export", what)
        uow.commit()
        raise
    uow.audit(org_id, actor.member_id, "export", "export", what)
    return actor


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return "" if value is None else value


def write_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, path: Path | None) -> bytes:
    """The rows as CSV or xlsx bytes; written to `path` too when given."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        data = ("\ufeff" + buf.getvalue()).encode("utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(list(columns))
        for row in rows:
            sheet.append([_cell(row.get(c)) for c in columns])
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if path is not None:
        path.write_bytes(data)
    return data
