"""Neutral replies as Telegram HTML messages with inline keyboards, within Telegram's limits."""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from domain.kernel.i18n import _
from handlers.replies import Button, Reply, paged

MAX_TEXT = 4096
MAX_CALLBACK = 64
PAGE_ITEMS = 25


@dataclass(frozen=True)
class Key:
    """One inline button: its label and the callback data (≤ 64 bytes) or a URL."""

    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Message:
    text: str
    keyboard: list[list[Key]]


def escape(text: str) -> str:
    """Telegram HTML: `&`, `<` and `>` must be entities in any user text."""
    return html.escape(text, quote=False)


def fits(data: str) -> bool:
    return len(data.encode("utf-8")) <= MAX_CALLBACK


def _lines(reply: Reply, page: int) -> tuple[list[str], int]:
    lines: list[str] = []
    if reply.title:
        lines.append(f"<b>{escape(reply.title)}</b>")
    if reply.text:
        lines.append(("⚠️ " if reply.error else "") + escape(reply.text))
    lines += [f"<b>{escape(name)}</b>: {escape(value)}" for name, value in reply.fields]
    shown, page, pages = paged(reply, page, PAGE_ITEMS)
    for section, items in shown:
        lines.append(f"<b>{escape(section.title)}</b>")
        lines += [f"• {escape(item)}" for item in items] or [f"<i>{escape(section.empty)}</i>"]
    if pages > 1:
        lines.append("<i>" + escape(_("Page {page} of {pages}").format(page=page + 1, pages=pages)) + "</i>")
    return lines, pages


def split(lines: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into messages of at most `limit` characters, breaking between lines where possible."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            # a long text breaks at its last line break that fits, else at a space, else anywhere
            cut = line.rfind("\n", 0, limit + 1)
            if cut <= limit // 2:
                cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > limit // 2 else limit
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" \n")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def render(
    reply: Reply,
    encode: Callable[[Button], str],
    page: int = 0,
    page_data: Callable[[int], str] | None = None,
) -> list[Message]:
    """The reply as one or more messages; the keyboard goes on the last one.

    `encode(button)` turns a button into callback data; `page_data(page)` makes a page button's data.
    """
    lines, pages = _lines(reply, page)
    rows: list[list[Key]] = []
    buttons: list[Button] = list(reply.buttons)
    for i in range(0, len(buttons), 2):
        rows.append([Key(b.label[:64], encode(b)) for b in buttons[i:i + 2]])
    if pages > 1 and page_data is not None:
        nav = []
        if page > 0:
            nav.append(Key("‹ " + _("Previous"), page_data(page - 1)))
        if page < pages - 1:
            nav.append(Key(_("Next") + " ›", page_data(page + 1)))
        rows.append(nav)
    chunks = split(lines)
    return [Message(text, rows if i == len(chunks) - 1 else []) for i, text in enumerate(chunks)]
