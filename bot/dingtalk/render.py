"""Neutral replies as DingTalk messages: markdown for plain answers, an interactive card (StandardCard)
when there are buttons. Every button is a typed command: its id carries the command (and whether it is a
decision), which the card callback gives back in `cardPrivateData.actionIds`."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from handlers.replies import Button, Reply

MAX_TEXT = 5000  # DingTalk takes about 5,000 characters of markdown in a message
MAX_ID = 256
ID_PREFIX = "bizbot"
# kinds of button: c a command, d a decision (settles its card), f a form's choice, s skip, x cancel
KINDS = frozenset("cdfsx")
_MARKDOWN = re.compile(r"([\\`*_#>\[\]|])")


@dataclass(frozen=True)
class Pressed:
    kind: str
    value: str


def escape(text: str) -> str:
    """User text shown as itself in DingTalk markdown."""
    return _MARKDOWN.sub(r"\\\1", text)


def encode(kind: str, value: str) -> str:
    """A button id that carries what pressing it means."""
    raw = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{ID_PREFIX}.{kind}.{raw}"


def decode(action_id: str) -> Pressed | None:
    """What a pressed button meant, or None for an id bizbot did not make."""
    prefix, _sep, rest = action_id.partition(".")
    kind, _sep, raw = rest.partition(".")
    if prefix != ID_PREFIX or kind not in KINDS or len(action_id) > MAX_ID:
        return None
    try:
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return Pressed(kind, value)


def button_id(button: Button) -> str:
    made = encode("d" if button.decision else "c", button.command)
    return made if len(made) <= MAX_ID else encode("c", "/help")


def lines(reply: Reply) -> list[str]:
    out: list[str] = []
    if reply.text:
        out.append(("⚠️ " if reply.error else "") + escape(reply.text))
    out += [f"**{escape(name)}**: {escape(value)}" for name, value in reply.fields]
    for section in reply.sections:
        if section.items or section.empty:
            out.append(f"**{escape(section.title)}**")
            out += [f"- {escape(item)}" for item in section.items] or [escape(section.empty)]
    return out


def markdown(reply: Reply) -> tuple[str, str]:
    """(title, text) of a markdown message; the title is what a notification shows."""
    body = lines(reply)
    if reply.title:
        body.insert(0, f"**{escape(reply.title)}**")
    text = "  \n".join(body)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 1] + "…"
    title = (reply.title or reply.text or "bizbot").split("\n", 1)[0][:60]
    return title, text


def card(reply: Reply, buttons: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The reply as StandardCard data: its title, its text as markdown, and its buttons (label, id) — the
    reply's own when `buttons` is not given."""
    title, text = markdown(Reply(text=reply.text, fields=reply.fields, sections=reply.sections, error=reply.error))
    if buttons is None:
        buttons = [(b.label, button_id(b)) for b in reply.buttons]
    contents: list[dict[str, Any]] = [{"type": "markdown", "text": text or " ", "id": "text_1"}]
    if buttons:
        contents.append({"type": "action", "id": "action_1", "actions": [
            {"type": "button", "label": {"type": "text", "text": label[:40], "id": f"label_{i}"},
             "actionType": "request", "status": "primary" if i == 0 else "normal", "id": ident}
            for i, (label, ident) in enumerate(buttons[:10])]})
    return {"config": {"autoLayout": True, "enableForward": False},
            "header": {"title": {"type": "text", "text": (reply.title or title)[:60]}},
            "contents": contents}


def card_text(data: dict[str, Any]) -> str:
    """The markdown a card shows (for a test or a log line)."""
    return "\n".join(c.get("text", "") for c in data.get("contents", []) if c.get("type") == "markdown")


def card_buttons(data: dict[str, Any]) -> list[tuple[str, str]]:
    """A card's buttons: (label, id)."""
    return [(a["label"]["text"], a["id"]) for c in data.get("contents", []) if c.get("type") == "action"
            for a in c.get("actions", [])]
