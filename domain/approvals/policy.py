"""Approval policy as data: per request type, a chain of roles, each step perhaps only above a threshold.

The text form is what admins type and what /policy show prints:

    manager, legal, head if amount >= 500000

Steps are separated by commas (or → / ->); a step is a role (or `supervisor`, the requester's
own supervisor), optionally followed by `if FIELD OP NUMBER` where FIELD is `amount` or `days`
and OP one of >= > <= < =. Numbers may be written 50万 or 5k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, _, current_locale, translate
from domain.kernel.vocab import ROLES, Vocabulary

FIELDS = ("amount", "days")
OPS = (">=", "<=", ">", "<", "=")
SUPERVISOR = "supervisor"
_SUPERVISOR_WORDS = {"supervisor", "上级", "上级主管", "直属上级"}
_SPLIT = re.compile(r"\s*(?:,|，|、|→|->)\s*")
_STEP = re.compile(r"^(?P<role>[^\s]+?)(?:\s+(?:if|when|如果|当)\s*(?P<field>[a-z]+|金额|天数)\s*(?P<op>>=|<=|>|<|=)\s*"
                   r"(?P<value>[^\s]+))?$", re.IGNORECASE)
_FIELD_WORDS = {"金额": "amount", "天数": "days"}
_MULTIPLIERS = {"万": Decimal(10_000), "w": Decimal(10_000), "k": Decimal(1_000), "m": Decimal(1_000_000)}


@dataclass(frozen=True)
class Step:
    role: str
    field: str | None = None
    op: str | None = None
    value: Decimal | None = None

    def applies(self, values: dict[str, Decimal | None]) -> bool:
        if self.field is None:
            return True
        actual = values.get(self.field)
        if actual is None or self.value is None:
            return False
        return {">=": actual >= self.value, ">": actual > self.value, "<=": actual <= self.value,
                "<": actual < self.value, "=": actual == self.value}[self.op or "="]

    def as_text(self) -> str:
        if self.field is None:
            return self.role
        return f"{self.role} if {self.field} {self.op} {_number(self.value)}"

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role}
        if self.field is not None:
            data["if"] = [self.field, self.op, _number(self.value)]
        return data

    @staticmethod
    def from_data(data: dict[str, Any]) -> Step:
        cond = data.get("if")
        if cond:
            return Step(data["role"], cond[0], cond[1], Decimal(str(cond[2])))
        return Step(data["role"])


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def _parse_number(text: str) -> Decimal:
    raw = text.strip().replace(",", "").lstrip("¥￥")
    factor = Decimal(1)
    if raw and raw[-1].lower() in _MULTIPLIERS:
        factor, raw = _MULTIPLIERS[raw[-1].lower()], raw[:-1]
    try:
        value = Decimal(raw) * factor
    except InvalidOperation:
        raise Invalid(N_("Cannot read '{text}' as a number in the policy."), text=text) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise Invalid(N_("Cannot read '{text}' as a number in the policy."), text=text)
    return value


def parse_role(text: str) -> str:
    if text.strip().lower() in _SUPERVISOR_WORDS:
        return SUPERVISOR
    return ROLES.parse(text)


def parse_chain(text: str) -> list[Step]:
    """Read a chain such as `manager, legal, head if amount >= 500000`."""
    parts = [p for p in _SPLIT.split(text.strip()) if p]
    if not parts:
        raise Invalid(N_("A chain needs at least one step, e.g. \"manager, legal, head if amount >= 500000\"."))
    if len(parts) > 8:
        raise Invalid(N_("A chain has at most {limit} steps."), limit=8)
    steps = []
    for part in parts:
        m = _STEP.match(" ".join(part.split()))
        if m is None:
            raise Invalid(N_("Cannot read the step '{step}'. Write ROLE or ROLE if amount >= 500000."), step=part)
        role = parse_role(m.group("role"))
        if m.group("field") is None:
            steps.append(Step(role))
            continue
        field = _FIELD_WORDS.get(m.group("field"), m.group("field").lower())
        if field not in FIELDS:
            raise Invalid(N_("A step's condition is on amount or days, not '{field}'."), field=field)
        steps.append(Step(role, field, m.group("op"), _parse_number(m.group("value"))))
    return steps


def format_chain(steps: list[Step]) -> str:
    """A chain in bizbot's own words, as it is kept and typed (`manager, legal, head if amount >= 500000`)."""
    return ", ".join(s.as_text() for s in steps)


FIELD_LABELS = {"amount": N_("amount"), "days": N_("days")}


def shown_condition(step: Step) -> str:
    """A step's condition in the reader's words (`amount >= 500000`, `金额 >= 500000`)."""
    if step.field is None:
        return ""
    return _("{field} {op} {value}").format(field=translate(FIELD_LABELS[step.field]), op=step.op,
                                             value=_number(step.value))


def shown_step(step: Step) -> str:
    role = translate(N_("supervisor")) if step.role == SUPERVISOR else ROLES.label(step.role)
    if step.field is None:
        return role
    return _("{role} if {condition}").format(role=role, condition=shown_condition(step))


def shown_chain(steps: list[Step]) -> str:
    """A chain in the reader's words, read back as the same chain (`经理、法务、部门负责人 如果 金额 >= 500000`)."""
    return ("、" if current_locale() == "zh" else ", ").join(shown_step(s) for s in steps)


TYPES = ("contract", "change", "expense", "leave", "project", "collab", "invoice", "plan")
TYPE_LABELS = {
    "contract": N_("contract"),
    "change": N_("contract change"),
    "expense": N_("expense claim"),
    "leave": N_("leave"),
    "project": N_("project initiation"),
    "collab": N_("cross-department request"),
    "invoice": N_("invoice request"),
    "plan": N_("project plan"),
}
REQUEST_KINDS = Vocabulary(
    N_("request type"), TYPE_LABELS,
    {"合同": "contract", "合同审批": "contract", "合同审核": "contract", "变更": "change", "合同变更": "change",
     "变更申请": "change", "报销": "expense", "费用报销": "expense", "费用": "expense", "请假": "leave",
     "休假": "leave", "立项": "project", "项目": "project", "项目立项": "project", "协作": "collab",
     "跨部门": "collab", "跨部门协作": "collab", "开票": "invoice", "开票申请": "invoice", "发票": "invoice",
     "计划": "plan", "项目计划": "plan", "计划审核": "plan", "计划变更": "plan"},
)
DEFAULT_RULES: dict[str, Any] = {
    "contract": "manager, legal, head if amount >= 500000",
    "change": "manager, legal, head if amount >= 500000",
    "expense": "manager, finance if amount >= 5000",
    "leave": "supervisor, manager if days > 3",
    "project": "manager, finance if amount >= 100000, head if amount >= 500000",
    "collab": "supervisor, head",
    "invoice": "finance",
    "plan": "manager",
    "nudge_hours": 24,
    "escalate_hours": 72,
}


@dataclass(frozen=True)
class Policy:
    version: int
    chains: dict[str, list[Step]]
    nudge_hours: int
    escalate_hours: int

    def as_rules(self) -> dict[str, Any]:
        return {**{t: [s.as_data() for s in steps] for t, steps in self.chains.items()},
                "nudge_hours": self.nudge_hours, "escalate_hours": self.escalate_hours}


def from_rules(version: int, rules: dict[str, Any]) -> Policy:
    chains = {}
    for t in TYPES:
        raw = rules.get(t, DEFAULT_RULES[t])
        chains[t] = parse_chain(raw) if isinstance(raw, str) else [Step.from_data(d) for d in raw]
    return Policy(version, chains, int(rules.get("nudge_hours", DEFAULT_RULES["nudge_hours"])),
                  int(rules.get("escalate_hours", DEFAULT_RULES["escalate_hours"])))
