"""One registry of commands: name, argument model, permission, help text and handler, in one place.

Adapters loop over it; help, the console, Slack's manifest and Telegram's command list come from it.
"""
from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.kernel.errors import DomainError, Forbidden, Hidden, Invalid
from domain.kernel.i18n import N_, Choices, current_locale, localize, translate, use_locale
from domain.kernel.logcontext import bind, bound
from domain.team.access import role_labels
from handlers.args import Args, widget_of
from handlers.context import Ctx
from handlers.parsing import CONTROL, QUOTES, parse_line
from handlers.replies import Reply, error
from handlers.words import SUB_WORDS, arg_word, canonical, command_words, group_word

log = logging.getLogger(__name__)

# Chinese option names people type, mapped to the option they mean; a word that means different options in
# different commands (金额: a lead's value, a contract's amount, a project's budget) lists them, and a
# command takes the first it has.
OPTION_ALIASES: dict[str, str | tuple[str, ...]] = {
    "备注": "note", "说明": "note", "下次": "next", "下次日期": "next", "金额": ("value", "amount", "budget"),
    "价值": "value",
    "币种": "currency", "来源": "source", "联系人": "contact", "渠道": "channel", "方式": "channel",
    "行业": "industry", "规模": "scale", "级别": "level", "等级": "level", "电话": "phone",
    "邮箱": "email", "生日": "birthday", "周期": "cadence", "回访周期": "cadence", "原因": "reason",
    "结果": "result", "角色": "role", "上级": "supervisor", "语言": "lang", "阶段": "stage",
    "风险": "risk", "信用": "credit", "目的": "purpose", "需求": "needs", "负责人": "owner",
    "评分": "score", "分数": ("score", "value"), "考核期": "period", "期间": "period", "权重": "weights",
    "评语": "note",
    "comment": ("note", "comment"), "lang": "lang", "language": "lang", "roles": "role", "sup": "supervisor",
    "date": ("date", "next"), "日期": ("date", "next"), "拜访日期": "date", "补录": "date",
    "from": "start", "to": "end", "从": "start", "到": "end", "交接": ("handover", "to"),
    "接手人": ("handover", "to"), "付款方式": "payment",
    "交货期": "delivery", "履行期限": "term", "标题": "title", "严重程度": "severity", "级别程度": "severity",
    "问题": ("what", "problems", "question"),
    "投诉内容": "what", "诉求": "wants", "客户诉求": "wants", "联系方式": "contact",
    "处理人": ("assignee", "member"), "负责处理": "assignee", "预算": "budget", "项目名称": "name", "开始": "start",
    "部门": "department", "需要": "what", "截止": "due", "客户规模": "scale", "地位": "position",
    "行业地位": "position", "潜力": "potential", "发展潜力": "potential", "意向": "intent", "合作意向": "intent",
    "名称": "name", "内容": ("content", "text", "what"), "变更内容": "content", "影响": "impact",
    "条款": "clauses", "结束": "end",
    "客户": "customer", "商机": "lead", "发票": "invoice",
    "完成": "done", "已完成": "done", "完成情况": "done", "困难": "problems", "遇到的问题": "problems",
    "计划": "plan", "本周计划": "plan", "下周计划": "plan", "星期": "day", "时间": "time", "频道": "channel",
    "汇报人": "reporters", "月度": "monthly", "季度": "quarterly", "年度": "annual", "申诉期": "appeal_days",
    # the words usage lines show a Chinese reader (handlers.words.ARG_WORDS), each read back as its option
    "对象": ("about", "who", "record"), "操作": "action", "年度截止日": "annual_close_day",
    "年度自评日": "annual_self_day",
    "收集时间": "ask", "申请人": "by", "回访": "callback", "类别": "category", "审批链": "chain",
    "截止日": "close_day", "代码": "code", "投诉": "complaint", "合同": "contract", "天数": ("days", "value"),
    "裁决": "decision", "升级": "escalate", "第一天": "first", "格式": "format", "交接人": ("handover", "to"),
    "工作时间": "hours", "指标": "indicator", "事项": ("item", "what"), "提醒类别": "kind",
    "指标名称": "labels", "最后一天": "last", "经理时限": "manager", "成员": "member", "催办": "nudge",
    "回访结果": "outcome", "记录": "record", "编号": ("ref", "risk", "request"), "提醒时限": "remind",
    "解决时限": "resolution",
    "响应时限": "response", "适用角色": "roles", "范围": "scope", "自评日": "self_day", "方案": "solution",
    "步骤": "step", "下一步": "step", "模板": ("template", "name"), "纪要": "text", "时区": "timezone",
    "主题": "topic", "类型": "type", "截至": "until", "推迟到": "until", "周": "week", "年份": "year",
    "姓名": "name", "客户名称": "name", "节日名称": "name", "代审人": "name", "小时": "value",
    "值班人": "member",
    "产品": "items", "规格": "items", "数量": "qty", "客户要求": "requirements", "要求": ("requirements", "value"),
    "承运商": "carrier", "物流公司": "carrier", "快递": "carrier", "物流单号": "tracking", "运单号": "tracking",
    "单号": "tracking", "整改": "rectify", "整改要求": "rectify", "订单": "order", "流程": "route",
    "发货日期": "date", "整改人": "owner",
    # targets, the risk register, satisfaction and enquiries
    "签约": "signed", "签约额": "signed", "回款": "collected", "回款额": "collected", "新客户": "customers",
    "满意度": "satisfaction", "评价": "comment", "可能性": "likelihood", "应对": "response", "应对措施": "response",
    "预计损失": "loss", "损失": "loss", "期限": "due", "答复": "answer", "回复期限": "reply_by",
    "等级分数线": "bands", "修改项": "changes",
    "项目经理": "manager", "团队": "team", "项目组": "team", "里程碑": ("title", "item"),
    "里程碑名称": "title", "里程碑编号": "item",
    "交付成果": "deliverable", "交付物": "deliverable", "归档": "file", "归档位置": "file", "预期目标": "goal",
    "目标": "goal", "对接人": "to", "接口人": "to",
    # payment terms, invoices and payments
    "付款条件": "terms", "节点": "milestone", "付款节点": "milestone", "发票号码": "number", "开票日期": "date",
    "到账日期": "date", "号码": "number",
}


_LEADING_SLASHES = re.compile(r"^\s*[/／]+")
# spaces a Chinese input method or a word processor types: read as the plain space between words
_WIDE_SPACES = re.compile("[\u3000\u00a0\u2000-\u200a\u202f\u205f]")


def clean_line(line: str) -> str:
    """A typed command line as bizbot reads it: control and invisible characters dropped (a byte-order mark
    that Windows Notepad puts in front too), full-width and no-break spaces read as spaces, a leading
    full-width slash (／lead, what a Chinese input method types) or a doubled one (a console or mention may
    add it) made one plain slash, and Chinese command words (/客户 新建) read as bizbot's own."""
    line = _WIDE_SPACES.sub(" ", CONTROL.sub("", line)).strip()
    return canonical(_LEADING_SLASHES.sub("/", line, count=1))


def zh_reader() -> bool:
    """Whether the text being written is for a Chinese reader (commands are then shown in Chinese words)."""
    return current_locale() == "zh"


def shown_name(name: str) -> str:
    """A command or group as the reader types it: `lead new`, or `商机 新建` for a Chinese reader."""
    return command_words(name) if zh_reader() else name


def shown_subs(group: str, subs: list[str]) -> list[str]:
    """Sub-command words as the reader types them."""
    if not zh_reader():
        return subs
    return [SUB_WORDS.get(f"{group} {sub}", (sub,))[0] for sub in subs]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    args: type[Args]
    handler: Callable[[Ctx, Any], Reply]
    positional: tuple[str, ...] = ()
    greedy: bool = False
    roles: frozenset[str] | None = None
    examples: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    precheck: Callable[[Ctx, dict[str, Any]], None] | None = None

    @property
    def group(self) -> str:
        return self.name.split()[0]

    def questions(self) -> tuple[str, ...]:
        """The fields a conversation asks for, in order: `ask`, else the required ones."""
        required = tuple(n for n, info in self.args.model_fields.items() if info.is_required())
        return self.ask or required

    def missing(self, data: dict[str, Any]) -> list[str]:
        return [n for n, info in self.args.model_fields.items() if info.is_required() and not data.get(n)]

    def usage(self) -> str:
        """The command's form, in the reader's words: `/lead new CUSTOMER [value=…]`, `/商机 新建 〈客户〉 [金额=…]`."""
        fields = self.args.model_fields
        parts = [f"/{shown_name(self.name)}"]
        for pos in self.positional:
            word = self.placeholder(pos)
            parts.append(word if fields[pos].is_required() else f"[{word}]")
        for key, info in fields.items():
            if key in self.positional:
                continue
            parts.append(f"{self.option(key)}=…" if info.is_required() else f"[{self.option(key)}=…]")
        return " ".join(parts)

    def placeholder(self, field: str) -> str:
        """A positional argument as usage lines show it: CUSTOMER, 〈客户〉."""
        return f"〈{arg_word(self.name, field)}〉" if zh_reader() else field.upper()

    def option(self, field: str) -> str:
        """An option's name as the reader types it: industry, 行业."""
        return arg_word(self.name, field) if zh_reader() else field

    def shown_field(self, field: str) -> str:
        """A field named in a message: a positional as its placeholder, an option with its = sign."""
        return self.placeholder(field) if field in self.positional else f"{self.option(field)}="


UNKNOWN = "unknown"  # the command named when a line names none bizbot has


@dataclass(frozen=True)
class Ran:
    """One command run, as watchers (metrics) see it: `outcome` is ok, refused (a translated refusal or
    error answer), invalid (the line could not be read) or failed (it raised)."""

    command: str
    platform: str
    outcome: str
    seconds: float


Watcher = Callable[[Ran], None]


@dataclass
class Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    group_summaries: dict[str, str] = field(default_factory=dict)
    # told of every command run through `dispatch` or `submit`, whichever adapter ran it
    watchers: list[Watcher] = field(default_factory=list, repr=False, compare=False)
    _groups: dict[str, list[Command]] | None = field(default=None, init=False, repr=False, compare=False)

    @contextmanager
    def _watched(self, ctx: Ctx) -> Iterator[dict[str, str]]:
        """Time one command and tell the watchers how it went; who runs it is in the log context meanwhile.
        The block fills in `command` and `outcome` as it learns them."""
        seen = {"command": UNKNOWN, "outcome": "failed"}
        start = time.perf_counter()
        with bound(platform=ctx.platform, department=ctx.actor.org_id, member=ctx.actor.member_id):
            try:
                yield seen
            finally:
                ran = Ran(seen["command"], ctx.platform, seen["outcome"], time.perf_counter() - start)
                for watcher in self.watchers:
                    watcher(ran)

    def include(self, *others: Registry) -> None:
        """Take in the commands and group descriptions of other registries (each handler module keeps its own)."""
        for other in others:
            for name, cmd in other.commands.items():
                if name in self.commands:
                    raise ValueError(f"command {name!r} registered twice")
                self.commands[name] = cmd
            self.group_summaries.update(other.group_summaries)
        self._groups = None

    def describe_group(self, group: str, summary: str) -> None:
        """What a group of sub-commands is for (a message id), for menus and command lists."""
        self.group_summaries[group] = summary

    def summary_of(self, group: str) -> str:
        """The message id that describes a group: its own, or its only command's."""
        if group in self.group_summaries:
            return self.group_summaries[group]
        return self.groups()[group][0].summary

    def command(
        self,
        name: str,
        summary: str,
        args: type[Args],
        positional: tuple[str, ...] = (),
        greedy: bool = False,
        roles: frozenset[str] | None = None,
        examples: tuple[str, ...] = (),
        ask: tuple[str, ...] = (),
        precheck: Callable[[Ctx, dict[str, Any]], None] | None = None,
    ) -> Callable[[Callable[[Ctx, Any], Reply]], Callable[[Ctx, Any], Reply]]:
        def register(fn: Callable[[Ctx, Any], Reply]) -> Callable[[Ctx, Any], Reply]:
            if name in self.commands:
                raise ValueError(f"command {name!r} registered twice")
            unknown = set(ask) - set(args.model_fields)
            if unknown:
                raise ValueError(f"command {name!r} asks for unknown fields {sorted(unknown)}")
            self.commands[name] = Command(name, summary, args, fn, positional, greedy, roles, examples, ask,
                                          precheck)
            self._groups = None
            return fn

        return register

    def groups(self) -> dict[str, list[Command]]:
        """Commands by group (the first word), worked out once after the last registration: every
        command line is resolved through it."""
        if self._groups is None:
            out: dict[str, list[Command]] = {}
            for cmd in self.commands.values():
                out.setdefault(cmd.group, []).append(cmd)
            self._groups = out
        return self._groups

    def resolve(self, words: list[str]) -> tuple[Command, list[str]]:
        """Find the command named by the first words; the rest are its positional arguments."""
        if not words:
            raise Invalid(N_("Type a command, for example /help."))
        head = words[0].lstrip("/").split("@", 1)[0].lower()
        groups = self.groups()
        if head not in groups:
            known = {group_word(g) if zh_reader() else g: g for g in groups}
            close = difflib.get_close_matches(head, list(known), n=1, cutoff=0.5)
            if close:
                raise Invalid(N_("Unknown command /{name}. Did you mean /{suggestion}?"), name=head,
                              suggestion=close[0])
            raise Invalid(N_("Unknown command /{name}. Type /help for the list."), name=head)
        if len(words) > 1 and f"{head} {words[1].lower()}" in self.commands:
            return self.commands[f"{head} {words[1].lower()}"], words[2:]
        if head in self.commands:
            return self.commands[head], words[1:]
        subs = sorted(c.name.split()[1] for c in groups[head])
        shown = dict(zip(shown_subs(head, subs), subs, strict=True))
        if len(words) > 1:
            close = difflib.get_close_matches(words[1].lower(), list(shown), n=1, cutoff=0.5)
            if close:
                raise Invalid(N_("Unknown sub-command '{sub}' for /{name}. Did you mean /{name} {suggestion}?"),
                              sub=words[1], name=shown_name(head), suggestion=close[0])
            raise Invalid(N_("Unknown sub-command '{sub}' for /{name}. Choose one of: {choices}."),
                          sub=words[1], name=shown_name(head), choices=Choices(shown))
        raise Invalid(N_("/{name} needs a sub-command: {choices}."), name=shown_name(head), choices=Choices(shown))

    def parse(self, ctx: Ctx, line: str) -> tuple[Command, Args]:
        cmd, data = self.fields(line)
        return cmd, validate(ctx, cmd, data)

    def fields(self, line: str) -> tuple[Command, dict[str, Any]]:
        """The command a line names and its raw field values, not yet validated."""
        parsed = parse_line(canonical(line))
        cmd, rest = self.resolve(parsed.words)
        fields = cmd.args.model_fields
        data: dict[str, Any] = {}
        for key, value in parsed.options.items():
            meant = OPTION_ALIASES.get(key, key)
            target = next((t for t in ((meant,) if isinstance(meant, str) else meant) if t in fields), key)
            if target not in fields or target in data:
                known = [cmd.option(k) for k in fields if k not in cmd.positional] or [
                    cmd.option(k) for k in fields]
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
                if close:
                    raise Invalid(N_("/{name} has no option {key}=. Did you mean {suggestion}=?"),
                                  name=shown_name(cmd.name), key=key, suggestion=close[0])
                raise Invalid(N_("/{name} has no option {key}=. Usage: {usage}"), name=shown_name(cmd.name),
                              key=key, usage=cmd.usage())
            data[target] = value
        positional = list(cmd.positional)
        if cmd.greedy and positional and len(rest) > len(positional):
            keep = len(positional) - 1
            rest = rest[:keep] + [" ".join(rest[keep:])]
        if len(rest) > len(positional):
            raise Invalid(N_("Unexpected '{words}'. Usage: {usage}"),
                          words=" ".join(rest[len(positional):]), usage=cmd.usage())
        for name, value in zip(positional, rest, strict=False):
            if name in data:
                raise Invalid(N_("{name} is given twice. Usage: {usage}"), name=cmd.placeholder(name),
                              usage=cmd.usage())
            data[name] = value
        return cmd, data

    def dispatch(self, ctx: Ctx, line: str) -> Reply:
        """Parse, check permission, run; every failure becomes one translated answer."""
        line = clean_line(line)  # also as the line is kept (a refusal is audited with it)
        with use_locale(ctx.actor.locale), self._watched(ctx) as seen:
            try:
                cmd, data = self.fields(line)
            except DomainError as exc:
                seen["outcome"] = "invalid"
                return error(translate_error(exc))
            seen["command"] = cmd.name
            bind(command=cmd.name)
            try:
                args = validate(ctx, cmd, data)
            except DomainError as exc:
                seen["outcome"] = "invalid"
                return error(translate_error(exc))
            reply = run(ctx, cmd, args, line)
            seen["outcome"] = "refused" if reply.error else "ok"
            return reply

    def shown_line(self, line: str) -> str:
        """A command line (a button's) as the reader would type it: for a Chinese reader in Chinese words —
        `/lead stage L1 negotiation` is `/商机 阶段 L1 商务洽谈` — read back by `fields` as the same command.
        Anyone else, or a line bizbot cannot read, gets it as it is."""
        if not zh_reader():
            return line
        try:
            cmd, data = self.fields(line)
        except DomainError:
            return line
        parts = [f"/{command_words(cmd.name)}"]
        last = cmd.positional[-1] if cmd.positional else None
        for name in cmd.positional:
            if name in data:
                value = _shown_value(cmd, name, data[name])
                parts.append(value if cmd.greedy and name == last else _quoted(value))
        parts += [f"{cmd.option(name)}={_quoted(_shown_value(cmd, name, value))}"
                  for name, value in data.items() if name not in cmd.positional]
        return " ".join(parts)

    def form_for(self, group: str, text: str) -> Command | None:
        """The sub-command `text` names when nothing follows it (`/holiday add`) and it needs answers: the
        adapters then ask for them (a Slack modal, a Telegram conversation) instead of answering "Missing"."""
        words = canonical(f"/{group} {text}").split()
        if len(words) != 2:
            return None
        cmd = self.commands.get(f"{words[0].lstrip('/')} {words[1].lower()}")
        return cmd if cmd is not None and cmd.missing({}) else None

    def submit(self, ctx: Ctx, cmd: Command, data: dict[str, str]) -> Reply | dict[str, str]:
        """Run a command from a filled-in form; problems come back per field, translated."""
        with use_locale(ctx.actor.locale), self._watched(ctx) as seen:
            seen["command"] = cmd.name
            bind(command=cmd.name)
            problems = field_problems(ctx, cmd, data)
            if problems:
                seen["outcome"] = "invalid"
                return problems
            try:
                args = validate(ctx, cmd, data)
            except DomainError as exc:
                seen["outcome"] = "invalid"
                return error(translate_error(exc))
            reply = run(ctx, cmd, args, f"/{cmd.name} (form)")
            seen["outcome"] = "refused" if reply.error else "ok"
            return reply


def _shown_value(cmd: Command, name: str, value: Any) -> str:
    """A value as the reader types it: a choice's key as its translated label (which reads back as the key)."""
    widget = widget_of(cmd.args.model_fields[name])
    label = dict(widget.choices).get(str(value)) if widget is not None and widget.kind == "choice" else None
    if label is None:
        return str(value)
    shown = translate(label)
    context = {"today": date.today(), "now": datetime.now(UTC)}
    try:  # only a label that reads back as the same value
        adapter = _adapter(cmd, name)
        if adapter.validate_python(shown, context=context) == adapter.validate_python(str(value), context=context):
            return shown
    except (DomainError, ValidationError):
        pass
    return str(value)


def _quoted(value: str) -> str:
    if value and not any(ch.isspace() or ch in QUOTES for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def precheck(ctx: Ctx, cmd: Command, data: dict[str, Any]) -> str | None:
    """Before asking for the rest of a command: why it cannot go ahead anyway (translated), or None."""
    with use_locale(ctx.actor.locale):
        try:
            if cmd.roles is not None and not ctx.actor.has_any(cmd.roles):
                raise Forbidden(N_("Only {roles} may use /{name}."), roles=role_labels(cmd.roles),
                            name=shown_name(cmd.name))
            if cmd.precheck is not None:
                cmd.precheck(ctx, data)
        except DomainError as exc:
            return translate_error(exc)
    return None


def validate(ctx: Ctx, cmd: Command, data: dict[str, Any]) -> Args:
    try:
        return cmd.args.model_validate(data, context={"today": ctx.today, "now": ctx.now})
    except ValidationError as exc:
        raise _validation_problem(cmd, exc) from None


def field_problems(ctx: Ctx, cmd: Command, data: dict[str, str]) -> dict[str, str]:
    """Each field checked on its own, so a form can show the message beside the field."""
    problems: dict[str, str] = {}
    for name, info in cmd.args.model_fields.items():
        if name not in data or data[name] in (None, ""):
            if info.is_required():
                problems[name] = translate(N_("Required."))
            continue
        problem = field_problem(ctx, cmd, name, data[name])
        if problem:
            problems[name] = problem
    return problems


def field_problem(ctx: Ctx, cmd: Command, name: str, value: Any) -> str | None:
    """What is wrong with one field's value (translated), or None."""
    try:
        _adapter(cmd, name).validate_python(value, context={"today": ctx.today, "now": ctx.now})
    except DomainError as exc:
        return translate_error(exc)
    except ValidationError:
        return translate(N_("Invalid value."))
    return None


@cache
def _adapter(cmd: Command, name: str) -> TypeAdapter[Any]:
    info = cmd.args.model_fields[name]
    return TypeAdapter(info.rebuild_annotation())


def run(ctx: Ctx, cmd: Command, args: Args, line: str) -> Reply:
    """Check the role and run the handler; domain errors become one translated answer."""
    try:
        if cmd.roles is not None and not ctx.actor.has_any(cmd.roles):
            raise Forbidden(N_("Only {roles} may use /{name}."), roles=role_labels(cmd.roles),
                            name=shown_name(cmd.name))
        return cmd.handler(ctx, args)
    except DomainError as exc:
        if isinstance(exc, Forbidden | Hidden):
            _log_refusal(ctx, line, exc)
        return error(translate_error(exc))


def translate_error(exc: DomainError) -> str:
    return translate(exc.msgid).format(**{k: localize(v) for k, v in exc.params.items()})


def _validation_problem(cmd: Command, exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    shown = cmd.shown_field(name) if name in cmd.args.model_fields else name
    if first["type"] == "missing":
        return Invalid(N_("Missing {name}. Usage: {usage}"), name=shown, usage=cmd.usage())
    if first["type"] == "literal_error":
        return Invalid(N_("Unknown {name} '{value}'. Choose one of: {choices}."), name=shown,
                       value=first["input"], choices=Choices(re.findall(r"'([^']*)'", first["ctx"]["expected"])))
    return Invalid(N_("Invalid value for {name}. Usage: {usage}"), name=shown, usage=cmd.usage())


def _log_refusal(ctx: Ctx, line: str, exc: DomainError) -> None:
    log.info("refused %s for member %s", line.split(" ", 1)[0], ctx.actor.member_id)
    with ctx.uow() as uow:
        uow.audit(ctx.actor.org_id, ctx.actor.member_id, "denied", "command", None, line[:200])
        uow.commit()

