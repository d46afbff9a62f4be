"""What the department's own records add to the application, in one place."""
from __future__ import annotations

from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.team import auditlog


def register(wiring: Wiring) -> None:
    """The access log, as a table its readers may export."""
    wiring[EXPORT_TABLES].add(ExportTable("audit", N_("access log"), auditlog.audit_table))
