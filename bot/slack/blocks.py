"""Reply → Block Kit, Command → modal, and back: pure translations for the Slack adapter.

Every user string is escaped here and every Slack size limit is respected, so
any Reply renders to a message Slack accepts.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from domain.kernel.i18n import _, translate
from handlers.args import widget_of
from handlers.registry import Command
from handlers.replies import Button, Reply

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS = 25
MAX_VIEW_TEXT = 24
MAX_LABEL = 2000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_METADATA = 3000
MAX_ERROR = 2000
MAX_FALLBACK = 3000
# Slack rejects messages of ~13,000 characters (msg_blocks_too_long) although no block is too long.
PAGE_CHARS = 8000
# Header, page context, and the Previous and Next blocks.
PAGE_CHROME = 4

_PARTIAL_ENTITY = re.compile(r"&[a-z]*$")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def escape(text: str) -> str:
    """Escape Slack mrkdwn control characters, so typed mentions stay plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_escaped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def _split(line: str, limit: int) -> Iterator[str]:
    """Cut an escaped line into pieces of at most `limit`, never inside an entity."""
    while len(line) > limit:
        cut = limit
        amp = line.rfind("&", cut - 4, cut)
        if amp > 0 and ";" not in line[amp:cut]:
            cut = amp
        yield line[:cut]
        line = line[cut:]
    yield line


def _pack(lines: Iterable[str], limit: int = MAX_SECTION) -> list[str]:
    """Join escaped lines with newlines into as few texts of at most `limit` as possible."""
    chunks: list[str] = []
    current: str | None = None
    for line in lines:
        for piece in _split(line, limit):
            if current is not None and len(current) + 1 + len(piece) <= limit:
                current += "\n" + piece
            else:
                if current is not None:
                    chunks.append(current)
                current = piece
    if current is not None:
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit)}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _field_sections(fields: list[tuple[str, str]]) -> list[dict[str, Any]]:
    texts = []
    for name, value in fields:
        shown = f"*{escape(name)}*\n{escape(value)}" if name.strip() else escape(value)
        if shown.strip():
            texts.append(_clip_escaped(shown, MAX_FIELD))
    sections: list[dict[str, Any]] = []
    group: list[str] = []
    for text in texts:
        if group and (len(group) == MAX_FIELDS or sum(map(len, group)) + len(text) > MAX_SECTION):
            sections.append({"type": "section", "fields": [_mrkdwn(t) for t in group]})
            group = []
        group.append(text)
    if group:
        sections.append({"type": "section", "fields": [_mrkdwn(t) for t in group]})
    return sections


def _button(label: str, action_id: str, value: str, style: str = "default") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(label, MAX_BUTTON_TEXT),
        "action_id": action_id,
    }
    if value:
        button["value"] = value[:MAX_BUTTON_VALUE]
    if style in ("primary", "danger"):
        button["style"] = style
    return button


def _actions(buttons: list[Button]) -> list[dict[str, Any]]:
    elements = [
        _button(b.label if b.label.strip() else b.command, f"bizbot.cmd.{i}", b.command, b.style)
        for i, b in enumerate(buttons)
        if b.label.strip() or b.command.strip()
    ]
    blocks: list[dict[str, Any]] = []
    group: list[dict[str, Any]] = []
    for element in elements:
        if group and (len(group) == MAX_ACTIONS or _size(group) + _size([element]) > MAX_SECTION):
            blocks.append({"type": "actions", "elements": group})
            group = []
        group.append(element)
    if group:
        blocks.append({"type": "actions", "elements": group})
    return blocks


def _size(value: Any) -> int:
    """Characters of text a block carries: what Slack's message size limit counts."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for k, v in value.items() if k in ("text", "fields", "elements", "value"))
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 0


def _body(reply: Reply) -> list[dict[str, Any]]:
    """Every block under the header, in reading order, before pagination."""
    blocks: list[dict[str, Any]] = []
    text = escape(reply.text)
    if reply.error:
        text = f":warning: {text}" if text.strip() else ":warning:"
    blocks += [_section(chunk) for chunk in _pack(text.split("\n"))]
    blocks += _field_sections(reply.fields)
    for section in reply.sections:
        lines = [f"*{escape(section.title)}*"] if section.title.strip() else []
        lines += [f"• {escape(item)}" for item in section.items]
        blocks += [_section(chunk) for chunk in _pack(lines)]
        if not section.items and section.empty.strip():
            empty = _clip_escaped(escape(section.empty), MAX_SECTION)
            blocks.append({"type": "context", "elements": [_mrkdwn(empty)]})
    blocks += _actions(reply.buttons)
    return blocks


def _pages(body: list[dict[str, Any]], room: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = [[]]
    chars = 0
    for block in body:
        size = _size(block)
        if pages[-1] and (len(pages[-1]) == room or chars + size > PAGE_CHARS):
            pages.append([])
            chars = 0
        pages[-1].append(block)
        chars += size
    return pages


def _navigation(page: int, pages: int, page_action: str) -> list[dict[str, Any]]:
    label = _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    blocks: list[dict[str, Any]] = [{"type": "context", "elements": [_mrkdwn(escape(label))]}]
    if page > 0:
        blocks.append({"type": "actions", "block_id": "bizbot.page.previous",
                       "elements": [_button(_("Previous"), page_action, str(page - 1))]})
    if page < pages - 1:
        blocks.append({"type": "actions", "block_id": "bizbot.page.next",
                       "elements": [_button(_("Next"), page_action, str(page + 1))]})
    return blocks


def _fallback(reply: Reply) -> str:
    summary = "\n".join(t for t in (reply.title, reply.text) if t and t.strip()) or reply.as_text()
    return _clip_escaped(escape(summary), MAX_FALLBACK)


def render(
    reply: Reply, page: int = 0, page_action: str = "bizbot.page"
) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and Block Kit blocks of one page of a reply."""
    head = []
    if reply.title and reply.title.strip():
        head.append({"type": "header", "text": _plain(reply.title, MAX_HEADER)})
    body = _body(reply)
    if len(head) + len(body) <= MAX_BLOCKS and _size(body) <= PAGE_CHARS:
        return _fallback(reply), head + body
    pages = _pages(body, MAX_BLOCKS - PAGE_CHROME)
    page = min(max(page, 0), len(pages) - 1)
    return _fallback(reply), head + pages[page] + _navigation(page, len(pages), page_action)


def _humanise(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _literal_values(annotation: Any) -> tuple[str, ...]:
    origin = get_origin(annotation)
    if origin is Literal:
        return tuple(str(v) for v in get_args(annotation))
    if origin in (Union, UnionType, Annotated):
        for arg in get_args(annotation):
            found = _literal_values(arg)
            if found:
                return found
    return ()


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def _element(name: str, info: FieldInfo, initial: str | None) -> dict[str, Any]:
    widget = widget_of(info)
    kind = widget.kind if widget else None
    choices = widget.choices if widget and kind == "choice" else ()
    if not choices and kind is None:
        choices = tuple((v, v) for v in _literal_values(info.annotation))
    if choices:
        options = [_option(value, translate(label)) for value, label in choices[:MAX_OPTIONS]]
        element: dict[str, Any] = {"type": "static_select", "action_id": name, "options": options}
        chosen = [o for o in options if o["value"] == initial]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if kind == "date":
        element = {"type": "datepicker", "action_id": name}
        if initial and _ISO_DATE.fullmatch(initial):
            try:
                element["initial_date"] = date.fromisoformat(initial).isoformat()
            except ValueError:
                pass
        return element
    if kind == "customer":
        element = {"type": "external_select", "action_id": name, "min_query_length": 0}
        if initial:
            element["initial_option"] = _option(initial, initial)
        return element
    element = {"type": "plain_text_input", "action_id": name}
    if kind == "longtext":
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial[:MAX_SECTION]
    return element


def _default(info: FieldInfo) -> str | None:
    default = info.get_default()
    return default if isinstance(default, str) and default else None


def build_modal(
    cmd: Command,
    callback_id: str,
    private_metadata: str,
    title: str,
    submit: str,
    close: str,
    initial: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A modal asking for each argument of `cmd`, pre-filled with `initial` and the defaults."""
    initial = initial or {}
    blocks = []
    for name, info in cmd.args.model_fields.items():
        block: dict[str, Any] = {
            "type": "input",
            "block_id": name,
            "label": _plain(_humanise(name), MAX_LABEL),
            "element": _element(name, info, initial.get(name) or _default(info)),
        }
        if info.description:
            block["hint"] = _plain(translate(info.description), MAX_LABEL)
        if not info.is_required():
            block["optional"] = True
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata[:MAX_METADATA],
        "title": _plain(title, MAX_VIEW_TEXT),
        "submit": _plain(submit, MAX_VIEW_TEXT),
        "close": _plain(close, MAX_VIEW_TEXT),
        "blocks": blocks,
    }


def _state_value(state: dict[str, Any]) -> str | None:
    for key in ("value", "selected_date"):
        if isinstance(state.get(key), str):
            return state[key]
    option = state.get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def modal_values(cmd: Command, state_values: dict[str, Any]) -> dict[str, str]:
    """The filled-in fields of a submitted modal, as the raw strings `registry.submit` takes."""
    data: dict[str, str] = {}
    for name in cmd.args.model_fields:
        state = (state_values.get(name) or {}).get(name) or {}
        value = _state_value(state)
        if value and value.strip():
            data[name] = value.strip()
    return data


def modal_errors(problems: dict[str, str]) -> dict[str, Any]:
    """The view_submission answer that shows each problem beside its field."""
    return {
        "response_action": "errors",
        "errors": {name: _clip(message, MAX_ERROR) for name, message in problems.items()},
    }


def options(items: list[tuple[str, str]]) -> dict[str, Any]:
    """The answer to a block_suggestion: (value, label) pairs as select options."""
    return {"options": [_option(value, label) for value, label in items[:MAX_OPTIONS]]}

