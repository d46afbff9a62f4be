"""A Chinese reader reads no English: every message of the catalog, every help page, a department's month in the
console (timelines, the access log, the approval rules, notices) and every export's headers and values — names,
references (C1, CB2), codes (CNY, xlsx) and what people typed aside. One register (你) throughout."""
from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
from babel.messages.pofile import read_po

import handlers
from domain.kernel.i18n import use_locale
from handlers.words import command_words

ROOT = Path(__file__).resolve().parents[2]
ZH = ROOT / "locales/zh_Hans/LC_MESSAGES/bizbot.po"
# codes and names a Chinese text may carry as they are
CODES = {"bizbot", "CNY", "USD", "EUR", "HKD", "xlsx", "csv", "Excel", "Slack", "Telegram", "KPI", "IANA", "Asia",
         "Shanghai", "AAA", "AA", "BBB", "BB", "ERP", "ID", "PNG", "https", "t.me", "tmp", "bd", "project",
         "service", "performance", "upsell", "key", "INV", "hi", "start", "zh", "en", "English", "AM", "PM", "ok",
         "wang"}  # the name the test's console user has
# what only the operator reads (the terminal console's own lines, the command line), in bizbot's own words
OPERATOR = ("Console lines", "Nobody is acting", "bizbot outbox", "--org", ":as NAME", "You ({name}) are not a member")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*")


def english(text: str) -> list[str]:
    """The English words of a text: letters not part of a reference (C1, CB2, L12), a code or a placeholder."""
    text = re.sub(r"\{[a-z_]+\}", "0", text)                       # placeholders (CB{id} is a reference)
    text = re.sub(r"📎 \S+", "", text)                              # a file's path
    found = []
    for word in _WORD.findall(text):
        word = word.rstrip(".-/")
        if any(ch.isdigit() for ch in word) or word in CODES or len(word) < 2:
            continue
        if re.fullmatch(r"[A-Z]+(?:[-_][A-Z]+)+", word):  # a code (ABCD-EFGH-JKLM) or a setting (BIZBOT_ADMINS)
            continue
        if any(part in CODES for part in re.split(r"[/.\-]", word)):
            continue
        found.append(word)
    return found


def test_every_message_of_the_catalog_is_chinese() -> None:
    with ZH.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans_CN")
    leaks = {}
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if any(marker in msgid for marker in OPERATOR):
            continue
        words = [w for s in strings for w in english(s)]
        if words:
            leaks[msgid] = words
    assert leaks == {}


def test_one_register_you_not_the_polite_you() -> None:
    text = ZH.read_text(encoding="utf-8")
    strings = re.findall(r'^msgstr "(.*)"$', text, re.MULTILINE)
    assert not [s for s in strings if "您" in s]


def test_every_help_page_is_chinese(bot) -> None:
    bot("/settings lang zh")
    registry = handlers.load()
    pages = [bot("/帮助")] + [bot(f"/帮助 {command_words(g)}") for g in registry.groups()] + [
        bot(f"/帮助 {command_words(name)}") for name in registry.commands]
    leaks = {page.splitlines()[0]: english(page) for page in pages if english(page)}
    assert leaks == {}
    assert "拜访情况" not in bot("/帮助 投诉 新建")  # the complaint's "what" is what the customer complains about


def _month(bot, clock) -> str:
    """A Chinese department's month in the console, everyone in Chinese: all it printed."""
    out = [bot("/settings lang zh", "/settings deptlang zh",
               "/team add 小李 role=业务员 lang=zh supervisor=wang", "/team add 小赵 role=客服 lang=zh",
               "/team add 刘法务 role=法务 lang=zh", "/team add 张总 role=部门负责人 lang=zh",
               "/客户 新建 华为 行业=通信 级别=重点 负责人=小李", "/客户 新建 阿里 级别=普通 负责人=小李",
               "/商机 新建 华为 金额=壹拾万元 来源=网络推广", "/商机 新建 阿里 金额=1.5万 来源=抖音",
               "/商机 阶段 L1 商务洽谈", "/风险 设置 C1 中 原因=\"回款慢\"", "/风险 设置 C1 低",
               "/客户 列表", "/商机 列表 全部", "/审批规则 查看",
               "/审批规则 设置 合同 经理、法务、部门负责人 如果 金额 >= 500000",
               "/例会 设置 星期=周一 时间=09:30 频道=业务部")]
    out.append(bot(":as 小李", "/拜访 华为 渠道=微信 备注=\"介绍方案\" 下次=下周三", "/回访 列表",
                   '/合同 新建 华为 标题="设备采购" 金额=RMB100000 商机=L1 交货期=2027-01-15',
                   '/合同 付款条件 K1 "30% 签约, 60% 发货, 10% 验收后90天"', "/合同 提交 K1",
                   "/投诉 新建 华为 严重程度=高 投诉内容=\"交货延迟\" 诉求=\"本周内交货\" 渠道=微信"))
    out.append(bot(":as wang", "/批准 K1", ":as 刘法务", "/批准 K1", ":as 小李", "/商机 查看 L1", "/合同 查看 K1"))
    out.append(bot(":as 小赵", "/投诉 进展 Q1 备注=\"已致电客户\"", "/投诉 解决 Q1 备注=\"已换货\"",
                   "/投诉 回访 Q1 不满意 备注=\"仍有故障\"", "/投诉 查看 Q1"))
    out.append(bot(":advance 7d", ":as 小李", "/例会 汇报 完成=\"拜访 3 家\" 困难=\"无\" 计划=\"签约\"",
                   ":advance 7d", ":as wang", "/简报", "/访问记录", "/访问记录 C1", "/考核 进度", "/待办",
                   "/提醒 列表"))
    return "\n".join(out)


def test_a_chinese_departments_month_reads_chinese_throughout(bot, clock) -> None:
    printed = _month(bot, clock)
    assert "合同 K1 已签订" in printed                     # the lead's history after the signed contract
    assert "不满意：仍有故障" in printed                    # the complaint's timeline
    assert "风险：中（橙） → 低（黄）" in printed or "风险：低（黄） → 中（橙）" in printed   # the access log
    assert "经理、法务、部门负责人 如果 金额 >= 500000" in printed                 # /policy show
    lines = [line for line in printed.splitlines()[1:]  # the first: the switch, still in the console's English
             if not line.startswith("当前时间") and english(line)]
    assert lines == [], "\n".join(lines)


def test_every_export_is_chinese(bot, app, clock) -> None:
    _month(bot, clock)
    with use_locale("zh"):
        from domain.appraisals.reviews import export_reviews
        from domain.approvals.contracts import ledger_table
        from domain.complaints.cases import complaints_table
        from domain.crm.customers import leads_table
        from domain.team.auditlog import audit_table
    tables = []
    with app.uow() as uow:
        ctx = bot.console.actor_ctx()
        actor = ctx.actor
        tables.append(leads_table(uow, actor, "xlsx")[0])
        tables.append(audit_table(uow, actor, "xlsx", None, None)[0])
        for fn in (ledger_table, complaints_table):
            try:
                tables.append(fn(uow, actor, "xlsx", None, None)[0])
            except TypeError:
                tables.append(fn(uow, actor, "xlsx")[0])
        tables.append(export_reviews(uow, actor.name, actor.org_id, "2026-11", "xlsx")[0])
    leaks = []
    for data in tables:
        book = openpyxl.load_workbook(io.BytesIO(data))
        for sheet in book.worksheets:
            leaks += english(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                leaks += [f"{w} ({cell})" for cell in row if isinstance(cell, str) for w in english(cell)]
    assert leaks == []
