"""`bizbot`: the console, database maintenance, and (with the adapters) the server."""
from __future__ import annotations

import getpass
import logging
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from alembic.util import CommandError
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

import handlers
from bot import observability
from bot.affinity import AffinityError
from bot.backup import BackupError, backup, file_name, restore, stamp
from bot.bootstrap import bootstrap, wire
from bot.console.app import Console, DepartmentError, department_of, interactive_lines, start_clock
from bot.dingtalk.setup import check as dingtalk_check
from bot.dingtalk.setup import checklist as dingtalk_checklist
from bot.feishu.setup import checklist
from bot.leader import SingleProcessError
from bot.logs import Redactor, configure
from bot.metrics import bizbot_version
from bot.server import listen
from bot.server import serve as run_server
from bot.settings import ConfigError, Settings, load_settings
from bot.slack.manifest import manifest_yaml
from domain.appraisals import reviews
from domain.approvals import contracts
from domain.complaints import cases
from domain.crm import customers
from domain.delivery.outbox import list_messages, retry_parked
from domain.delivery.retention import AUDIT_POLICY
from domain.delivery.retention import audit_days as audit_kept
from domain.kernel.clock import SystemClock
from domain.kernel.dates import in_range
from domain.kernel.errors import DomainError
from domain.kernel.i18n import use_locale
from domain.store.engine import Sessions, current_revision, make_engine, upgrade
from domain.store.models import Organisation
from domain.store.uow import UnitOfWork
from domain.team.members import create_department_code
from handlers.registry import translate_error
from locales.catalog import problems, update_catalogs, write_template


def _settings(serving: bool = False):
    """The settings, and logging through the handler that redacts them (bot.logs): at BIZBOT_LOG_LEVEL
    for the server, WARNING and above for the other commands unless BIZBOT_LOG_LEVEL asks for more."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(f"bizbot: bad setting {exc}", err=True)
        sys.exit(2)
    configure(settings, None if serving or settings.log_level != "info" else logging.WARNING)
    click.get_current_context().meta[_SETTINGS] = settings
    return settings


_SETTINGS = "bizbot.settings"


def database_problem(exc: BaseException) -> str | None:
    """The cause, on one line, when `exc` says the database cannot be used at all: not there, refusing
    connections, refusing the password, not a database, or at a schema revision this bizbot does not know."""
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        cause: object = exc.orig if exc.orig is not None else exc  # the driver's words, without SQLAlchemy's
    elif isinstance(exc, CommandError):
        cause = f"its schema is at a revision this bizbot does not know (a newer bizbot's?): {exc}"
    else:
        return None
    return " ".join(str(cause).split()) or type(cause).__name__


def _shown(settings: Settings, text: str) -> str:
    """A line for the operator: one line, no secret in it (a driver's or a tool's words included)."""
    return Redactor.of(settings)(" ".join(text.split()))


class Bizbot(click.Group):
    """Every command: a database that cannot be used is one line naming BIZBOT_DATABASE_URL (password
    hidden) and the cause, and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            problem = database_problem(exc)
            settings = ctx.meta.get(_SETTINGS)
            if problem is None or settings is None:
                raise
            click.echo(_shown(settings, f"bizbot: cannot use the database BIZBOT_DATABASE_URL="
                                        f"{settings.database_shown}: {problem}"), err=True)
            ctx.exit(1)


@click.group(cls=Bizbot)
@click.version_option(bizbot_version(), "--version", prog_name="bizbot", message="%(prog)s %(version)s")
def main() -> None:
    """bizbot: run a sales department from the team chat."""


@main.command()
@click.option("--as", "user", default=None,
              help="Act as this member: inside the department (Slack, Telegram) that has them, if one does; "
                   "else in the console's own department (default: your login name).")
@click.option("--department", default=None,
              help="The department (id or name) to act in when the member is in several.")
@click.option("--now", "now", default=None,
              help="Start the console clock here (ISO time, e.g. 2026-11-23T09:00+08:00).")
def console(user: str | None, department: str | None, now: str | None) -> None:
    """Try bizbot in the terminal (its own department), or act as a member of a department on the
    configured database, as an operator."""
    settings = _settings()
    start = None
    if now:
        try:
            start = datetime.fromisoformat(now)
        except ValueError:
            click.echo(f"bizbot: --now {now!r} is not an ISO time", err=True)
            sys.exit(2)
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(settings.timezone))
    clock = start_clock(start.astimezone(UTC) if start else None)
    app = bootstrap(settings, clock)
    name = user or os.environ.get("BIZBOT_CONSOLE_USER") or getpass.getuser() or "me"
    try:
        try:
            org_id = department_of(app, name, department) if user or department else None
        except DepartmentError as exc:
            click.echo(f"bizbot: {exc}", err=True)
            sys.exit(2)
        if org_id is not None and now:
            click.echo("bizbot: --now moves only the console's own clock; a department the server runs keeps "
                       "the real time", err=True)
            sys.exit(2)
        con = Console(app, clock, user=name, org_id=org_id)
        if sys.stdin.isatty() and con.operator:
            con.write(f"bizbot console — acting as {name} in department {org_id}; /help for commands, :quit "
                      "to leave. Messages go out through the server.")
        elif sys.stdin.isatty():
            con.write("bizbot console — /help for commands, :advance 1d to move time, :quit to leave.")
            con.run(interactive_lines())
        else:
            con.run(sys.stdin)
    finally:
        app.close()


@main.command()
def serve() -> None:
    """Run the server: Slack (and Telegram) endpoints, health checks, scheduler and outbox dispatcher."""
    settings = _settings(serving=True)
    try:
        listening = listen(settings.http_host, settings.http_port)
    except OSError as exc:
        click.echo(f"bizbot: cannot listen on {settings.http_host}:{settings.http_port} (BIZBOT_HTTP_HOST, "
                   f"BIZBOT_HTTP_PORT): {exc.strerror or exc}", err=True)
        sys.exit(1)
    app = bootstrap(settings)
    for note in platform_notes(settings):
        logging.getLogger("bizbot").warning(note)
    observability.enable(settings)
    try:
        run_server(app, listening)
    except (SingleProcessError, AffinityError) as exc:
        click.echo(f"bizbot: {exc}", err=True)
        sys.exit(2)
    finally:
        app.close()


def platform_notes(settings: Settings) -> list[str]:
    """What `bizbot serve` says at start about a chat platform that is not on, and what to set."""
    notes = []
    slack_started = settings.slack_bot_token or settings.slack_client_id or settings.slack_app_token
    if not settings.slack_enabled and settings.slack_signing_secret:
        notes.append("Slack is off: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install "
                     "in several workspaces) as well as SLACK_SIGNING_SECRET")
    elif not settings.slack_enabled and slack_started:
        notes.append("Slack is off: set SLACK_SIGNING_SECRET (the app's Basic Information page) too")
    if not settings.telegram_enabled and (settings.telegram_webhook_url or settings.telegram_webhook_secret):
        notes.append("Telegram is off: set TELEGRAM_BOT_TOKEN too")
    if not settings.slack_enabled and not settings.telegram_enabled:
        notes.append("no chat platform is configured, so only the health checks (/healthz, /readyz) are served: "
                     "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET for Slack, or TELEGRAM_BOT_TOKEN (with "
                     "TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET, or none for long polling) for Telegram")
    return notes


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (also done automatically at start)."""
    engine = make_engine(_settings().database_url)
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}")
    engine.dispose()


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    engine = make_engine(_settings().database_url)
    click.echo(current_revision(engine) or "empty")
    engine.dispose()


def _backup_place(settings):
    """Where backups go (BIZBOT_BACKUP_DIR, else ./backups) and the local time they are named by."""
    return Path(settings.backup_dir or "backups"), datetime.now(UTC).astimezone(ZoneInfo(settings.timezone))


@main.command("backup")
@click.option("-o", "--output", default=None,
              help="The backup file (default: BIZBOT_BACKUP_DIR, else ./backups, named bizbot-YYYYmmdd-HHMMSS).")
def backup_command(output: str | None) -> None:
    """Back the database up now: SQLite's online backup (checked), or pg_dump for PostgreSQL."""
    settings = _settings()
    folder, now = _backup_place(settings)
    target = Path(output) if output else folder / file_name(now, settings.database_url)
    try:
        made = backup(settings.database_url, target)
    except BackupError as exc:
        click.echo(_shown(settings, f"bizbot: backup failed: {exc}"), err=True)
        sys.exit(1)
    click.echo(f"backup written: {made.path} ({made.size:,} bytes)")


@main.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the database: nothing is changed without it.")
def restore_command(backup_file: str, yes: bool) -> None:
    """Put a backup back in place of the database (stop bizbot serve first). On SQLite the current
    database is kept beside the backups first (before-restore-…)."""
    settings = _settings()
    if not yes:
        click.echo(f"bizbot: this replaces the database ({settings.database_url.split('://', 1)[0]}) with "
                   f"{backup_file}; stop bizbot serve, then run again with --yes", err=True)
        sys.exit(2)
    folder, now = _backup_place(settings)
    keep = folder / f"before-restore-{stamp(now)}.db"
    try:
        kept = restore(settings.database_url, Path(backup_file), keep)
    except BackupError as exc:
        click.echo(_shown(settings, f"bizbot: restore failed: {exc}"), err=True)
        sys.exit(1)
    if kept is not None:
        click.echo(f"the database as it was is kept in {kept}")
    click.echo(f"restored from {backup_file}; migrations run when bizbot next starts")


@main.command()
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "parked", "dropped"]), default=None,
              help="Only messages in this state.")
@click.option("--limit", default=30, show_default=True, help="How many, newest first.")
@click.option("--retry", "retry", default=None, help="Re-queue parked messages: an id, ids (1,2) or 'all'.")
def outbox(status: str | None, limit: int, retry: str | None) -> None:
    """Show pending, parked and recent messages; retry parked ones."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    uow = UnitOfWork(Sessions(engine), SystemClock(), wire())
    try:
        if retry:
            ids = None if retry == "all" else [int(x) for x in retry.split(",") if x.strip().isdecimal()]
            with uow:
                click.echo(f"re-queued {retry_parked(uow, ids)} parked message(s)")
            return
        with uow:
            rows = list_messages(uow, status, limit)
        for m in rows:
            to = f"member {m.recipient_id}" if m.recipient_id else f"#{m.channel}"
            when = (m.sent_at or m.available_at).strftime("%Y-%m-%d %H:%M:%S")
            error = f"  error: {_shown(settings, m.last_error)}" if m.last_error else ""
            click.echo(f"{m.id:>6}  {m.status:<8} {when}  attempts={m.attempts}  {m.key}  → {to}{error}")
        if not rows:
            click.echo("no messages")
    finally:
        engine.dispose()


@main.command()
@click.option("--department", "org_id", type=int, default=None, help="The department (its id) whose policy to set.")
@click.option("--audit-days", type=click.IntRange(0, 36500), default=None,
              help="Keep this department's audit log this many days (0: for ever).")
@click.option("--default", "use_default", is_flag=True, help="Give the department the installation's default again.")
def retention(org_id: int | None, audit_days: int | None, use_default: bool) -> None:
    """Show how long records are kept; set a department's audit retention."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(Sessions(engine), SystemClock(), wire()) as uow:
            if org_id is not None and (audit_days is not None or use_default):
                org = uow.session.get(Organisation, org_id)
                if org is None:
                    click.echo(f"bizbot: no department {org_id}", err=True)
                    sys.exit(2)
                policy = dict(org.settings or {})
                policy.pop(AUDIT_POLICY, None)
                if not use_default:
                    policy[AUDIT_POLICY] = audit_days
                org.settings = policy
                uow.audit(org.id, None, "update", "retention", None, f"audit_days={audit_days}")
                uow.commit()
            kept = settings.retention
            click.echo(f"due items {kept.due_days}, outbox {kept.outbox_days}, events {kept.events_days}, "
                       f"audit {kept.audit_days} days (0: for ever)")
            for org in uow.session.scalars(select(Organisation).order_by(Organisation.id)):
                click.echo(f"{org.id:>6}  {org.platform:<9} {org.name}: audit {audit_kept(org, kept.audit_days)} days")
    finally:
        engine.dispose()


@main.command()
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 24 * 14),
              help="How long the code works (at most two weeks).")
def enrol(hours: int) -> None:
    """Print a one-time code that opens one new department: its first admin sends /enrol CODE in the
    Telegram group or Slack workspace that is to be the department (shown once; only its hash is kept)."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with UnitOfWork(Sessions(engine), SystemClock(), wire()) as uow:
            code, expires = create_department_code(uow, timedelta(hours=hours))
    finally:
        engine.dispose()
    until = expires.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")
    click.echo(f"enrolment code: {code}")
    click.echo(f"It opens one new department, once, until {until} ({settings.timezone}). Whoever uses it "
               "becomes the department's admin and manager:")
    click.echo(f"  Telegram: add the bot to the group, then send /enrol {code} there")
    click.echo(f"  Slack: /enrol {code} in the workspace")
    click.echo(f"  Feishu: send /enrol {code} to the bot in a private chat")


@main.group()
def feishu() -> None:
    """Feishu / Lark."""


@feishu.command("setup")
def feishu_setup() -> None:
    """Print the set-up checklist and check the configuration against the Open API (a tenant access token,
    the bot's info); exit 1 when something is missing or refused."""
    ok = True
    for good, line in checklist(_settings()):
        click.echo(("[ok] " if good else "[!!] " if good is False else "[  ] ") + line)
        ok = ok and good is not False
    if not ok:
        raise SystemExit(1)


@main.group()
def export() -> None:
    """Write records for the people entitled to see them (CSV or xlsx)."""


def _export(produce, fmt: str, output: str | None, default_name: str, what: str) -> None:
    """Run an export in one unit of work; write it to --output (CSV may go to stdout); a refusal is one line."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(Sessions(engine), SystemClock(), wire()) as uow:
            try:
                data, count = produce(uow)
            except DomainError as exc:
                with use_locale(settings.locale):
                    raise click.ClickException(translate_error(exc)) from None
    finally:
        engine.dispose()
    if output is None and fmt == "csv":
        click.echo(data.decode("utf-8-sig"), nl=False)
        return
    path = output or default_name
    with open(path, "wb") as fh:
        fh.write(data)
    click.echo(f"wrote {count} {what} to {path}")


def _day(value: datetime | None, uow) -> date | None:
    """A --from or --to day; one bizbot does not plan with (before 1900, ten years ahead) is refused as a
    command's would be."""
    return in_range(value.date(), uow.now.date()) if value is not None else None


@export.command("reviews")
@click.option("--period", required=True, help="2026-11, 2026-Q4, 2026 or lastmonth.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--as", "member", required=True, help="The manager the export runs as (checked and audited).")
@click.option("--org", "org_id", type=int, default=None, help="Organisation id (needed when there are several).")
@click.option("-o", "--output", default=None, help="File to write (default: stdout for csv, reviews.xlsx).")
def export_reviews(period: str, fmt: str, member: str, org_id: int | None, output: str | None) -> None:
    """Every review of a period, one row per indicator (managers)."""
    _export(lambda uow: reviews.export_reviews(uow, member, org_id, period, fmt), fmt, output, f"reviews.{fmt}", "rows")


@export.command("ledger")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--as", "member", required=True, help="The member asking; they get the contracts they may see.")
@click.option("--org", "org_id", type=int, default=None, help="Organisation id (needed when there are several).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First sign date (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last sign date (YYYY-MM-DD).")
@click.option("-o", "--output", default=None, help="File to write (default: stdout for csv, ledger.xlsx).")
def export_ledger(fmt: str, member: str, org_id: int | None, start: datetime | None, end: datetime | None,
                  output: str | None) -> None:
    """The contract ledger (合同台账) as an Excel workbook or CSV."""
    def run(uow):
        data, count, _locale = contracts.export_ledger(uow, member, org_id, fmt, _day(start, uow), _day(end, uow))
        return data, count

    _export(run, fmt, output, f"ledger.{fmt}", "contract(s)")


@export.command("leads")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--as", "member", required=True, help="The member asking; they get the leads they may see.")
@click.option("--org", "org_id", type=int, default=None, help="Organisation id (needed when there are several).")
@click.option("-o", "--output", default=None, help="File to write (default: stdout for csv, leads.xlsx).")
def export_leads(fmt: str, member: str, org_id: int | None, output: str | None) -> None:
    """Every lead, open and closed, as an Excel workbook or CSV."""
    _export(lambda uow: customers.export_leads(uow, member, org_id, fmt)[:2], fmt, output, f"leads.{fmt}", "lead(s)")


@export.command("complaints")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--as", "member", required=True, help="The member asking; they get the complaints they may see.")
@click.option("--org", "org_id", type=int, default=None, help="Organisation id (needed when there are several).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day received (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day received (YYYY-MM-DD).")
@click.option("-o", "--output", default=None, help="File to write (default: stdout for csv, complaints.xlsx).")
def export_complaints(fmt: str, member: str, org_id: int | None, start: datetime | None, end: datetime | None,
                      output: str | None) -> None:
    """Complaints with their promises and what became of them, as an Excel workbook or CSV."""
    def run(uow):
        return cases.export_complaints(uow, member, org_id, fmt, _day(start, uow), _day(end, uow))[:2]

    _export(run, fmt, output, f"complaints.{fmt}", "complaint(s)")


@main.group()
def slack() -> None:
    """Slack app set-up."""


@slack.command("manifest")
@click.option("--url", "base_url", default="https://bizbot.example.com", show_default=True,
              help="Public base URL of `bizbot serve` (Slack posts to URL/slack/events).")
@click.option("--name", "app_name", default="bizbot", show_default=True, help="The app's name in Slack.")
@click.option("--socket-mode", is_flag=True, help="For a bizbot that connects out with SLACK_APP_TOKEN.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
def slack_manifest(base_url: str, app_name: str, socket_mode: bool, output: str | None) -> None:
    """Print the Slack app manifest, generated from the command registry."""
    text = manifest_yaml(handlers.load(), app_name=app_name, base_url=base_url, socket_mode=socket_mode)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@main.group()
def dingtalk() -> None:
    """DingTalk (钉钉) app set-up."""


@dingtalk.command("setup")
def dingtalk_setup() -> None:
    """Print the set-up checklist and check the app's credentials against DingTalk's Open API."""
    settings = _settings()
    for line in dingtalk_checklist(settings):
        click.echo(line)
    if not settings.dingtalk_enabled:
        click.echo("DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET are not both set.", err=True)
        sys.exit(2)
    problem = dingtalk_check(settings)
    if problem is not None:
        click.echo(f"DingTalk refused the credentials: {problem}", err=True)
        sys.exit(1)
    click.echo("OK: DingTalk issued an access token for this app.")


@main.group()
def i18n() -> None:
    """Message catalogs."""


@i18n.command("extract")
def i18n_extract() -> None:
    """Rewrite the template from the source and merge it into every catalog."""
    write_template()
    update_catalogs()
    click.echo("locales/bizbot.pot and catalogs updated")


@i18n.command("check")
def i18n_check() -> None:
    """Fail if the template is stale or a catalog misses a translation."""
    found = problems()
    for line in found:
        click.echo(line)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
