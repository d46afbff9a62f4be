"""Neutral replies as Feishu message cards (card JSON 2.0), and commands' forms as form cards.

A button carries its command line in its callback value ({"line": "/approve A1", "decision": true}), which
card.action.trigger brings back; a form card's submit button carries the command's name ({"form": "visit"})
and Feishu brings the fields' values in form_value. Cards are shared (update_multi): a revision shows to
everyone who has the card.
"""
from __future__ import annotations

import re
from typing import Any

from domain.kernel.i18n import _
from handlers.forms import Question, question
from handlers.registry import Command
from handlers.replies import Button, Reply, paged

MAX_TEXT = 8000  # characters of one markdown element (a card may be up to 30 KB)
PAGE_ITEMS = 25
MAX_BUTTONS = 20
_MD_SPECIAL = re.compile(r"([\\*_~`\[\]<>#|])")


def escape(text: str) -> str:
    """User text shown in a card's markdown: no markup of its own, no @-mention tags."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def plain(text: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": text}


def _button(button: Button, value: dict[str, Any]) -> dict[str, Any]:
    style = {"primary": "primary", "danger": "danger"}.get(button.style, "default")
    return {"tag": "button", "text": plain(button.label[:40]), "type": style,
            "behaviors": [{"type": "callback", "value": value}]}


def _lines(reply: Reply, page: int) -> tuple[list[str], int]:
    lines: list[str] = []
    if reply.text:
        lines.append(("⚠️ " if reply.error else "") + escape(reply.text))
    lines += [f"**{escape(name)}**: {escape(value)}" for name, value in reply.fields]
    shown, page, pages = paged(reply, page, PAGE_ITEMS)
    for section, items in shown:
        lines.append(f"**{escape(section.title)}**")
        lines += [f"- {escape(item)}" for item in items] or [f"*{escape(section.empty)}*"]
    if pages > 1:
        lines.append("*" + escape(_("Page {page} of {pages}").format(page=page + 1, pages=pages)) + "*")
    return lines, pages


def card(reply: Reply, line: str | None = None, page: int = 0, note: str | None = None) -> dict[str, Any]:
    """The reply as a card: title as header, text, fields, sections (paged), buttons; `note` (a decision's
    outcome) at the end."""
    lines, pages = _lines(reply, page)
    text = "\n".join(lines)
    elements: list[dict[str, Any]] = []
    for start in range(0, max(len(text), 1), MAX_TEXT):
        elements.append({"tag": "markdown", "content": text[start:start + MAX_TEXT] or " "})
    # a decision's button carries the card's text, which the card shows again once decided
    buttons = [_button(b, {"line": b.command, "decision": True, "text": text[:1500]} if b.decision
                       else {"line": b.command})
               for b in reply.buttons[:MAX_BUTTONS]]
    if pages > 1 and line is not None:
        if page > 0:
            buttons.append(_button(Button("‹ " + _("Previous"), line), {"line": line, "page": page - 1}))
        if page < pages - 1:
            buttons.append(_button(Button(_("Next") + " ›", line), {"line": line, "page": page + 1}))
    if buttons:
        elements.append({"tag": "column_set", "flex_mode": "flow", "columns": [
            {"tag": "column", "width": "auto", "elements": [b]} for b in buttons]})
    if note:
        elements.append({"tag": "markdown", "content": escape(note)})
    body: dict[str, Any] = {"schema": "2.0", "config": {"update_multi": True}, "body": {"elements": elements}}
    if reply.title:
        body["header"] = {"title": plain(reply.title[:100]), "template": "red" if reply.error else "blue"}
    return body


def settled(card_json: dict[str, Any], note: str) -> dict[str, Any]:
    """A card as it was, without its buttons (a decision was taken), with `note` (the outcome) added."""
    elements = [e for e in (card_json.get("body") or {}).get("elements", [])
                if e.get("tag") not in ("column_set", "button", "action", "form")]
    elements.append({"tag": "markdown", "content": escape(note)})
    return {**card_json, "config": {"update_multi": True}, "body": {"elements": elements}}


def text_of(card_json: dict[str, Any]) -> str:
    """What a card says (its header and markdown), for a card that is to be shown again."""
    parts = [((card_json.get("header") or {}).get("title") or {}).get("content", "")]
    parts += [e.get("content", "") for e in (card_json.get("body") or {}).get("elements", [])
              if e.get("tag") == "markdown"]
    return "\n".join(p for p in parts if p)


# --- forms ---------------------------------------------------------------------------------------------


def _field(q: Question, initial: str | None, options: list[tuple[str, str]] | None) -> list[dict[str, Any]]:
    label = q.label + ("" if q.required else " " + _("(optional)"))
    head = {"tag": "markdown", "content": f"**{escape(label)}**" + (f"\n{escape(q.hint)}" if q.hint else "")}
    if q.kind == "date":
        element: dict[str, Any] = {"tag": "date_picker", "name": q.field, "required": q.required,
                                   "placeholder": plain(_("Choose a date"))}
        if initial:
            element["initial_date"] = initial
    elif q.kind == "choice" or (q.kind == "customer" and options):
        choices = list(q.choices) if q.kind == "choice" else list(options or [])
        element = {"tag": "select_static", "name": q.field, "required": q.required,
                   "options": [{"text": plain(label[:60]), "value": value} for value, label in choices[:100]]}
        if initial:
            element["initial_option"] = initial
    elif q.kind == "member":
        element = {"tag": "select_person", "name": q.field, "required": q.required,
                   "placeholder": plain(_("Choose a person"))}
    else:
        element = {"tag": "input", "name": q.field, "required": q.required, "max_length": 1000,
                   "placeholder": plain(q.hint[:100] if q.hint else q.label)}
        if q.kind == "longtext":
            element["input_type"] = "multiline_text"
        if initial:
            element["default_value"] = initial
    return [head, element]


def form(cmd: Command, initial: dict[str, str], title: str, options: dict[str, list[tuple[str, str]]],
         problem: str | None = None, origin: dict[str, Any] | None = None) -> dict[str, Any]:
    """A form card for a command: one field per argument it takes (required ones first), a submit button
    that brings the values back with the command's name."""
    names = list(cmd.questions()) + [n for n in cmd.args.model_fields if n not in cmd.questions()]
    fields: list[dict[str, Any]] = []
    for name in names:
        q = question(cmd, name)
        fields += _field(q, initial.get(name), options.get(name))
    value: dict[str, Any] = {"form": cmd.name}
    if origin:
        value["origin"] = origin
    fields.append({"tag": "button", "name": "submit", "text": plain(_("Submit")), "type": "primary",
                   "form_action_type": "submit", "behaviors": [{"type": "callback", "value": value}]})
    elements: list[dict[str, Any]] = []
    if problem:
        elements.append({"tag": "markdown", "content": "⚠️ " + escape(problem)})
    elements.append({"tag": "form", "name": "bizbot_form", "elements": fields})
    return {"schema": "2.0", "config": {"update_multi": True}, "header": {"title": plain(title[:100])},
            "body": {"elements": elements}}


def form_values(cmd: Command, values: dict[str, Any], members: dict[str, str]) -> dict[str, str]:
    """A submitted form's values as the command's raw fields: a date picker's "2026-12-01 +0800" as its
    day, a person picker's open_id as the member's name (`members`), empty fields left out."""
    data: dict[str, str] = {}
    for name in cmd.args.model_fields:
        value = values.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None or str(value).strip() == "":
            continue
        q = question(cmd, name)
        text = str(value).strip()
        if q.kind == "date":
            text = text.split(" ", 1)[0]
        elif q.kind == "member":
            text = members.get(text, text)
        data[name] = text
    return data
