"""Catalogs are complete and current; replies follow the actor, formats follow the locale."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.kernel.i18n import _, fmt_date, fmt_money, normalize_locale, sentences, use_locale
from locales.catalog import problems


@pytest.mark.fast
def test_catalogs_are_complete_and_template_is_current() -> None:
    assert problems() == []


@pytest.mark.fast
def test_formats_follow_the_locale() -> None:
    with use_locale("zh"):
        assert fmt_money(Decimal("200000"), "CNY") == "¥200,000.00"
        assert fmt_date(date(2026, 12, 2)) == "2026年12月2日"
        assert sentences("一。", "二。") == "一。二。"
    with use_locale("en"):
        assert fmt_money(Decimal("200000"), "USD") == "$200,000.00"
        assert fmt_date(date(2026, 12, 2)) == "Dec 2, 2026"
        assert sentences("One.", "Two.") == "One. Two."


@pytest.mark.fast
def test_locale_names_people_use() -> None:
    assert [normalize_locale(x) for x in ("zh-CN", "中文", "en_GB", "EN", "fr", "")] == [
        "zh", "zh", "en", "en", None, None]


def test_reply_follows_the_actor_and_placeholders_are_named(bot) -> None:
    out = bot("/settings lang zh")
    assert "简体中文" in out
    out = bot("/lead new Nowhere")
    assert "Nowhere" in out and "No customer" not in out
    out = bot("/lead stage L1 flying")
    assert "flying" in out and "Unknown" not in out
    with use_locale("zh"):
        assert _("Customers") != "Customers"


def test_refusal_names_roles_in_the_readers_language(bot) -> None:
    bot("/team add 小李 role=sales lang=zh", ":as 小李")
    out = bot("/team add x role=sales")
    assert "管理员" in out and "admin" not in out


def test_chinese_replies_use_chinese_punctuation_and_lists(bot) -> None:
    """Sentences joined without a space, lists with 、 and 和, full-width brackets and colons, times to the
    minute: the parts a reply builds around its translated messages follow the reader's language too."""
    bot("/settings deptlang zh", "/team add 李经理 role=manager", "/team add 小李 role=sales supervisor=李经理")
    out = bot("/meeting set day=monday time=09:30 channel=sales")
    assert "收集汇报: 前一个工作日 15:00（2026年11月27日 15:00）" in out
    bot(":as 小李", '/expense travel amount=300 note="打车"')
    assert "A1：第 1 步（部门经理）批准。所有步骤均已批准。" in bot(":as 李经理", "/approve A1")
    out = bot(":advance 7d", ":as 小李", "/review self 2 70")
    assert "尚未评分：业绩（签约合同额）、客户信息收集与整理、商务谈判成功率和团队协作。" in out
    assert "• 业绩（签约合同额）（40%）；签约合同金额：¥0.00" in out                 # the self-review prompt
    out = bot(":as wang", "/digest")
    assert "新客户：0（较前一周 ±0）" in out
    assert "小李：待自评" in bot("/review status")
    assert "/商机 需要加子命令：列表、新建、筛选、查看或阶段。" in bot("/lead")        # alternatives, in Chinese words
    assert "商机（0）" in bot("／lead list")                        # the full-width slash a Chinese IME types
