"""Whatever reaches /slack/events or /telegram/webhook, bizbot answers it without a 500: a body that is no
request of the platform gets a 4xx (or, for an update Telegram would otherwise deliver forever, a handled 200)
and one line in the log, never a traceback; a body over the limit is refused (413) before it is read."""
from __future__ import annotations

import copy
import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import (
    FORM,
    JSON,
    app_mention,
    block_actions,
    block_suggestion,
    event_callback,
    form_body,
    interactive_body,
    json_body,
    signed_headers,
    slash_command,
    view_submission,
)
from fakes.slack_stack import SECRET, SlackStack
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_payloads import (
    callback_update,
    command_update,
    my_chat_member_update,
    text_update,
)
from fakes.telegram_stack import SECRET as TG_SECRET
from fakes.telegram_stack import TOKEN as TG_TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.webhooks import MAX_BODY
from domain.store.models import Customer, InboundEvent, Member

TG_HEADERS = {"Content-Type": JSON, "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


@pytest.fixture
def stack(db_url: str, clock) -> Iterator[SlackStack]:
    """One bizbot serving Slack and Telegram, each against its fake."""
    with FakeSlack() as slack_fake, FakeTelegram(token=TG_TOKEN) as tg_fake:
        slack_fake.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        serving = SlackStack(db_url, clock, slack_fake, telegram_bot_token=TG_TOKEN,
                             telegram_api_url=tg_fake.root,
                             telegram_webhook_url="https://bizbot.example.com/telegram/webhook",
                             telegram_webhook_secret=TG_SECRET)
        yield serving
        serving.close()


def logged(caplog: pytest.LogCaptureFixture, call: Callable[[], httpx.Response]) -> tuple[int, list[str]]:
    """The status `call` got, and the lines (warning or worse) bizbot logged for it; none may carry a
    traceback."""
    caplog.clear()
    status = call().status_code
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in records if r.exc_info], [r.getMessage() for r in records]
    return status, [r.getMessage() for r in records]


def count(stack: SlackStack, model) -> int:
    with stack.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def unsigned(stack: SlackStack, body: bytes, content_type: str = JSON, **headers: str) -> httpx.Response:
    return stack.http.post("/slack/events", content=body, headers={"Content-Type": content_type, **headers})


def signed(stack: SlackStack, body: bytes, content_type: str = FORM) -> httpx.Response:
    return stack.http.post("/slack/events", content=body,
                           headers=signed_headers(body, SECRET, content_type=content_type))


def without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    place = payload
    for key in path[:-1]:
        place = place[key]
    del place[path[-1]]
    return payload


SLACK_CASES: dict[str, Callable[[SlackStack], httpx.Response]] = {
    "a JSON array": lambda s: unsigned(s, b"[]"),
    "JSON null": lambda s: unsigned(s, b"null"),
    "a JSON string, signed": lambda s: signed(s, b'"hello"', JSON),
    "payload=[]": lambda s: unsigned(s, b"payload=[]", FORM),
    "payload=[], signed": lambda s: signed(s, b"payload=%5B%5D"),
    "payload that is no JSON": lambda s: unsigned(s, b"payload={oops", FORM),
    "not UTF-8": lambda s: unsigned(s, b"\xff\xfe{", FORM),
    "a timestamp that is no number": lambda s: unsigned(
        s, form_body(slash_command(command="/customer", text="list")), FORM,
        **{"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "0" * 64}),
    "a team that is a number": lambda s: unsigned(s, b'{"type": "event_callback", "team": 5}'),
    "nested 5,000 deep": lambda s: unsigned(s, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "a signed command without its team": lambda s: signed(
        s, form_body(without(slash_command(command="/customer", text="new Forged"), "team_id"))),
    "a signed command without its user": lambda s: signed(
        s, form_body(without(slash_command(command="/customer", text="new Forged"), "user_id"))),
    "a signed button click without its user": lambda s: signed(
        s, interactive_body(without(block_actions(action_id="bizbot.cmd.0", value="/customer list"), "user"))),
    "a signed button click without its team": lambda s: signed(
        s, interactive_body(without(block_actions(action_id="bizbot.cmd.0", value="/customer list"), "team"))),
    "a signed form without its user": lambda s: signed(
        s, interactive_body(without(view_submission(callback_id="bizbot.form"), "user"))),
    "a signed mention without its user": lambda s: signed(
        s, json_body(event_callback(without(app_mention(text="<@UBOT> customer list"), "user"))), JSON),
}


@pytest.mark.parametrize("case", list(SLACK_CASES))
def test_junk_to_slack_gets_a_4xx_and_one_line(stack: SlackStack, caplog: pytest.LogCaptureFixture,
                                               case: str) -> None:
    status, lines = logged(caplog, lambda: SLACK_CASES[case](stack))
    assert 400 <= status < 500, (status, lines)
    assert len(lines) == 1, lines
    assert stack.asgi.state.slack.wait_idle(10)
    assert count(stack, Member) == 0 and count(stack, Customer) == 0


def tg_post(stack: SlackStack, body: bytes, headers: dict[str, str] = TG_HEADERS) -> httpx.Response:
    return stack.http.post("/telegram/webhook", content=body, headers=headers)


def string_date() -> bytes:
    update = command_update(text="/customer new Forged")
    update["message"]["date"] = "yesterday"
    return json_body(update)


TELEGRAM_CASES: dict[str, tuple[Callable[[], bytes], int]] = {
    "a JSON array": (lambda: b"[]", 400),
    "a JSON string": (lambda: b'"update"', 400),
    "JSON null": (lambda: b"null", 400),
    "no JSON": (lambda: b"{update", 400),
    "no update_id": (lambda: json_body(without(command_update(text="/help"), "update_id")), 400),
    "an update_id that is a string": (lambda: b'{"update_id": "7"}', 400),
    "nested 5,000 deep": (lambda: b'{"update_id": 7, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
    # Telegram would deliver an update it sent forever if refused: read or not, it is answered 200
    "a date that is a string": (string_date, 200),
}


@pytest.mark.parametrize("case", list(TELEGRAM_CASES))
def test_junk_to_telegram_gets_an_answer_and_one_line(stack: SlackStack, caplog: pytest.LogCaptureFixture,
                                                     case: str) -> None:
    body, expected = TELEGRAM_CASES[case]
    status, lines = logged(caplog, lambda: tg_post(stack, body()))
    assert status == expected and len(lines) == 1, (status, lines)
    assert count(stack, Member) == 0 and count(stack, Customer) == 0 and count(stack, InboundEvent) == 0


def test_telegram_junk_without_the_secret_is_refused_first(stack: SlackStack) -> None:
    assert tg_post(stack, b"[]", {"Content-Type": JSON}).status_code == 403


def _raw(stack: SlackStack, head: bytes, chunks: Iterator[bytes] = iter(())) -> bytes:
    """Send a request byte by byte as given and return the start of what the server answers."""
    where = urlsplit(stack.url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as conn:
        conn.sendall(head)
        try:
            for chunk in chunks:
                conn.sendall(chunk)
        except OSError:  # the server answered and closed while more was on its way
            pass
        return conn.recv(200)


@pytest.mark.parametrize("path", ["/telegram/webhook", "/slack/events"])
def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read(stack: SlackStack, path: str) -> None:
    head = (f"POST {path} HTTP/1.1\r\nHost: bizbot\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()
    assert _raw(stack, head).startswith(b"HTTP/1.1 413")  # not one byte of the body was sent


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(stack: SlackStack) -> None:
    head = (b"POST /telegram/webhook HTTP/1.1\r\nHost: bizbot\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + TG_SECRET.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * 65536
    chunks = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(MAX_BODY // len(piece) + 4))
    assert _raw(stack, head, chunks).startswith(b"HTTP/1.1 413")


def test_a_chunked_update_within_the_limit_is_handled(stack: SlackStack) -> None:
    body = json_body(command_update(text="/help"))

    def pieces() -> Iterator[bytes]:
        yield body[:10]
        yield body[10:]

    response = stack.http.post("/telegram/webhook", content=pieces(), headers=TG_HEADERS)
    assert response.status_code == 200 and count(stack, InboundEvent) == 1


# --- any JSON-ish body, to either door ---------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                          max_size=4),
                      max_leaves=12)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [(*prefix, k), *_paths(v, (*prefix, k))]]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in [(*prefix, i), *_paths(v, (*prefix, i))]]
    return []


@st.composite
def mutated(draw: st.DrawFn, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A real payload with a few of its fields taken away or given any other value."""
    payload = make()
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        place = payload
        for key in path[:-1]:
            place = place[key]
        if draw(st.booleans()):
            del place[path[-1]]
        else:
            place[path[-1]] = draw(VALUES)
    return payload


SLACK_PAYLOADS = [
    lambda: block_actions(action_id="bizbot.cmd.0", value="/customer list"),
    lambda: view_submission(callback_id="bizbot.form", private_metadata='{"cmd": "visit"}'),
    lambda: block_suggestion(action_id="customer", value="ac"),
    lambda: event_callback(app_mention(text="<@UBOT> customer list")),
]
TELEGRAM_UPDATES = [
    lambda: command_update(text="/customer list"),
    lambda: text_update(text="Acme"),
    lambda: callback_update(data="c:/help"),
    lambda: my_chat_member_update(),
]


@st.composite
def slack_requests(draw: st.DrawFn) -> tuple[bytes, str, bool]:
    """A body, its content type, and whether to sign it."""
    kind = draw(st.sampled_from(["json", "payload", "command", "mutated"]))
    if kind == "json":
        body, content_type = json.dumps(draw(VALUES)).encode(), JSON
    elif kind == "payload":
        body, content_type = form_body({"payload": json.dumps(draw(VALUES))}), FORM
    elif kind == "command":
        fields = draw(mutated(lambda: slash_command(command="/customer", text="list")))
        body, content_type = form_body({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}), FORM
    else:
        payload = draw(mutated(draw(st.sampled_from(SLACK_PAYLOADS))))
        if payload.get("type") == "event_callback":
            body, content_type = json_body(payload), JSON
        else:
            body, content_type = interactive_body(payload), FORM
    return body, content_type, draw(st.booleans())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(request=slack_requests())
def test_any_body_to_slack_is_answered_below_500(stack: SlackStack, request: tuple[bytes, str, bool]) -> None:
    body, content_type, sign = request
    response = signed(stack, body, content_type) if sign else unsigned(stack, body, content_type)
    assert response.status_code < 500, (response.status_code, body[:300])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(body=st.one_of(VALUES.map(json.dumps),
                      st.sampled_from(TELEGRAM_UPDATES).flatmap(mutated).map(json.dumps)))
def test_any_body_to_telegram_is_answered_below_500(stack: SlackStack, body: str) -> None:
    response = tg_post(stack, body.encode())
    assert response.status_code < 500, (response.status_code, body[:300])
