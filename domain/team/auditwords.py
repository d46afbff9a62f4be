"""The access log in the reader's language.

Each entry keeps what happened as bizbot wrote it, in its own words ("stage research->negotiation", "risk low ->
medium: late payments", "xlsx 12 rows"): entries written before this module and after it read the same. Each form
those words take has a pattern and a message id here, with what its values are (a stage, a risk level, a role, a
date…), and an entry is shown through the first form that fits; names, references and what people typed stay as
they are. A form no pattern fits is shown as written.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.dates import get_day_names

from domain.kernel.i18n import (
    N_,
    _,
    babel_locale,
    current_locale,
    fmt_date,
    fmt_list,
    fmt_money,
    fmt_number,
    lang_name,
    translate,
)
from domain.kernel.vocab import LEVELS, RISKS, ROLES, SCALES, SOURCES, STAGES

Value = Callable[[str], str]


def _day(text: str) -> str:
    try:
        return fmt_date(date.fromisoformat(text))
    except ValueError:
        return text


def _stage(text: str) -> str:
    return STAGES.label(text) if text in STAGES.labels else _word(text)


def _risk(text: str) -> str:
    return RISKS.label(text) if text in RISKS.labels else _word(text)


def _roles(text: str) -> str:
    return fmt_list([ROLES.label(r.strip()) for r in text.split(",") if r.strip()])


def _lang(text: str) -> str:
    return lang_name(text) if text in ("en", "zh") else _word(text)


def _weekday(text: str) -> str:
    """A day of the week kept as its number (0 is Monday)."""
    if text.isdecimal() and int(text) < 7:
        return get_day_names("wide", locale=babel_locale())[int(text)]
    return _word(text)


def _policy_chain(text: str) -> str:
    """A chain as bizbot keeps it (`manager, legal, head if amount >= 500000`), in the reader's words."""
    steps = []
    for step in text.split(", "):
        role, _sep, condition = step.partition(" if ")
        shown = translate(N_("supervisor")) if role == "supervisor" else _roles(role)
        if condition:
            field, op, value = (condition.split(" ") + ["", "", ""])[:3]
            shown = _("{role} if {condition}").format(role=shown, condition=_("{field} {op} {value}").format(
                field=translate(FIELDS.get(field, field)), op=op, value=value))
        steps.append(shown)
    return ("、" if current_locale() == "zh" else ", ").join(steps)


FIELDS = {"amount": N_("amount"), "days": N_("days")}
REQUEST_TYPES = {"contract": N_("contract"), "change": N_("contract change"), "expense": N_("expense claim"),
                 "leave": N_("leave"), "project": N_("project initiation"), "collab": N_("cross-department request")}


def _amount(text: str) -> str:
    try:
        return fmt_money(Decimal(text), "CNY")
    except InvalidOperation:
        return _word(text)


# single words bizbot writes into entries: scopes, outcomes, platforms, kinds of reminder
WORDS = {
    "mine": N_("mine"), "team": N_("my team"), "all": N_("all"), "open": N_("in progress"),
    "overdue": N_("overdue"), "pending": N_("pending"), "signed": N_("signed"), "waiting": N_("waiting for me"),
    "approve": N_("approved"), "reject": N_("rejected"), "changes": N_("changes requested"),
    "satisfied": N_("satisfied"), "unsatisfied": N_("not satisfied"), "upheld": N_("upheld"),
    "dismissed": N_("dismissed"), "slack": "Slack", "telegram": "Telegram", "console": N_("console"),
    "me": N_("myself"), "on": N_("on"), "off": N_("off"), "working": N_("working day"), "-": "—", "None": "—",
    "True": N_("yes"), "False": N_("no"), "callback": N_("callback"), "read": N_("read"),
    "by code": N_("with an enrolment code"), "by an admin there": N_("by an admin there"),
    "required": N_("required"), "optional": N_("optional"), "rejected": N_("rejected"),
}


def _word(text: str) -> str:
    word = WORDS.get(text.strip())
    return translate(word) if word is not None else text


def _refs(text: str) -> str:
    return fmt_list([r for r in text.replace(",", " ").split() if r])


# option names bizbot writes as key=value
KEYS = {
    "industry": N_("industry"), "scale": N_("scale"), "level": N_("level"), "credit": N_("credit rating"),
    "contact": N_("contact"), "phone": N_("phone"), "email": N_("e-mail"), "birthday": N_("birthday"),
    "cadence": N_("callback cadence"), "risk": N_("risk"), "owner": N_("owner"), "moved": N_("moved"),
    "roles": N_("roles"), "role": N_("role"), "supervisor": N_("supervisor"), "lang": N_("language"),
    "timezone": N_("time zone"), "key_account_score": N_("key-account screening total"),
    "reminder_hour": N_("reminder hour"), "approvals_channel": N_("approvals channel"),
    "work_hours": N_("working hours"), "escalation_channel": N_("escalation channel"),
    "complaint_on_duty": N_("on duty for complaints"), "title": N_("title"), "amount": N_("amount"),
    "currency": N_("currency"), "payment": N_("payment terms"), "delivery": N_("delivery date"),
    "term": N_("contract term"), "clauses": N_("clauses"), "response": N_("response time"),
    "resolution": N_("resolution time"), "remind": N_("reminder after"), "manager": N_("manager after"),
    "hours": N_("hours counted"), "day": N_("day"), "time": N_("time"), "channel": N_("chat channel"),
    "reporters": N_("reporters"), "ask": N_("updates asked at"), "monthly": N_("monthly"),
    "quarterly": N_("quarterly"), "annual": N_("annual"), "self_day": N_("self-review day"),
    "close_day": N_("closing day"), "annual_self_day": N_("annual self-review day"),
    "annual_close_day": N_("annual closing day"), "appeal_days": N_("days to appeal"), "source": N_("source"),
    "stage": N_("stage"), "value": N_("value"), "successor": N_("successor"), "total": N_("total"),
    "contract_terms": N_("payment terms at submission"), "receivable_risk_days": N_("days overdue raising the risk"),
}
VALUES: dict[str, Value] = {
    "level": lambda v: LEVELS.label(v) if v in LEVELS.labels else v,
    "scale": lambda v: SCALES.label(v) if v in SCALES.labels else v, "risk": _risk, "roles": _roles,
    "role": _roles, "lang": _lang, "stage": _stage, "moved": _refs, "birthday": _day, "delivery": _day,
    "term": _day, "source": lambda v: SOURCES.label(v) if v in SOURCES.labels else v,
    "day": _weekday, "reporters": lambda v: _roles(v) if v and v != "None" else "—", "contract_terms": _word,
}
_PAIR = re.compile(r"([a-z_]+)=(\S*)")


def _pairs(text: str) -> str:
    """`industry=通信 level=key` as `行业：通信、级别：重点客户`; what is no key=value stays as written."""
    parts: list[str] = []
    for token in text.split():
        m = _PAIR.fullmatch(token)
        if m and m[1] in KEYS:
            value = VALUES.get(m[1], _word)(m[2])
            parts.append(_("{name}: {value}").format(name=translate(KEYS[m[1]]), value=value))
        else:
            parts.append(_word(token))
    return fmt_list(parts)


def _mapping(text: str) -> str:
    """A settings change written as a Python mapping ({'day': 'monday', 'time': '09:30'})."""
    try:
        found = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if not isinstance(found, dict):
        return text
    return _pairs(" ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list | tuple) else v}"
                           for k, v in found.items()))


def _chain(text: str) -> str:
    """`manager=王经理 > legal=刘法务`: each step's role and who decides it."""
    steps = []
    for step in text.split(" > "):
        role, _sep, name = step.partition("=")
        steps.append(_("{role} ({name})").format(role=_roles(role), name=name) if name else _roles(role))
    return " → ".join(steps)


SEVERITY_WORDS = {"low": N_("low severity"), "medium": N_("medium severity"), "high": N_("high severity"),
                  "critical": N_("critical")}


def _number(text: str) -> str:
    try:
        return fmt_number(Decimal(text))
    except InvalidOperation:
        return text


@dataclass(frozen=True)
class Form:
    pattern: str
    msgid: str
    values: dict[str, Value] = field(default_factory=dict)
    entities: tuple[str, ...] = ()  # only for these records (empty: any)

    def read(self, entity: str, text: str) -> str | None:
        if self.entities and entity not in self.entities:
            return None
        m = re.fullmatch(self.pattern, text, re.DOTALL)
        if m is None:
            return None
        params = {k: self.values.get(k, lambda v: v)(v) if v is not None else "" for k, v in m.groupdict().items()}
        return translate(self.msgid).format(**params)


FORMS: tuple[Form, ...] = (
    Form(r"list (?P<scope>\S+) (?P<stage>\S+)", N_("list: {scope}, {stage}"), {"scope": _word, "stage": _stage}),
    Form(r"list (?P<scope>\S+)", N_("list: {scope}"), {"scope": _word}),
    Form(r"list", N_("list")),
    Form(r"stage (?P<old>\S+)->(?P<new>\S+)", N_("stage: {old} → {new}"), {"old": _stage, "new": _stage}),
    Form(r"screen total=(?P<total>\d+)", N_("screening total: {total}")),
    Form(r"(?P<format>xlsx|csv) (?P<count>\d+) rows", N_("{format} file, {count} rows")),
    Form(r"(?P<format>xlsx|csv) (?P<start>\S*)\.\.(?P<end>\S*) (?P<count>\d+) rows",
         N_("{format} file, {start} – {end}, {count} rows"), {"start": _day, "end": _day}),
    Form(r"(?P<period>\S+) (?P<format>xlsx|csv) (?P<count>\d+) rows", N_("{period}: {format} file, {count} rows")),
    Form(r"(?P<count>\d+) rows", N_("{count} rows")),
    Form(r"(?P<shown>\d+) of (?P<count>\d+)", N_("{shown} of {count} shown")),
    Form(r"enrolled as (?P<roles>\S+)", N_("enrolled as {roles}"), {"roles": _roles}),
    Form(r"linked (?P<platform>\S+) by invite", N_("linked to {platform} with an invite"), {"platform": _word}),
    Form(r"linked (?P<platform>\S+)", N_("linked to {platform}"), {"platform": _word}),
    Form(r"for a further group", N_("for a further group")),
    Form(r"joined (?P<how>.+)", N_("joined {how}"), {"how": _word}),
    Form(r"snoozed to (?P<when>.+)", N_("snoozed to {when}")),
    Form(r"muted=\[(?P<kinds>.*)\]", N_("muted: {kinds}"),
         {"kinds": lambda v: fmt_list([k.strip(" '\"") for k in v.split(",") if k.strip()]) or "—"}),
    Form(r"risk (?P<old>\S+) -> (?P<new>\S+): (?P<reason>.*)", N_("risk: {old} → {new} ({reason})"),
         {"old": _risk, "new": _risk}),
    Form(r"risk (?P<old>\S+) -> (?P<new>\S+)", N_("risk: {old} → {new}"), {"old": _risk, "new": _risk}),
    Form(r"show", N_("shown")),
    Form(r"digest posted", N_("digest posted")),
    Form(r"digest", N_("digest")),
    Form(r"done", N_("done")),
    Form(r"mine", N_("my requests")),
    Form(r"ended", N_("ended")),
    Form(r"approved", N_("approved")),
    Form(r"self-review submitted", N_("self-review submitted")),
    Form(r"self-review window closed", N_("self-review window closed")),
    Form(r"take over", N_("took over")),
    Form(r"acknowledge", N_("escalation acknowledged")),
    Form(r"update", N_("progress recorded")),
    Form(r"solution", N_("solution recorded")),
    Form(r"resolve", N_("resolved")),
    Form(r"close", N_("closed")),
    Form(r"signed into the ledger", N_("signed into the ledger")),
    Form(r"callback (?P<outcome>\S+)", N_("satisfaction callback: {outcome}"), {"outcome": _word}),
    Form(r"assign (?P<name>.+)", N_("assigned to {name}")),
    Form(r"waiting (?P<count>\d+)", N_("{count} waiting")),
    Form(r"to (?P<name>.+) until (?P<until>\S+)", N_("to {name} until {until}"), {"until": _day}),
    Form(r"escalated to (?P<name>.+)", N_("escalated to {name}")),
    Form(r"submitted round (?P<round>\d+) under policy v(?P<version>\d+): (?P<chain>.*)",
         N_("submitted (round {round}, approval rules version {version}): {chain}"), {"chain": _chain}),
    Form(r"submitted (?P<ref>\S+)", N_("submitted as {ref}")),
    Form(r"resubmitted round (?P<round>\d+)", N_("resubmitted (round {round})")),
    Form(r"round (?P<round>\d+) step (?P<step>\d+) \((?P<role>[^)]+)\) (?P<outcome>\S+) for (?P<behalf>[^:]+): "
         r"(?P<reason>.*)", N_("round {round}, step {step} ({role}): {outcome} for {behalf} ({reason})"),
         {"role": _roles, "outcome": _word}),
    Form(r"round (?P<round>\d+) step (?P<step>\d+) \((?P<role>[^)]+)\) (?P<outcome>\S+) for (?P<behalf>[^:]+)",
         N_("round {round}, step {step} ({role}): {outcome} for {behalf}"), {"role": _roles, "outcome": _word}),
    Form(r"round (?P<round>\d+) step (?P<step>\d+) \((?P<role>[^)]+)\) (?P<outcome>\S+): (?P<reason>.*)",
         N_("round {round}, step {step} ({role}): {outcome} ({reason})"), {"role": _roles, "outcome": _word}),
    Form(r"round (?P<round>\d+) step (?P<step>\d+) \((?P<role>[^)]+)\) (?P<outcome>\S+)",
         N_("round {round}, step {step} ({role}): {outcome}"), {"role": _roles, "outcome": _word}),
    Form(r"explain (?P<type>\S+) amount=(?P<amount>\S+) days=(?P<days>\S+) by=(?P<name>.+)",
         N_("approval chain tried: {type}, amount {amount}, {days} days, asked by {name}"),
         {"amount": _amount, "days": _word}),
    Form(r"won by (?P<ref>\S+)", N_("won by {ref}")),
    Form(r"(?P<type>contract|change|expense|leave|project|collab): (?P<chain>.+)", N_("{type}: {chain}"),
         {"type": lambda v: translate(REQUEST_TYPES[v]), "chain": _policy_chain}, ("policy",)),
    Form(r"change request (?P<ref>\S+): (?P<reason>.*)", N_("change request {ref}: {reason}")),
    Form(r"change (?P<ref>\S+) applied: (?P<changes>.*)", N_("change {ref} applied: {changes}"),
         {"changes": _pairs}),
    Form(r"(?P<start>\d{4}-\d\d-\d\d)\.\.(?P<end>\d{4}-\d\d-\d\d) \((?P<days>\d+) d\)",
         N_("{start} – {end} ({days} days)"), {"start": _day, "end": _day}),
    Form(r"working (?P<first>\S+)\.\.(?P<last>\S+) ?(?P<name>.*)", N_("make-up working days {first} – {last} {name}"),
         {"first": _day, "last": _day}),
    Form(r"off (?P<first>\S+)\.\.(?P<last>\S+) ?(?P<name>.*)", N_("days off {first} – {last} {name}"),
         {"first": _day, "last": _day}),
    Form(r"(?P<first>\d{4}-\d\d-\d\d)\.\.(?P<last>\d{4}-\d\d-\d\d)", N_("{first} – {last}"),
         {"first": _day, "last": _day}),
    Form(r"(?P<who>\S+) (?P<first>\d{4}-\d\d-\d\d)\.\.(?P<last>\d{4}-\d\d-\d\d)", N_("{who}, {first} – {last}"),
         {"who": _word, "first": _day, "last": _day}),
    Form(r"self (?P<indicator>\S+)=(?P<score>\S+)", N_("self-review: {indicator} {score}")),
    Form(r"score (?P<indicator>\S+)=(?P<score>\S+)", N_("scored: {indicator} {score}")),
    Form(r"scored (?P<total>\S+)", N_("scored, total {total}")),
    Form(r"returned: (?P<reason>.*)", N_("returned: {reason}")),
    Form(r"appeal: (?P<reason>.*)", N_("appeal: {reason}")),
    Form(r"appeal (?P<decision>\S+)", N_("appeal {decision}"), {"decision": _word}),
    Form(r"status (?P<period>\S+)", N_("status of {period}")),
    Form(r"(?P<purpose>read|kpi|score|approve|return|rule|show) (?P<name>.+)", N_("{purpose}: {name}"),
         {"purpose": _word}, ("review",)),
    Form(r"(?P<name>.+) (?P<period>\d{4}-\S+)", N_("{name}, {period}"), {}, ("review", "kpi")),
    Form(r"(?P<category>\S+) (?P<amount>[\d.]+)", N_("{category}, {amount}"), {"amount": _amount}, ("expense",)),
    Form(r"(?P<name>.+) (?P<amount>[\d.]+|None)", N_("{name}, budget {amount}"), {"amount": _amount},
         ("project",)),
    Form(r"(?P<customer>.+) (?P<amount>[\d.]+) (?P<currency>[A-Z]{3})", N_("{customer}, {amount} {currency}"),
         {"amount": _number}, ("contract",)),
    Form(r"(?P<customer>.+) (?P<severity>low|medium|high|critical)", N_("{customer}, {severity}"),
         {"severity": lambda v: translate(SEVERITY_WORDS[v])}, ("complaint",)),
    # receivables: payment terms, invoices, payments, the hand-over of milestones
    Form(r"terms (?P<count>\d+) milestones", N_("payment terms set: {count} milestones"), {}, ("contract",)),
    Form(r"(?P<what>\S+) (?P<amount>[\d.]+) (?P<currency>[A-Z]{3})", N_("{what}, {amount} {currency}"),
         {"amount": _number}, ("invoice",)),
    Form(r"(?P<state>rejected|changes)", N_("{state}"), {"state": _word}, ("invoice",)),
    Form(r"issued (?P<number>\S+) (?P<day>\d{4}-\d\d-\d\d)", N_("issued: number {number}, {day}"), {"day": _day},
         ("invoice",)),
    Form(r"(?P<contract>\S+) (?P<amount>[\d.]+) (?P<currency>[A-Z]{3}) (?P<day>\S+): (?P<parts>.*)",
         N_("{contract}, {amount} {currency} received {day}, allocated: {parts}"), {"amount": _number, "day": _day},
         ("payment",)),
    Form(r"handed over (?P<count>\d+) from (?P<old>.+) to (?P<new>.+)", N_("{count} handed over from {old} to {new}"),
         {}, ("receivable",)),
    Form(r"left successor=(?P<name>\S+) ?(?P<refs>.*)", N_("left; handed over to {name}: {refs}"),
         {"refs": lambda v: _refs(v) or "—"}),
)


def detail_text(entity: str, detail: str | None) -> str:
    """An entry's detail in the reader's language (see the module's note)."""
    if not detail:
        return ""
    text = detail.strip()
    if text.startswith("{"):
        return _mapping(text)
    for form in FORMS:
        shown = form.read(entity, text)
        if shown is not None:
            return shown
    if _PAIR.match(text.split(" ", 1)[0]):
        return _pairs(text)
    return text


# references bizbot writes for records that have no number (the appraisal settings, a template)
def ref_text(ref: str | None) -> str:
    if not ref:
        return ""
    if ref == "reviews":
        return _("appraisal cycles")
    if ref == "complaints":
        return _("complaints")
    if ref.startswith("template "):
        return _("template {name}").format(name=ref.removeprefix("template "))
    return ref
