"""Neutral replies: adapters turn these into Block Kit, Telegram HTML or plain text."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """A button is a serialised command: pressing it runs `command`, which can also be typed.

    A `decision` settles the message it sits on: once it succeeds the message shows the outcome
    and loses its buttons.
    """

    label: str
    command: str
    style: str = "default"
    decision: bool = False


@dataclass
class Section:
    title: str
    items: list[str] = field(default_factory=list)
    empty: str = ""


@dataclass
class Reply:
    text: str = ""
    title: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    private: bool = False
    error: bool = False

    def as_text(self) -> str:
        """The plain-text rendering every platform can fall back to."""
        lines: list[str] = []
        if self.title:
            lines.append(self.title)
        if self.text:
            lines.append(self.text)
        for name, value in self.fields:
            lines.append(f"  {name}: {value}")
        for section in self.sections:
            lines.append(f"{section.title}:")
            if section.items:
                lines.extend(f"  • {item}" for item in section.items)
            elif section.empty:
                lines.append(f"  {section.empty}")
        if self.buttons:
            lines.append("  " + "  ".join(f"[{b.label}: {b.command}]" for b in self.buttons))
        return "\n".join(lines)


def error(text: str) -> Reply:
    return Reply(text=text, error=True, private=True)


def paged(reply: Reply, page: int, per_page: int) -> tuple[list[tuple[Section, list[str]]], int, int]:
    """A reply's sections cut to one page of `per_page` items counted across them (for platforms that page long
    answers): each section shown with its items on this page — a section with no items at all keeps its place
    for its `empty` words, one whose items all fall on other pages is left out — the page (clamped) and the
    number of pages."""
    total = sum(len(section.items) for section in reply.sections)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    first, index, shown = page * per_page, 0, []
    for section in reply.sections:
        items = [item for n, item in enumerate(section.items, index) if first <= n < first + per_page]
        index += len(section.items)
        if items or (not section.items and section.empty):
            shown.append((section, items))
    return shown, page, pages
