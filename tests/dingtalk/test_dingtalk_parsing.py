"""What bizbot reads from DingTalk, whatever it is: button ids and callback signatures."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dingtalk import render, sign
from bot.dingtalk.app import clicked_in
from handlers.replies import Button

pytestmark = pytest.mark.fast
SECRET = "app-secret"


@given(st.sampled_from(sorted(render.KINDS)), st.text(max_size=120))
def test_a_button_id_gives_back_what_it_carries(kind: str, value: str) -> None:
    made = render.encode(kind, value)
    # an id longer than DingTalk keeps is never read back (a button's command is far shorter)
    assert render.decode(made) == (render.Pressed(kind, value) if len(made) <= render.MAX_ID else None)


@given(st.text(max_size=300))
def test_any_action_id_is_read_or_ignored_never_raises(action_id: str) -> None:
    pressed = render.decode(action_id)
    assert pressed is None or pressed.kind in render.KINDS


@given(st.one_of(st.none(), st.text(max_size=30)), st.one_of(st.none(), st.text(max_size=60)),
       st.integers(min_value=0, max_value=2**45))
def test_any_signature_headers_are_judged_never_raise(timestamp, signature, now_ms) -> None:
    assert sign.check(SECRET, timestamp, signature, now_ms) in (None, "missing", "stale", "forged")


@given(st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000), st.integers(-7_200_000, 7_200_000))
def test_dingtalk_signature_accepted_within_the_hour_only(now_ms: int, offset: int) -> None:
    timestamp = str(now_ms + offset)
    verdict = sign.check(SECRET, timestamp, sign.sign(SECRET, timestamp), now_ms)
    assert verdict == (None if abs(offset) <= sign.STALE_MS else "stale")
    assert sign.check(SECRET, timestamp, sign.sign("other", timestamp), now_ms) in ("forged", "stale")


def test_signature_matches_dingtalks_recipe() -> None:
    expected = base64.b64encode(hmac.new(b"s", b"1700000000000\ns", hashlib.sha256).digest()).decode()
    assert sign.sign("s", "1700000000000") == expected


def test_long_commands_fall_back_to_help() -> None:
    assert render.decode(render.button_id(Button("x", "/lead new " + "a" * 400))).value == "/help"


_VALUES = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.lists(st.text(max_size=5), max_size=2))


@given(st.dictionaries(st.sampled_from(["spaceType", "spaceId", "openConversationId", "userId", "outTrackId"]),
                       _VALUES))
def test_any_card_callback_names_a_group_or_none_never_raises(data: dict) -> None:
    found = clicked_in(data)
    assert found is None or (isinstance(found, str) and found)
    if data.get("spaceType") not in (None, "IM_GROUP"):
        assert found is None                                         # a private chat, whatever its id reads


def test_a_card_callback_names_the_group_it_was_clicked_in() -> None:
    group = "cidQ8nD3yT1aPzHk9F0c2XwVbg=="
    assert clicked_in({"spaceType": "IM_GROUP", "spaceId": group}) == group
    assert clicked_in({"spaceType": "IM_ROBOT", "spaceId": "cidPrivate=="}) is None
    assert clicked_in({"openConversationId": group}) == group       # without a space: the conversation it names
    assert clicked_in({}) is None
