"""What people type for orders: a quantity (100台, 2.5 t) and the department's routing (下达流程), e.g.
`生产安排:生产:5天, 采购协调:采购:3, 质量检验:质检:2, 发货:物流:2` or `production:5d, shipping:Mr Li (ext 21):2d`.

A route is steps in order, each `STEP[:OWNER][:DAYS]`: the step (production, purchasing, quality inspection,
shipping, in either language), who owns it — a role (a member holding it is picked when an order is handed
down) or any other words, kept as the named contact of another department — and the days it may take once it
starts. Shipping comes last, once.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.kernel.errors import DomainError, Invalid
from domain.kernel.i18n import N_
from domain.kernel.vocab import ROLES, Vocabulary

STEP_KINDS = Vocabulary(
    N_("step"),
    {"production": N_("production planning"), "purchasing": N_("purchasing coordination"),
     "quality": N_("quality inspection"), "shipping": N_("shipping"), "rectify": N_("rectification")},
    {"生产": "production", "生产安排": "production", "排产": "production",
     "采购": "purchasing", "采购协调": "purchasing",
     "质检": "quality", "质量检验": "quality", "检验": "quality", "qc": "quality", "inspection": "quality",
     "发货": "shipping", "订单发货": "shipping", "发运": "shipping", "物流": "shipping", "ship": "shipping",
     "整改": "rectify", "rectification": "rectify"},
)
ROUTABLE = ("production", "purchasing", "quality", "shipping")
STEP_ROLE = {"production": "production", "purchasing": "purchasing", "quality": "quality", "shipping": "logistics"}
DEFAULT_DAYS = {"production": 5, "purchasing": 3, "quality": 2, "shipping": 2}
MAX_DAYS = 365
MAX_QTY = Decimal(10) ** 12


@dataclass(frozen=True)
class RouteStep:
    kind: str
    role: str | None = None  # a role whose member owns the step
    contact: str | None = None  # or a named contact of another department
    days: int = 1

    def to_settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role, "contact": self.contact, "days": self.days}

    @staticmethod
    def from_settings(raw: dict[str, Any]) -> RouteStep:
        return RouteStep(str(raw["kind"]), raw.get("role"), raw.get("contact"), int(raw.get("days") or 1))


DEFAULT_ROUTE = tuple(RouteStep(k, STEP_ROLE[k], None, DEFAULT_DAYS[k]) for k in ROUTABLE)

_ITEM_SPLIT = re.compile(r"\s*(?:,|，|;|；|、|->|→|>)\s*")
_PART_SPLIT = re.compile(r"\s*[:：]\s*")
_DAYS = re.compile(r"^(\d{1,3})\s*(?:d|days?|天|日|个工作日|工作日)?$", re.I)
_CONTACT_BAD = re.compile(r"[=\"'<>\n\r\t]")


def _days(text: str) -> int | None:
    m = _DAYS.match(text)
    if not m:
        return None
    days = int(m[1])
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(N_("A step takes from 1 to {limit} days; '{text}' is not that."), limit=MAX_DAYS, text=text)
    return days


def _owner(kind: str, text: str) -> tuple[str | None, str | None]:
    """A role, or any other words as a named contact."""
    try:
        return ROLES.parse(text), None
    except DomainError:
        pass
    if _CONTACT_BAD.search(text) or len(text) > 200:
        raise Invalid(N_("'{text}' is neither a role nor a contact's name for step {step}."), text=text,
                      step=kind)
    return None, text


def parse_route(text: str) -> tuple[RouteStep, ...]:
    """A route as typed (see the module's text); shipping comes last, each step once."""
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    items = [item for item in _ITEM_SPLIT.split(raw) if item]
    if not items:
        raise Invalid(N_("A route needs its steps, e.g. production:5d, purchasing:3d, quality:2d, shipping:2d."))
    if len(items) > 12:
        raise Invalid(N_("A route has at most {limit} steps."), limit=12)
    steps: list[RouteStep] = []
    for item in items:
        parts = [p for p in _PART_SPLIT.split(item.strip())]
        if len(parts) > 3 or any(not p for p in parts):
            raise Invalid(N_("Cannot read the step '{text}'; write STEP:OWNER:DAYS, e.g. production:5d."), text=item)
        kind = STEP_KINDS.parse(parts[0])
        if kind not in ROUTABLE:
            raise Invalid(N_("A rectification is not a routing step; it follows a failed acceptance."))
        role: str | None = STEP_ROLE[kind]
        contact: str | None = None
        days = DEFAULT_DAYS[kind]
        rest = parts[1:]
        if rest:
            found = _days(rest[-1])
            if found is not None:
                days = found
                rest = rest[:-1]
            elif len(rest) == 2:
                raise Invalid(N_("Cannot read '{text}' as a number of days, e.g. 5d."), text=rest[-1])
        if rest:
            role, contact = _owner(kind, rest[0])
        steps.append(RouteStep(kind, role, contact, days))
    kinds = [s.kind for s in steps]
    if len(set(kinds)) != len(kinds):
        raise Invalid(N_("Each step comes once in a route."))
    if kinds[-1] != "shipping":
        raise Invalid(N_("A route ends with shipping."))
    return tuple(steps)


_QTY = re.compile(r"^(\d{1,13}(?:\.\d{1,3})?)\s*([^\d\s.,=][^\d=]{0,19})?$")


def parse_qty(text: str) -> tuple[Decimal, str | None]:
    """A quantity with an optional unit: 100, 100台, 2.5 t, 1,200 pcs; above 0."""
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    raw = re.sub(r"(?<=\d)[,_'](?=\d{3})", "", raw)
    m = _QTY.match(raw)
    if not m:
        raise Invalid(N_("Cannot read '{text}' as a quantity. Try 100, 100台 or 2.5 t."), text=text)
    try:
        qty = Decimal(m[1])
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise Invalid(N_("Cannot read '{text}' as a quantity. Try 100, 100台 or 2.5 t."), text=text) from None
    if not (Decimal(0) < qty < MAX_QTY):
        raise Invalid(N_("A quantity must be above 0 and below 1,000,000,000,000."))
    unit = m[2].strip() if m[2] else None
    return qty, unit or None


def route_text(route: tuple[RouteStep, ...]) -> str:
    """A route as it can be typed back (keys and numbers, the same in both languages)."""
    return ", ".join(f"{s.kind}:{s.role or s.contact}:{s.days}d" for s in route)
