"""Small formatters for replies, in the current locale."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.crm.customers import LeadListing
from domain.kernel.i18n import _, fmt_date, fmt_money
from domain.kernel.vocab import RISKS, STAGES
from domain.risk.levels import MARKS, marked
from domain.store.models import Lead


def day(value: date | None) -> str:
    return fmt_date(value) if value else "—"


def local_day(value: datetime, tz: str) -> str:
    return fmt_date(value.astimezone(ZoneInfo(tz)).date())


def money(value: Decimal | None, currency: str) -> str:
    return fmt_money(value, currency) if value is not None else "—"


def lead_line(lead: Lead | LeadListing, customer_name: str, owner_name: str | None = None,
              value_hidden: bool = False) -> str:
    """A lead on one line; `value_hidden`: the reader may not see its value (domain.team.access.amount_owner_ids)."""
    parts = [marked(f"L{lead.number}", lead.risk), customer_name, STAGES.label(lead.stage),
             _("amount not shown") if value_hidden else money(lead.value, lead.currency)]
    if owner_name:
        parts.append(owner_name)
    if lead.key_account:
        parts.append(_("key account"))
    return " · ".join(parts)


def risk(value: str, note: str | None = None) -> str:
    """A risk level as a warning: its colour and label, and why ("🔴 high (red) — two invoices overdue")."""
    text = f"{MARKS[value]} {RISKS.label(value)}" if value in MARKS else RISKS.label(value)
    return _("{level} — {reason}").format(level=text, reason=note) if note else text

