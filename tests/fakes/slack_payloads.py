"""Builders for the payloads Slack sends to an app, from recorded shapes in fixtures/slack/."""
from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "slack"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
RESPONSE_URL = "https://hooks.slack.com/commands/T1/1234567890/abcdefghijklmnopqrstuvwx"
ACTION_RESPONSE_URL = "https://hooks.slack.com/actions/T1/1234567890/abcdefghijklmnopqrstuvwx"

_event_ids = itertools.count(1)
_trigger_ids = itertools.count(13345224609)


def next_trigger_id() -> str:
    """A trigger_id of this test run: Slack makes a new one for every command, click and submission."""
    return f"{next(_trigger_ids)}.738474920.8088930838d88f008e0"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def template(name: str) -> dict[str, Any]:
    """A fresh deep copy of the fixture `fixtures/slack/<name>.json`."""
    return copy.deepcopy(_load(name))


def _user(payload: dict[str, Any], user_id: str, team_id: str) -> None:
    payload["user"].update(id=user_id, team_id=team_id)
    payload["team"]["id"] = team_id


def slash_command(
    command: str = "/visit",
    text: str = "Acme note=hi",
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    response_url: str = RESPONSE_URL,
    trigger_id: str | None = None,
    **overrides: str,
) -> dict[str, str]:
    """The form fields Slack POSTs for a slash command."""
    fields = template("slash_command")
    fields.update(
        command=command,
        text=text,
        user_id=user_id,
        team_id=team_id,
        channel_id=channel_id,
        response_url=response_url,
        trigger_id=trigger_id or next_trigger_id(),
    )
    fields.update(overrides)
    return fields


def block_actions(
    action_id: str = "approve",
    value: str = "click_me_123",
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    message_ts: str = "1700000000.000100",
    response_url: str = ACTION_RESPONSE_URL,
    trigger_id: str | None = None,
    block_id: str = "actions",
) -> dict[str, Any]:
    """A button click on a message the bot posted."""
    payload = template("block_actions")
    _user(payload, user_id, team_id)
    payload["container"].update(message_ts=message_ts, channel_id=channel_id)
    payload["channel"]["id"] = channel_id
    payload.update(response_url=response_url, trigger_id=trigger_id or next_trigger_id())
    message = payload["message"]
    message.update(ts=message_ts, team=team_id)
    actions_block = message["blocks"][-1]
    actions_block["block_id"] = block_id
    actions_block["elements"][0].update(action_id=action_id, value=value)
    action = payload["actions"][0]
    action.update(action_id=action_id, block_id=block_id, value=value)
    return payload


def _input_blocks(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict]:
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id, "emoji": True},
            "optional": False,
            "dispatch_action": False,
            "element": {"type": state.get("type", "plain_text_input"), "action_id": action_id},
        }
        for block_id, actions in state_values.items()
        for action_id, state in actions.items()
    ]


def view_submission(
    callback_id: str = "modal-identifier",
    private_metadata: str = "",
    state_values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    user_id: str = "U1",
    team_id: str = "T1",
) -> dict[str, Any]:
    """A modal submit; state_values is view.state.values: {block_id: {action_id: {type, value}}}."""
    payload = template("view_submission")
    _user(payload, user_id, team_id)
    payload["trigger_id"] = next_trigger_id()
    values = copy.deepcopy(dict(state_values or {}))
    payload["view"].update(
        callback_id=callback_id,
        private_metadata=private_metadata,
        state={"values": values},
        blocks=_input_blocks(values),
        team_id=team_id,
        app_installed_team_id=team_id,
    )
    return payload


def block_suggestion(
    action_id: str = "es_a",
    block_id: str = "es_b",
    value: str = "search word",
    user_id: str = "U1",
    team_id: str = "T1",
    view_callback_id: str = "modal-identifier",
) -> dict[str, Any]:
    """An external_select asking for options while the user types `value`."""
    payload = template("block_suggestion")
    _user(payload, user_id, team_id)
    payload.update(action_id=action_id, block_id=block_id, value=value)
    view = payload["view"]
    view.update(callback_id=view_callback_id, team_id=team_id, app_installed_team_id=team_id)
    view["blocks"][0]["block_id"] = block_id
    view["blocks"][0]["element"]["action_id"] = action_id
    return payload


def event_callback(
    event: Mapping[str, Any],
    team_id: str = "T1",
    event_id: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The Events API envelope around `event`; event_id is unique unless given."""
    payload = template("event_app_mention")
    payload.update(
        event=dict(event),
        team_id=team_id,
        context_team_id=team_id,
        event_id=event_id or f"Ev{next(_event_ids):08d}",
        event_time=int(time.time()) if event_time is None else event_time,
    )
    payload["authorizations"][0]["team_id"] = team_id
    return payload


def app_home_opened(user_id: str = "U1", tab: str = "home") -> dict[str, Any]:
    """The `app_home_opened` event (without envelope)."""
    event = template("event_app_home_opened")["event"]
    event.update(user=user_id, channel=f"D{user_id}", tab=tab)
    return event


def app_mention(
    user_id: str = "U1",
    text: str = "<@UBOT> hi",
    channel: str = "C1",
    ts: str = "1700000000.000100",
) -> dict[str, Any]:
    """The `app_mention` event (without envelope)."""
    event = template("event_app_mention")["event"]
    event.update(user=user_id, text=text, channel=channel, ts=ts, event_ts=ts)
    return event


def url_verification(challenge: str | None = None) -> dict[str, Any]:
    """The handshake Slack sends when the Events request URL is saved."""
    payload = template("url_verification")
    if challenge is not None:
        payload["challenge"] = challenge
    return payload


def form_body(fields: Mapping[str, str]) -> bytes:
    """Form-encode fields the way Slack does for slash commands."""
    return urlencode(fields).encode("utf-8")


def interactive_body(payload: Mapping[str, Any]) -> bytes:
    """The form body Slack POSTs for interactivity: `payload=<json>`."""
    return form_body({"payload": json.dumps(payload, ensure_ascii=False)})


def json_body(payload: Mapping[str, Any]) -> bytes:
    """The JSON body Slack POSTs for the Events API."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def signed_headers(
    body: bytes, signing_secret: str, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """Request headers carrying Slack's v0 HMAC-SHA256 signature of `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
