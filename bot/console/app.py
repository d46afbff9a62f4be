"""The console adapter: try bizbot without a chat platform, with a clock you can move."""
from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select

from bot.bootstrap import App
from bot.delivery import Dispatcher, Outgoing, Posted
from domain.delivery.due import ensure_recurring, next_due_at, sweep
from domain.delivery.outbox import next_available_at
from domain.kernel.clock import FakeClock, SystemClock
from domain.kernel.dates import parse_delta
from domain.kernel.errors import DomainError
from domain.kernel.i18n import N_, _, babel_locale, first_language, translate, use_locale
from domain.store.models import Member, Organisation
from domain.team.members import actor_for, ensure_org, find_member, name_key, resolve_member
from handlers.context import Ctx
from handlers.help import first_welcome
from handlers.registry import clean_line, translate_error

PLATFORM = "console"
WORKSPACE = "local"


class ConsoleSender:
    """Messages bizbot says to other people are printed with their recipient in front."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def send(self, message: Outgoing) -> Posted | None:
        who = f"@{message.recipient.name}" if message.recipient else f"#{message.channel}"
        stamp = self._console.clock.now().astimezone(ZoneInfo(message.org.timezone)).strftime("%Y-%m-%d %H:%M")
        self._console.write(f"[{stamp}] → {who}: {self._text(message)}")
        if message.attachment is not None:
            self._console.write(f"  📎 {save_attachment(message)}")
        return Posted(who, message.key)

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """A revised message is printed again, marked as an update of the earlier one."""
        stamp = self._console.clock.now().astimezone(ZoneInfo(message.org.timezone)).strftime("%Y-%m-%d %H:%M")
        self._console.write(f"[{stamp}] ✎ {posted.chat}: {self._text(message)}")

    def _text(self, message: Outgoing) -> str:
        """A message with its buttons, each showing the command it runs as the recipient would type it."""
        if not message.buttons:
            return message.text
        with use_locale(message.locale):
            shown = [self._console.app.registry.shown_line(b.command) for b in message.buttons]
        return message.text + "\n  " + "  ".join(f"[{b.label}: {c}]" for b, c in zip(message.buttons, shown,
                                                                                       strict=True))


def save_attachment(message: Outgoing) -> str:
    """Write a message's file (a chart) where the person at the console can open it; returns its path."""
    assert message.attachment is not None
    folder = Path(tempfile.gettempdir()) / "bizbot"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / message.attachment.filename
    path.write_bytes(message.attachment.data)
    return str(path)


class DepartmentError(Exception):
    """`--as NAME` names nobody in the department asked for, or members of several departments."""


def department_of(app: App, name: str, department: str | None = None) -> int | None:
    """The department whose member `name` is (an active one, the name as written), for the console to act in:
    its id, or None when no department but the console's own has such a member (and none was asked for).
    `department` (an id or a name) chooses among several."""
    with app.uow() as uow:
        rows = uow.session.execute(
            select(Organisation.id, Organisation.name, Organisation.platform)
            .join(Member, Member.org_id == Organisation.id)
            .where(Member.name_key == name_key(name.lstrip("@")), Member.active.is_(True))
            .where((Organisation.platform != PLATFORM) | (Organisation.external_id != WORKSPACE))
            .order_by(Organisation.id)).all()
    if department is not None:
        chosen = [r for r in rows if str(r.id) == department.strip() or r.name.casefold() == department.casefold()]
        if not chosen:
            raise DepartmentError(f"no department {department!r} has a member named {name!r}")
        rows = chosen
    if len(rows) > 1:
        listed = ", ".join(f"{r.id} ({r.name}, {r.platform})" for r in rows)
        raise DepartmentError(f"{name!r} is a member of several departments: {listed}; choose one with "
                              "--department ID")
    return rows[0].id if rows else None


class Console:
    def __init__(self, app: App, clock: FakeClock, out: TextIO = sys.stdout, user: str = "me",
                 org_id: int | None = None) -> None:
        """The console in its own department (created on first use), or, given `org_id`, inside that
        department as its member `user`: an operator's tool on a deployment's database. There it neither
        fires due items nor sends messages (the server does), and its clock does not move."""
        self.app = app
        self.clock = clock
        self.out = out
        self.dispatcher = Dispatcher(app.services.uow, {PLATFORM: ConsoleSender(self)})
        self.operator = org_id is not None
        if org_id is None:
            with app.uow() as uow:
                org = ensure_org(uow, PLATFORM, WORKSPACE, "bizbot", app.settings.timezone, app.settings.locale)
                uow.commit()
                org_id = org.id
        self.org_id = org_id
        self.member_id: int | None = None
        if self.operator:
            self._switch(user)
        else:
            self._enrol(user)

    # --- output ------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _locale(self) -> str:
        with self.app.uow() as uow:
            member = uow.session.get(Member, self.member_id) if self.member_id else None
            org = uow.session.get(Organisation, self.org_id)
            assert org is not None
            return (member.locale if member and member.locale else None) or org.locale

    def _say(self, msgid: str, **params: object) -> None:
        with use_locale(self._locale()):
            self.write(translate(msgid).format(**params))

    # --- identity ----------------------------------------------------------------------
    def _enrol(self, name: str) -> None:
        with self.app.uow() as uow:
            org = uow.session.get(Organisation, self.org_id)
            assert org is not None
            language = None if self.app.settings.language_chosen else first_language(None, name)
            resolved = resolve_member(uow, org, PLATFORM, WORKSPACE, name.casefold(), name, self.app.services.admins,
                                      language)
            if resolved.member is None:
                try:
                    resolved_member = find_member(uow, self.org_id, name)
                except DomainError:
                    resolved_member = None
                self.member_id = resolved_member.id if resolved_member else None
            else:
                self.member_id = resolved.member.id
        if self.member_id is None:
            self._say(N_("You ({name}) are not a member yet: an admin adds you with /team add {name} role=sales, "
                         "or switch with :as NAME."), name=name)
        elif resolved.created_first:
            with use_locale(self._locale()):
                self.write(first_welcome(resolved.member.name))
        elif resolved.created_admin:
            self._say(N_("Welcome, {name}! You are an admin (BIZBOT_ADMINS)."), name=resolved.member.name)

    def actor_ctx(self) -> Ctx | None:
        """The context of the member the console acts as; None when nobody can act."""
        if self.member_id is None:
            return None
        with self.app.uow() as uow:
            member = uow.session.get(Member, self.member_id)
            assert member is not None
            if not member.active:  # who left the department cannot act, here as on any platform
                self._say(N_("{name} has left the department and can no longer act; use :as NAME with a "
                             "member's name."), name=member.name)
                return None
            actor = actor_for(uow, member)
        return Ctx(self.app.services, actor, PLATFORM)

    # --- lines -------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Run one line; returns False when the session should end."""
        line = clean_line(line)  # a byte-order mark (Notepad) in front, full-width spaces: as if not there
        if line.startswith("：") or line.startswith(":"):
            line = ":" + line[1:]
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return self._console_line(line)
        ctx = self.actor_ctx()
        if ctx is None:
            if self.member_id is None:
                self._say(N_("Nobody is acting: use :as NAME with a member's name."))
            return True
        if not line.startswith("/"):
            line = "/" + line
        reply = self.app.registry.dispatch(ctx, line)
        with use_locale(ctx.actor.locale):  # a button's command as the reader would type it
            reply = replace(reply, buttons=[replace(b, command=self.app.registry.shown_line(b.command))
                                            for b in reply.buttons])
        self.write(("⚠ " if reply.error else "") + reply.as_text())
        self.deliver()
        return True

    def _console_line(self, line: str) -> bool:
        word, _sep, rest = line[1:].partition(" ")
        word = word.lower()
        if word in ("q", "quit", "exit"):
            return False
        if word == "now":
            self.write(self._stamp())
        elif word == "as":
            self._switch(rest.strip())
        elif word == "advance" and self.operator:
            self._say(N_("The clock cannot be moved in a department the server runs."))
        elif word == "advance":
            self._advance(rest.strip())
        else:
            self._say(N_("Console lines: :as NAME, :advance 2h|3d|1w, :now, :quit."))
        return True

    def _switch(self, name: str) -> None:
        if not name:
            self._say(N_("Console lines: :as NAME, :advance 2h|3d|1w, :now, :quit."))
            return
        with self.app.uow() as uow:
            try:
                member = find_member(uow, self.org_id, name)
            except DomainError as exc:
                with use_locale(self._locale()):
                    self.write("⚠ " + translate_error(exc))
                return
        self.member_id = member.id
        self._say(N_("Now acting as {name}."), name=member.name)

    def _advance(self, text: str) -> None:
        try:
            delta = parse_delta(text)
        except DomainError as exc:
            with use_locale(self._locale()):
                self.write("⚠ " + translate_error(exc))
            return
        target = self.clock.now() + delta
        self._catch_up()
        while (due := self._next_event()) is not None and due <= target:
            self.clock.set(max(due, self.clock.now()))
            self._catch_up()
        self.clock.set(target)
        self._catch_up()
        self.write(self._stamp())

    def _catch_up(self) -> None:
        """Fire and send what is due now, and what firing makes due at once (a job rescheduled into the
        past is due at once): otherwise the next step would pass it by."""
        for _round in range(10):
            self.deliver()
            due = next_due_at(self.app.services.uow)
            if due is None or due > self.clock.now():
                return

    def _next_event(self) -> datetime | None:
        """The next moment something falls due or a held-back message may go."""
        with self.app.uow() as uow:
            waiting = next_available_at(uow)
        due = next_due_at(self.app.services.uow)
        moments = [m for m in (due, waiting) if m is not None and m > self.clock.now()]
        return min(moments) if moments else None

    def deliver(self) -> None:
        """Fire what is due and send what the outbox holds (in the console's own department only: a
        department the server runs gets its messages from the server)."""
        if self.operator:
            return
        with self.app.uow() as uow:
            ensure_recurring(uow)
        sweep(self.app.services.uow)
        self.dispatcher.run_once()

    def _stamp(self) -> str:
        with self.app.uow() as uow:
            org = uow.session.get(Organisation, self.org_id)
            assert org is not None
            tz = org.timezone
        local = self.clock.now().astimezone(ZoneInfo(tz))
        with use_locale(self._locale()):
            return _("Clock: {time} ({tz})").format(
                time=format_datetime(local, "yyyy-MM-dd HH:mm EEE", locale=babel_locale()), tz=tz)

    def run(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not self.handle(line):
                break


def interactive_lines(prompt: str = "bizbot> ") -> Iterable[str]:
    try:
        # imported only where a person types at a terminal: importing it switches input() to line editing
        # and history, and it is missing on some platforms
        import readline  # noqa: F401
    except ImportError:
        pass
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return
        except KeyboardInterrupt:
            print()
            return


def start_clock(start: datetime | None) -> FakeClock:
    return FakeClock(start or SystemClock().now())
