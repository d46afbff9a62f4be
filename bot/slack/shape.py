"""Whether a request to /slack/events is one bizbot can act on.

Bolt reads a body on trust (Slack sent it): a JSON array, `payload=[]`, a team that is a number or a
timestamp that is no number make it raise before any signature is checked, and a signed payload without
the fields bizbot reads would fail in a listener. `body_problem` judges a body before Bolt reads it (what
is cheap to judge there), `payload_problem` a payload as read; either gives a reason for one line of log.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Where Bolt looks for the workspace, the user and the channel (slack_bolt.request.internals), and what
# each may be: absent, a string, or an object.
_IDS = ("enterprise", "team", "user", "channel")
_OBJECTS = ("event", "view", "message", "previous_message", "item", "assistant_thread", "function_data",
            "container", "state")


def body_problem(headers: Mapping[str, str], raw: bytes) -> str | None:
    """Why this request body is none bizbot can act on (read the way Bolt reads it), or None."""
    timestamp = headers.get("x-slack-request-timestamp")
    if timestamp is not None and not (timestamp.isascii() and timestamp.isdigit()):
        return "the request timestamp is not a number"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return "the body is empty"
    content_type = (headers.get("content-type") or "").split(";")[0].strip()
    if content_type == "application/json" or text.startswith("{"):  # an event: read as Bolt reads it
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; nesting past the parser's depth
            return "the body is not JSON"
        if not isinstance(body, dict):
            return f"the payload is a JSON {type(body).__name__}, not an object"
        return payload_problem(body)
    if "payload" in text:
        # an interaction: its payload is judged once Bolt has read it (check_interaction), for reading a form
        # costs more than all the rest; one Bolt cannot read at all makes it raise, which the route refuses
        return None
    # a slash command, whose fields Bolt reads as strings (they cannot trip it): the fields bizbot needs are
    # looked for without reading the form twice (in a form, & and = inside values are escaped)
    fields = f"&{text}&"
    for name in ("command", "team_id", "user_id"):
        if f"&{name}=" not in fields or f"&{name}=&" in fields:
            return f"{name} is missing"
    return None


def payload_problem(body: Mapping[str, Any]) -> str | None:
    """Why this payload is none bizbot handles or has fields of the wrong kind, or None."""
    problem = _ids_problem(body)
    if problem:
        return problem
    if "command" in body:
        return _missing(body, "command", "team_id", "user_id") or (
            None if str(body["command"]).startswith("/") else "a command that does not start with /")
    kind = body.get("type")
    if kind == "url_verification":
        return _missing(body, "challenge")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "an event without its type"
        if event["type"] in ("app_mention", "app_home_opened"):
            return _missing(body, "team_id") or _missing(event, "user") or _strings(event, "channel", "text", "tab")
        return None
    if kind in ("block_actions", "block_suggestion", "view_submission", "view_closed"):
        return _interaction_problem(kind, body)
    return f"a payload of a kind bizbot does not handle ({str(kind)[:40]!r})"


def _interaction_problem(kind: str, body: Mapping[str, Any]) -> str | None:
    if _id(body.get("user")) is None:
        return "an interaction without its user"
    view = body.get("view")
    if _id(body.get("team")) is None and not (isinstance(view, dict) and isinstance(view.get("team_id"), str)):
        return "an interaction without its workspace"
    problem = _strings(body, "trigger_id", "response_url", "value", "action_id")
    if problem:
        return problem
    if kind == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
            return "a button click without its action"
        return _missing(actions[0], "action_id", "value")
    if kind in ("view_submission", "view_closed"):
        if not isinstance(view, dict):
            return "a form without its view"
        state = view.get("state")
        if kind == "view_submission" and not (isinstance(state, dict) and isinstance(state.get("values"), dict)):
            return "a form without its values"
        return _strings(view, "private_metadata", "callback_id", "team_id")
    return None


def _ids_problem(body: Mapping[str, Any], depth: int = 0) -> str | None:
    for name in _IDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str | dict):
            return f"{name} is a JSON {type(value).__name__}"
        if isinstance(value, dict) and not isinstance(value.get("id"), str):
            return f"{name} without an id"
    for name in _OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"{name} is not an object"
    problem = _strings(body, "team_id", "user_id", "channel_id", "enterprise_id", "text", "trigger_id",
                       "response_url", "event_id", "type")
    if problem:
        return problem
    authorizations = body.get("authorizations")
    if authorizations is not None and not (isinstance(authorizations, list) and all(
            isinstance(a, dict) for a in authorizations)):
        return "authorizations are not a list of objects"
    urls = body.get("response_urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, dict) for u in urls)):
        return "response_urls are not a list of objects"
    if depth == 0:
        for nested in [body.get("event"), *(authorizations or [])[:1]]:
            if isinstance(nested, dict):
                problem = _ids_problem(nested, 1)
                if problem:
                    return problem
    return None


def _id(value: Any) -> str | None:
    """The id an `user` or `team` field gives (a string, or an object's id), if a non-empty string."""
    found = value.get("id") if isinstance(value, dict) else value
    return found if isinstance(found, str) and found else None


def _missing(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if not isinstance(body.get(name), str) or not body[name]:
            return f"{name} is missing"
    return None


def _strings(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} is not a string"
    return None
