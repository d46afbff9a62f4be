"""Reply → Block Kit, Command → modal and back, and the app manifest: pure, no Slack needed."""
from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import handlers
from bot.slack.blocks import build_modal, escape, modal_errors, modal_values, options, render
from bot.slack.manifest import manifest, manifest_yaml
from domain.kernel.i18n import _, use_locale
from handlers.registry import Registry
from handlers.replies import Button, Reply, Section

pytestmark = pytest.mark.fast  # no database: rendering replies as Block Kit, and the manifest


@pytest.fixture(scope="module")
def registry() -> Registry:
    return handlers.load()


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text in the blocks (section texts, fields, context elements)."""
    out = []
    for block in blocks:
        if block["type"] == "section":
            out += [block["text"]["text"]] if "text" in block else []
            out += [f["text"] for f in block.get("fields", [])]
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _page_buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {b["text"]["text"]: b["value"] for b in _buttons(blocks) if b["action_id"] == "bizbot.page"}


def test_escape_keeps_typed_mentions_from_pinging() -> None:
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert escape("R&D <@U123> <!here>") == "R&amp;D &lt;@U123&gt; &lt;!here&gt;"


def test_user_strings_are_escaped_in_text_fields_and_items() -> None:
    reply = Reply(
        title="<!here> Acme & Co",
        text="hi <!channel>",
        fields=[("Owner <@U1>", "A & B")],
        sections=[Section("S&P", ["<!everyone>"], "none"), Section("Empty", [], "<nothing>")],
    )
    fallback, blocks = render(reply)
    texts = _texts(blocks)
    assert "hi &lt;!channel&gt;" in texts
    assert "*Owner &lt;@U1&gt;*\nA &amp; B" in texts
    assert "*S&amp;P*\n• &lt;!everyone&gt;" in texts
    assert "&lt;nothing&gt;" in texts
    assert not any("<!" in t or "<@" in t for t in texts)
    assert "<!" not in fallback and "&lt;!here&gt;" in fallback


def test_header_fields_sections_and_actions() -> None:
    reply = Reply(
        title="Lead L7",
        text="Recorded.",
        fields=[("Stage", "proposal"), ("Value", "¥200,000.00")],
        sections=[Section("Visits", ["V1", "V2"]), Section("Callbacks", [], "none")],
        buttons=[Button("Screen", "/lead screen L7", "primary"), Button("Drop", "/lead stage L7 lost", "danger"),
                 Button("Show", "/lead show L7")],
    )
    fallback, blocks = render(reply)
    assert fallback == "Lead L7\nRecorded."
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "section", "context",
                                           "actions"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Lead L7"}
    assert blocks[2]["fields"] == [{"type": "mrkdwn", "text": "*Stage*\nproposal"},
                                   {"type": "mrkdwn", "text": "*Value*\n¥200,000.00"}]
    assert blocks[3]["text"]["text"] == "*Visits*\n• V1\n• V2"
    assert blocks[4]["text"]["text"] == "*Callbacks*"
    assert blocks[5]["elements"][0]["text"] == "none"
    assert blocks[6]["elements"] == [
        {"type": "button", "text": {"type": "plain_text", "text": "Screen"}, "action_id": "bizbot.cmd.0",
         "value": "/lead screen L7", "style": "primary"},
        {"type": "button", "text": {"type": "plain_text", "text": "Drop"}, "action_id": "bizbot.cmd.1",
         "value": "/lead stage L7 lost", "style": "danger"},
        {"type": "button", "text": {"type": "plain_text", "text": "Show"}, "action_id": "bizbot.cmd.2",
         "value": "/lead show L7"},
    ]


def test_error_reply_is_marked() -> None:
    _fallback, blocks = render(Reply(text="No customer <x>.", error=True))
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": ":warning: No customer &lt;x&gt;."}}]


def test_more_than_ten_fields_are_split() -> None:
    _fallback, blocks = render(Reply(fields=[(f"k{i}", f"v{i}") for i in range(23)]))
    assert [len(b["fields"]) for b in blocks] == [10, 10, 3]
    assert blocks[2]["fields"][-1]["text"] == "*k22*\nv22"


def test_long_texts_are_cut_to_slack_limits() -> None:
    reply = Reply(title="T" * 400, fields=[("name", "&" * 3000)], buttons=[Button("B" * 100, "/help")])
    _fallback, blocks = render(reply)
    assert len(blocks[0]["text"]["text"]) == 150
    field = blocks[1]["fields"][0]["text"]
    assert len(field) <= 2000 and field.endswith("&amp;…")
    label = _buttons(blocks)[0]["text"]["text"]
    assert len(label) == 75 and label.endswith("…")


def test_a_long_text_becomes_several_sections_without_losing_a_character() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(80))
    _fallback, blocks = render(Reply(text=text))
    assert len(blocks) > 1 and all(len(t) <= 3000 for t in _texts(blocks))
    assert "\n".join(_texts(blocks)) == text
    _fallback, blocks = render(Reply(text="a&" * 1000))
    assert len(blocks) == 2 and "".join(_texts(blocks)) == "a&amp;" * 1000


def test_a_long_list_paginates() -> None:
    items = [f"CB{i} · 2026-12-{i % 28 + 1:02d} · Customer number {i} & sons · " + "detail " * 25
             for i in range(300)]
    reply = Reply(title="Open callbacks (300)", sections=[Section("Callbacks", items)],
                  buttons=[Button("Refresh", "/callback list")])
    _fallback, first = render(reply)
    buttons = _page_buttons(first)
    assert buttons == {"Next": "1"}
    pages = int(first[-2]["elements"][0]["text"].rsplit(" ", 1)[-1])
    assert pages > 1
    seen: list[str] = []
    for page in range(pages):
        _fallback, blocks = render(reply, page=page)
        assert len(blocks) <= 50
        assert blocks[0]["type"] == "header"
        assert all(len(t) <= 3000 for t in _texts(blocks))
        assert sum(len(t) for t in _texts(blocks)) <= 12000
        assert f"Page {page + 1} of {pages}" in _texts(blocks)
        expected = {}
        if page > 0:
            expected["Previous"] = str(page - 1)
        if page < pages - 1:
            expected["Next"] = str(page + 1)
        assert _page_buttons(blocks) == expected
        seen += [line[2:] for t in _texts(blocks) for line in t.split("\n") if line.startswith("• ")]
    assert seen == [escape(i) for i in items]
    assert any(b["action_id"] == "bizbot.cmd.0" for b in _buttons(blocks))
    assert render(reply, page=99) == render(reply, page=pages - 1)


def test_page_navigation_is_translated_and_action_id_configurable() -> None:
    reply = Reply(sections=[Section("S", [str(i) for i in range(3000)])])
    with use_locale("zh"):
        _fallback, blocks = render(reply, page=1, page_action="x.page")
        assert _("Previous") != "Previous"
    labels = {b["text"]["text"]: b["value"] for b in _buttons(blocks) if b["action_id"] == "x.page"}
    assert labels == {"上一页": "0", "下一页": "2"}
    assert any(t.startswith("第 2/") for t in _texts(blocks))
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def test_visit_modal(registry: Registry) -> None:
    cmd = registry.commands["visit"]
    with use_locale("zh"):
        view = build_modal(cmd, "bizbot.form", '{"cmd":"visit"}', "Log a customer visit now", "Save", "Cancel",
                           initial={"customer": "Acme", "next": "2026-12-02", "note": "a <b>"})
    assert view["type"] == "modal" and view["callback_id"] == "bizbot.form"
    assert view["private_metadata"] == '{"cmd":"visit"}'
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Save"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == list(cmd.args.model_fields)
    assert all(b["type"] == "input" and b["element"]["action_id"] == b["block_id"] for b in blocks.values())
    assert blocks["next"]["element"] == {"type": "datepicker", "action_id": "next", "initial_date": "2026-12-02"}
    channel = blocks["channel"]["element"]
    assert channel["type"] == "static_select"
    assert {"text": {"type": "plain_text", "text": "电话"}, "value": "phone"} in channel["options"]
    assert channel["initial_option"]["value"] == "onsite"
    customer = blocks["customer"]["element"]
    assert customer["type"] == "external_select" and customer["min_query_length"] == 0
    assert customer["initial_option"]["value"] == "Acme"
    assert blocks["note"]["element"]["multiline"] is True
    assert blocks["note"]["element"]["initial_value"] == "a <b>"
    assert blocks["customer"]["label"]["text"] == "Customer"
    assert blocks["customer"]["hint"]["text"] == "客户名称或编号"
    assert "optional" not in blocks["customer"]
    assert all(blocks[n].get("optional") is True for n in ("channel", "note", "purpose", "needs", "next", "lead"))


def test_literal_fields_become_selects_and_members_text(registry: Registry) -> None:
    view = build_modal(registry.commands["lead list"], "f", "", "Leads", "Show", "Close")
    scope = view["blocks"][0]["element"]
    assert scope["type"] == "static_select"
    assert [o["value"] for o in scope["options"]] == ["mine", "team", "all"]
    owner = build_modal(registry.commands["lead new"], "f", "", "Lead", "Save", "Close")["blocks"][-1]
    assert owner["block_id"] == "owner" and owner["element"]["type"] == "plain_text_input"


def test_modal_values_round_trip(registry: Registry) -> None:
    cmd = registry.commands["visit"]
    state = {
        "customer": {"customer": {"type": "external_select", "selected_option": {
            "text": {"type": "plain_text", "text": "Acme Ltd"}, "value": "Acme"}}},
        "channel": {"channel": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "电话", "emoji": True}, "value": "phone"}}},
        "note": {"note": {"type": "plain_text_input", "value": "discussed pricing\nsecond line "}},
        "purpose": {"purpose": {"type": "plain_text_input", "value": None}},
        "needs": {"needs": {"type": "plain_text_input", "value": "   "}},
        "next": {"next": {"type": "datepicker", "selected_date": "2026-12-02"}},
        "lead": {"lead": {"type": "plain_text_input", "value": ""}},
    }
    data = modal_values(cmd, state)
    assert data == {"customer": "Acme", "channel": "phone", "note": "discussed pricing\nsecond line",
                    "next": "2026-12-02"}
    view = build_modal(cmd, "f", "", "Visit", "Save", "Cancel", initial=data)
    assert modal_values(cmd, {}) == {}
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert elements["channel"]["initial_option"]["value"] == "phone"
    assert elements["next"]["initial_date"] == "2026-12-02"


def test_modal_errors_shape() -> None:
    answer = modal_errors({"next": "Cannot read 'soon' as a date.", "customer": "x" * 5000})
    assert answer["response_action"] == "errors"
    assert answer["errors"]["next"] == "Cannot read 'soon' as a date."
    assert len(answer["errors"]["customer"]) <= 2000


def test_suggestion_options() -> None:
    answer = options([(f"C{i}", "名" * 100) for i in range(150)])
    assert len(answer["options"]) == 100
    assert answer["options"][0]["value"] == "C0"
    assert answer["options"][0]["text"]["type"] == "plain_text"
    assert len(answer["options"][0]["text"]["text"]) == 75


def test_manifest_has_one_slash_command_per_group(registry: Registry) -> None:
    m = manifest(registry, base_url="https://bot.example.org/")
    commands = m["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [f"/{g}" for g in registry.groups()]
    assert {"/help", "/team", "/customer", "/lead", "/visit", "/callback", "/settings"} <= {
        c["command"] for c in commands}
    for c in commands:
        assert c["url"] == "https://bot.example.org/slack/events"
        assert 0 < len(c["description"]) <= 100 and len(c.get("usage_hint", "")) <= 1000
        assert c["should_escape"] is True  # mentions arrive as <@U123|name>, which /team add links
    visit = next(c for c in commands if c["command"] == "/visit")
    assert visit["usage_hint"].startswith("CUSTOMER")
    assert m["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]
    assert set(m["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "chat:write.public", "users:read", "im:write", "im:history", "app_mentions:read",
        "channels:read", "groups:read"}
    settings_ = m["settings"]
    assert settings_["interactivity"] == {
        "is_enabled": True, "request_url": "https://bot.example.org/slack/events",
        "message_menu_options_url": "https://bot.example.org/slack/events"}
    assert settings_["event_subscriptions"]["bot_events"] == ["app_home_opened", "app_mention", "message.im"]
    assert settings_["socket_mode_enabled"] is False
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["features"]["bot_user"] == {"display_name": "bizbot", "always_online": True}


def test_manifest_yaml_parses_back(registry: Registry) -> None:
    text = manifest_yaml(registry, app_name="销售助手 bot")
    assert "销售助手" in text
    assert yaml.safe_load(text) == manifest(registry, app_name="销售助手 bot")


_text = st.text(max_size=400)
_replies = st.builds(
    Reply,
    text=st.text(max_size=5000),
    title=st.none() | _text,
    fields=st.lists(st.tuples(_text, st.text(max_size=3000)), max_size=40),
    sections=st.lists(st.builds(Section, title=_text, items=st.lists(_text, max_size=120), empty=_text),
                      max_size=8),
    buttons=st.lists(st.builds(Button, label=_text, command=_text,
                               style=st.sampled_from(["default", "primary", "danger"])), max_size=60),
    error=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(_replies, st.integers(min_value=0, max_value=30))
def test_any_reply_renders_within_slack_limits(reply: Reply, page: int) -> None:
    fallback, blocks = render(reply, page=page)
    json.dumps([fallback, blocks])
    assert len(blocks) <= 50
    assert all(len(t) <= 3000 and t.strip() for t in _texts(blocks))
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "section" and "fields" in block:
            assert len(block["fields"]) <= 10 and all(len(f["text"]) <= 2000 for f in block["fields"])
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
    for button in _buttons(blocks):
        assert 0 < len(button["text"]["text"]) <= 75 and len(button.get("value", "")) <= 2000
    for t in _texts(blocks):
        assert "<" not in t and ">" not in t
