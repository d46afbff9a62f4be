"""Chinese command words: typed anywhere a line is read, shown in help and buttons, read back as the same command;
the platforms' own command menus keep the Latin names; a byte-order mark and full-width spaces are ignored."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import app_mention, event_callback
from fakes.slack_stack import SlackStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import GROUP_ID, command_update, text_update
from fakes.telegram_stack import TOKEN, TelegramStack
from sqlalchemy import select

import handlers
from domain.kernel.i18n import use_locale
from domain.store.models import Customer
from handlers.registry import OPTION_ALIASES, clean_line
from handlers.words import ARG_WORDS, GROUP_WORDS, SUB_WORDS, arg_word, canonical, command_words

REGISTRY = handlers.load()


def test_every_command_has_chinese_words_and_none_is_taken_twice() -> None:
    groups = REGISTRY.groups()
    assert set(groups) <= set(GROUP_WORDS)
    subs = {name for name in REGISTRY.commands if " " in name}
    assert subs <= set(SUB_WORDS)
    taken = [w for words in GROUP_WORDS.values() for w in words]
    assert len(taken) == len(set(taken))
    for group in groups:
        words = [w for name, ws in SUB_WORDS.items() if name.split()[0] == group for w in ws]
        assert len(words) == len(set(words)), group


@pytest.mark.parametrize("name", sorted(REGISTRY.commands))
def test_each_argument_word_a_chinese_reader_is_shown_reads_back_as_that_argument(name: str) -> None:
    """What a usage line shows a Chinese reader can be typed: `/商机 新建 华为 金额=1 来源=展会` is lead new."""
    cmd = REGISTRY.commands[name]
    for field in cmd.args.model_fields:
        word = arg_word(name, field)
        meant = OPTION_ALIASES.get(word, word)
        targets = (meant,) if isinstance(meant, str) else meant
        assert next(t for t in targets if t in cmd.args.model_fields) == field, (name, field, word)
    with use_locale("zh"):
        usage = cmd.usage()
    assert usage.startswith(f"/{command_words(name)}")
    assert not re.search(r"[A-Za-z]", usage), usage
    options = [f"{arg_word(name, f)}=y" for f in cmd.args.model_fields if f not in cmd.positional]
    line = " ".join([f"/{command_words(name)}", *("x" for _p in cmd.positional), *options])
    got, data = REGISTRY.fields(line)
    assert got is cmd and set(data) == set(cmd.args.model_fields), line


def test_words_are_read_the_same_everywhere_a_line_is_cleaned() -> None:
    assert canonical("/客户 新建 华为 行业=通信") == "/customer new 华为 行业=通信"
    assert canonical("/新建客户 华为") == "/customer new 华为"
    assert canonical("/lead 新建 华为") == "/lead new 华为"
    assert canonical("/客户@bizbot_test_bot 查看 C1") == "/customer@bizbot_test_bot show C1"
    assert canonical('/投诉 新建 华为 投诉内容="回访 新建"') == '/complaint new 华为 投诉内容="回访 新建"'
    assert canonical("客户") == "客户"  # an answer to a question is no command
    assert clean_line("\ufeff／客户\u3000查看\u3000华为\u3000") == "/customer show 华为"
    assert set(ARG_WORDS.values()) <= set(OPTION_ALIASES)


def test_console_takes_chinese_commands_and_shows_them(bot) -> None:
    bot("/settings lang zh")
    out = bot("/客户 新建 华为 行业=通信 级别=重点")
    assert "已建立客户档案 华为（C1）" in out
    assert "[新建商机: /商机 新建 C1]" in out and "[客户档案: /客户 查看 C1]" in out
    out = bot("/新建商机 华为 金额=50万 来源=展会")
    assert "商机 L1 已录入" in out
    assert "商务洽谈" in bot("/商机 阶段 L1 商务洽谈")
    assert "客户（1）" in bot("/客户列表")
    out = bot("/帮助")
    assert "/客户 — " in out and "/商机 — " in out and "/customer" not in out
    out = bot("/帮助 商机 新建")
    assert "/商机 新建 〈客户〉 [金额=…]" in out
    out = bot("/商机 飞")
    assert "可选：列表、新建、筛选、查看或阶段" in out
    out = bot("/合同 新建 华为 金额=50万")
    assert "缺少 标题=。用法：/合同 新建 〈客户〉 标题=… 金额=…" in out


def test_buttons_show_the_command_a_chinese_reader_would_type_and_it_runs(bot) -> None:
    bot("/settings lang zh", "/customer new 华为", "/lead new 华为")
    with use_locale("zh"):
        for line in ("/lead stage L1 negotiation", "/risk set C1 high reason=\"两张发票逾期\"",
                     "/customer list all", "/settings lang zh", "/remind snooze CB1 tomorrow"):
            shown = REGISTRY.shown_line(line)
            assert not re.search(r"[A-Za-z]{3,}", shown.replace("tomorrow", "")), shown
            assert REGISTRY.fields(shown)[0] is REGISTRY.fields(line)[0]
    out = bot("/商机 阶段 L1 商务洽谈")
    assert "商务洽谈" in out and "⚠" not in out


def test_byte_order_mark_and_full_width_spaces_are_ignored(bot) -> None:
    assert "今后我将用简体中文" in bot("\ufeff/settings lang zh")
    assert "已建立客户档案 华为" in bot("\ufeff/客户\u3000新建\u3000华为\u3000行业=通信")
    bot("/team add 小李 role=sales lang=zh")
    assert "已切换为 小李" in bot("\ufeff:as\u3000小李")
    assert "已切换为 wang" in bot("：as wang")


@pytest.fixture
def tg(db_url: str, clock) -> Iterator[TelegramStack]:
    with FakeTelegram(token=TOKEN) as fake:
        stack = TelegramStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_telegram_reads_chinese_commands_and_keeps_latin_names_in_its_menu(tg: TelegramStack) -> None:
    for language in ("", "zh"):
        names = [c["command"] for c in tg.fake.commands_for(language)]
        assert names and all(re.fullmatch(r"[a-z0-9_]{1,32}", n) for n in names)
    tg.post(command_update(text="/客户 新建 华为 行业=通信", chat_id=GROUP_ID, chat_type="group",
                           language_code="zh-hans"))
    assert "已建立客户档案 华为（C1）" in tg.last(GROUP_ID)["text"]
    tg.post(text_update(text="／商机　新建　华为", user_id=111, chat_id=111, language_code="zh-hans"))
    assert "商机 L1 已录入" in tg.last(111)["text"]


@pytest.fixture
def slack(db_url: str, clock) -> Iterator[SlackStack]:
    with FakeSlack() as fake:
        fake.users["U1"] = {"real_name": "王经理", "locale": "zh-CN"}
        stack = SlackStack(db_url, clock, fake)
        yield stack
        stack.close()


def test_slack_reads_chinese_words_in_commands_mentions_and_direct_messages(slack: SlackStack) -> None:
    assert "已建立客户档案 华为（C1）" in slack.say("/customer", "新建 华为")["text"]
    slack.event(event_callback(app_mention("U1", "<@UBOT> 客户 查看 华为")))
    slack.fake.wait_for("chat.postEphemeral")
    assert "华为 (C1)" in str(slack.fake.calls_to("chat.postEphemeral")[-1])
    direct = {"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": "新建客户 阿里",
              "ts": "1700000001.000100", "event_ts": "1700000001.000100"}
    slack.event(event_callback(direct))
    slack.fake.wait_for("chat.postMessage")
    assert "已建立客户档案 阿里（C2）" in str(slack.fake.calls_to("chat.postMessage")[-1])
    with slack.app.uow() as uow:
        assert sorted(uow.session.scalars(select(Customer.name))) == ["华为", "阿里"]
    before = len(slack.fake.calls_to("chat.postMessage"))
    slack.event(event_callback({**direct, "bot_id": "B1", "text": "客户 新建 自己"}))
    slack.event(event_callback({**direct, "channel_type": "channel", "text": "客户 新建 频道"}))
    with slack.app.uow() as uow:
        assert len(uow.session.scalars(select(Customer.name)).all()) == 2
    assert len(slack.fake.calls_to("chat.postMessage")) == before


def test_a_chinese_reader_lists_names_by_pinyin(bot) -> None:
    bot("/settings lang zh", "/客户 新建 华为", "/客户 新建 阿里", "/客户 新建 百度", "/客户 新建 中兴")
    lines = [line for line in bot("/客户 列表").splitlines() if " · " in line]
    assert [line.split(" · ")[1] for line in lines] == ["阿里", "百度", "华为", "中兴"]   # not by code point
    bot("/团队 添加 赵六 角色=业务员", "/团队 添加 李四 角色=业务员", "/团队 添加 张三 角色=业务员")
    team = bot("/团队 列表")
    assert team.index("李四") < team.index("张三") < team.index("赵六")
