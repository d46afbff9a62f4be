"""Slack end to end over HTTP: signed requests into the real server, a fake Slack Web API out."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from fakes.slack_fake import FakeSlack
from fakes.slack_payloads import (
    app_home_opened,
    app_mention,
    block_suggestion,
    event_callback,
    form_body,
    interactive_body,
    json_body,
    slash_command,
    view_submission,
)
from fakes.slack_stack import TOKEN, SlackStack, text_of
from sqlalchemy import func, select

from domain.store.models import CalendarDay, Customer, Identity, Member, Organisation, Visit


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.users["U1"] = {"real_name": "Wang", "locale": "en-US"}
        server.users["U2"] = {"real_name": "Alice", "locale": "en-US"}
        server.users["U3"] = {"real_name": "Li", "locale": "zh-CN"}
        yield server


@pytest.fixture
def slack(db_url: str, clock, fake: FakeSlack) -> Iterator[SlackStack]:
    stack = SlackStack(db_url, clock, fake)
    yield stack
    stack.close()


def _count(slack: SlackStack, model) -> int:
    with slack.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_health_and_readiness(slack: SlackStack) -> None:
    assert slack.http.get("/healthz").json() == {"status": "ok"}
    assert slack.http.get("/readyz").json()["status"] == "ready"


def test_first_user_is_welcomed_as_admin_and_command_runs(slack: SlackStack) -> None:
    message = slack.say("/customer", "new Acme industry=IT")
    assert message["response_type"] == "in_channel"
    assert "Customer Acme (C1) created" in message["text"]
    assert "first member" in text_of(message)
    with slack.app.uow() as uow:
        org = uow.session.scalar(select(Organisation).where(Organisation.platform == "slack"))
        member = uow.session.scalar(select(Member))
        assert (org.external_id, member.name, member.roles) == ("T1", "Wang", "admin,manager")


def test_private_replies_are_ephemeral_and_errors_translated(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    message = slack.say("/customer", "show Acme")
    assert message["response_type"] == "ephemeral" and "Acme (C1)" in text_of(message)
    message = slack.say("/lead", "stage L9 won")
    assert message["response_type"] == "ephemeral" and "No lead L9" in message["text"]


def test_stranger_gets_one_friendly_message_and_nothing_changes(slack: SlackStack) -> None:
    slack.say("/help")
    message = slack.say("/customer", "new Sneaky", user_id="U2")
    assert "not a member of this department yet" in message["text"]
    assert _count(slack, Customer) == 0 and _count(slack, Member) == 1


def test_member_locale_comes_from_slack_when_unset(slack: SlackStack) -> None:
    slack.say("/help")
    slack.say("/team", "add <@U3|li> role=sales")
    message = slack.say("/customer", "show Nowhere", user_id="U3")
    assert "Nowhere" in message["text"] and "No customer" not in message["text"]


def test_team_add_with_mention_links_the_account(slack: SlackStack) -> None:
    slack.say("/help")
    message = slack.say("/team", "add <@U2|alice> role=sales")
    assert "alice joined as sales." in message["text"]
    assert "alice is now linked to their Slack account." in message["text"]
    assert "Customer Bob Co (C1) created" in slack.say("/customer", 'new "Bob Co"', user_id="U2")["text"]
    with slack.app.uow() as uow:
        ident = uow.session.scalar(select(Identity).where(Identity.external_id == "U2"))
        assert uow.session.get(Member, ident.member_id).name == "alice"


def test_command_without_arguments_opens_a_form_and_field_errors_come_back(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    assert slack.command("/visit").status_code == 200
    (call,) = slack.fake.wait_for("views.open")
    view = call.args["view"]
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds["customer"] == "external_select" and kinds["next"] == "datepicker"
    assert kinds["channel"] == "static_select"
    bad = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                          state_values={"customer": {"customer": {"type": "external_select",
                                                                  "selected_option": {"value": "C9"}}},
                                        "channel": {"channel": {"type": "static_select",
                                                                "selected_option": {"value": "phone"}}}})
    response = slack.interact(bad)
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"customer": "No customer C9."}}
    good = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                           state_values={"customer": {"customer": {"type": "external_select",
                                                                   "selected_option": {"value": "C1"}}},
                                         "note": {"note": {"type": "plain_text_input", "value": "pricing"}},
                                         "next": {"next": {"type": "datepicker",
                                                           "selected_date": "2026-12-01"}}})
    response = slack.interact(good)
    assert response.status_code == 200 and not response.content.strip(b"{} ")
    posted = slack.fake.wait_for("chat.postMessage")
    assert "Visit V1 to Acme recorded" in posted[0].args["text"]
    assert _count(slack, Visit) == 1


def test_form_field_errors_are_per_field_and_change_nothing(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.command("/visit")
    (call,) = slack.fake.wait_for("views.open")
    view = call.args["view"]
    bad = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                          state_values={"note": {"note": {"type": "plain_text_input", "value": "x"}},
                                        "channel": {"channel": {"type": "static_select",
                                                                "selected_option": {"value": "pigeon"}}}})
    answer = slack.interact(bad).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"customer", "channel"}
    assert _count(slack, Visit) == 0


def test_group_without_arguments_offers_its_sub_commands_and_a_button_runs_one(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    menu = slack.say("/lead")
    buttons = [e for b in menu["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["value"] for b in buttons} >= {"/lead new", "/lead list"}
    assert slack.press(action_id=buttons[0]["action_id"], value="/lead list").status_code == 200
    (call,) = slack.fake.wait_for("response_url")
    assert "Leads (0)" in text_of(call.args)
    slack.press(action_id="bizbot.cmd.0", value="/lead new")
    (opened,) = slack.fake.wait_for("views.open")
    assert opened.args["view"]["title"]["text"] == "/lead new"


def test_holiday_form_has_date_pickers_and_a_reversed_span_is_a_field_error(slack: SlackStack) -> None:
    slack.say("/help")                                               # the first user: admin and manager
    assert slack.command("/holiday", "add").status_code == 200        # the sub-command alone opens its form
    (opened,) = slack.fake.wait_for("views.open")
    view = opened.args["view"]
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds == {"first": "datepicker", "last": "datepicker", "name": "plain_text_input"}

    def submit(first: str, last: str) -> httpx.Response:
        return slack.interact(view_submission(
            callback_id=view["callback_id"], private_metadata=view["private_metadata"],
            state_values={"first": {"first": {"type": "datepicker", "selected_date": first}},
                          "last": {"last": {"type": "datepicker", "selected_date": last}},
                          "name": {"name": {"type": "plain_text_input", "value": "春节"}}}))

    answer = submit("2027-02-12", "2027-02-06").json()
    assert answer == {"response_action": "errors",
                      "errors": {"first": "The end 2027-02-06 is before the start 2027-02-12."}}
    assert _count(slack, CalendarDay) == 0
    assert submit("2027-02-06", "2027-02-12").status_code == 200
    posted = slack.fake.wait_for("chat.postMessage")
    assert "Days off: Feb 6" in posted[0].args["text"] and "(春节)" in posted[0].args["text"]
    assert _count(slack, CalendarDay) == 7
    listing = slack.say("/holiday", "list 2027")
    assert listing["response_type"] == "ephemeral"
    assert "Working calendar 2027" in json.dumps(listing["blocks"], ensure_ascii=False)
    assert "(春节) — set by the department" in json.dumps(listing["blocks"], ensure_ascii=False)


def test_customer_picker_searches_what_the_member_sees(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme Beijing")
    slack.say("/customer", "new Acme Shanghai")
    slack.say("/customer", "new Zeta")
    response = slack.interact(block_suggestion(action_id="customer", block_id="customer", value="acme"))
    assert [o["value"] for o in response.json()["options"]] == ["C1", "C2"]


def test_reminder_goes_to_slack_and_done_settles_the_message(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="pricing" next=today')
    assert slack.deliver() == 1
    (post,) = slack.fake.wait_for("chat.postMessage")
    assert post.args["channel"] == "U1" and post.token == TOKEN
    assert "Callback due" in post.args["text"]
    done = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]
                if json.loads(e["value"]).get("decision") if e["value"].startswith("{"))
    press = slack.button(action_id=done["action_id"], value=done["value"], message_ts="1700000000.000200")
    press["message"]["text"] = post.args["text"]
    slack.interact(press)
    (opened,) = slack.fake.wait_for("views.open")
    view = opened.args["view"]
    submit = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                             state_values={"callback": {"callback": {"type": "plain_text_input",
                                                                     "value": "CB2"}},
                                           "result": {"result": {"type": "plain_text_input",
                                                                 "value": "wants a quote"}}})
    assert slack.interact(submit).status_code == 200
    (update,) = slack.fake.wait_for("chat.update")
    assert update.args["ts"] == "1700000000.000200"
    assert all(b["type"] != "actions" for b in update.args["blocks"])
    assert "Callback CB2 with Acme recorded" in text_of(update.args)
    assert "Callback due" in text_of(update.args)


def test_rate_limited_delivery_is_retried_after_retry_after(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="x" next=today')
    slack.fake.rate_limit("chat.postMessage", times=1, retry_after=30)
    assert slack.deliver() == 0
    slack.app.clock.advance(__import__("datetime").timedelta(seconds=31))
    assert slack.deliver() == 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 2


def test_home_tab_lists_due_items(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="x" next=2026-12-01')
    assert slack.event(event_callback(app_home_opened("U1"))).status_code == 200
    (call,) = slack.fake.wait_for("views.publish")
    home = text_of(call.args["view"])
    assert call.args["view"]["type"] == "home" and "Callbacks due" in home and "CB2" in home


def test_retried_event_is_processed_once(slack: SlackStack) -> None:
    slack.say("/help")
    payload = event_callback(app_mention("U1", "<@UBOT> team list"), event_id="Ev123")
    assert slack.event(payload).status_code == 200
    assert slack.event(payload, extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                       ).status_code == 200
    slack.fake.wait_for("chat.postEphemeral")
    time.sleep(0.2)  # a second (wrong) answer would arrive within this window; none may
    assert len(slack.fake.calls_to("chat.postEphemeral")) == 1


@pytest.mark.parametrize("case", ["wrong secret", "stale", "unsigned"])
def test_forged_or_stale_requests_get_401_and_change_nothing(slack: SlackStack, case: str) -> None:
    body = form_body(slash_command(command="/customer", text="new Forged"))
    if case == "wrong secret":
        response = slack.post(body, secret="not-the-secret")
    elif case == "stale":
        response = slack.post(body, timestamp=int(time.time()) - 6 * 60)
    else:
        response = slack.http.post("/slack/events", content=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401
    assert _count(slack, Customer) == 0 and _count(slack, Member) == 0


def test_typed_mentions_never_ping(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    slack.say("/visit", 'Acme note="<!channel> & <@U2> <!here>"')
    shown = text_of(slack.say("/customer", "show Acme"))
    assert "<!channel>" not in shown and "<!here>" not in shown and "<@U2>" not in shown
    assert "&lt;!channel&gt; &amp; Alice &lt;!here&gt;" in shown


def test_long_lists_paginate_and_next_shows_the_next_page(slack: SlackStack) -> None:
    slack.say("/help")
    for i in range(120):
        slack.say("/customer", f'new "Customer number {i:03d} with a rather long name for paging"')
    first = slack.say("/customer", "list")
    assert len(first["blocks"]) <= 50
    nav = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
           if e["action_id"] == "bizbot.page"]
    assert nav and json.loads(nav[-1]["value"]) == {"line": "/customer list", "page": 1}
    slack.press(action_id="bizbot.page", value=nav[-1]["value"])
    (call,) = slack.fake.wait_for("response_url")
    assert call.args["replace_original"] is True
    assert "Customer number" in text_of(call.args) and text_of(call.args) != text_of(first)


def test_second_workspace_is_its_own_department(slack: SlackStack) -> None:
    slack.say("/customer", "new Acme")
    message = slack.say("/customer", "list", team_id="T2", user_id="U9")
    assert "Customers (0)" in text_of(message)
    with slack.app.uow() as uow:
        orgs = sorted(o.external_id for o in uow.session.scalars(select(Organisation)))
        admins = list(uow.session.scalars(select(Member).where(Member.roles == "admin,manager")))
    assert orgs == ["T1", "T2"] and len(admins) == 2


def test_slow_work_is_acked_in_time_and_answered_later(slack: SlackStack, monkeypatch) -> None:
    import bot.slack.app as slack_app

    slack.say("/help")
    monkeypatch.setattr(slack_app, "ACK_BUDGET", 0.05)
    slack.fake.delay(1.0)  # users.info (and all of Slack) is slow now: the work cannot finish in budget
    slack.fake.users["U2"] = {"real_name": "New"}
    response = slack.command("/customer", "list", user_id="U2", settle=False)
    assert response.status_code == 200 and response.json() == {"response_type": "ephemeral", "text": "…"}
    # Slack had its answer while the work was still going on (users.info takes a second now)
    assert not slack.fake.calls_to("response_url")
    (call,) = slack.fake.wait_for("response_url")
    assert "not a member" in call.args["text"]


def test_a_command_waiting_on_a_locked_database_is_acked_in_time_and_answered_once(slack: SlackStack,
                                                                                   monkeypatch) -> None:
    """The usual command (arguments, a known caller) waits within the ack budget on the database alone."""
    import bot.slack.app as slack_app

    slack.say("/customer", "new Acme")
    monkeypatch.setattr(slack_app, "ACK_BUDGET", 0.2)
    holder = slack.app.engine.raw_connection()  # another writer holds the database: visits cannot be written
    try:
        holder.cursor().execute("BEGIN IMMEDIATE" if slack.app.engine.dialect.name == "sqlite"
                                else "LOCK TABLE visits IN EXCLUSIVE MODE")
        response = slack.command("/visit", 'Acme note="waited"', settle=False)
        assert response.status_code == 200 and response.json() == {"response_type": "ephemeral", "text": "…"}
        assert not slack.fake.calls_to("response_url") and _count(slack, Visit) == 0
    finally:
        holder.rollback()
        holder.close()
    (call,) = slack.fake.wait_for("response_url")
    assert "Visit V1 to Acme recorded" in call.args["text"]
    assert slack.asgi.state.slack.wait_idle(10) and _count(slack, Visit) == 1
    assert "Visit V2" in text_of(slack.say("/visit", 'Acme note="in time"'))  # the next one runs as usual


def test_buttons_and_events_are_acked_before_their_work(slack: SlackStack) -> None:
    """Bolt answers Slack when the listener returns; work that may be slow goes on after that."""
    slack.say("/help")
    slack.fake.delay(1.0)  # every Web API call takes a second now
    response = slack.post(interactive_body(slack.button(action_id="bizbot.cmd.0", value="/help")), settle=False)
    assert response.status_code == 200 and not slack.fake.calls_to("response_url")
    home = slack.post(json_body(event_callback(app_home_opened())), content_type="application/json", settle=False)
    assert home.status_code == 200 and not slack.fake.calls_to("views.publish")
    assert slack.asgi.state.slack.wait_idle(10)
    slack.fake.delay(0)
    assert slack.fake.calls_to("response_url") and slack.fake.calls_to("views.publish")


def test_slow_form_closes_in_time_and_its_problems_come_as_a_message(slack: SlackStack, monkeypatch) -> None:
    import bot.slack.app as slack_app

    slack.say("/customer", "new Acme")
    slack.command("/visit")
    (call,) = slack.fake.wait_for("views.open")
    view = call.args["view"]
    monkeypatch.setattr(slack_app, "ACK_BUDGET", 0)  # no time at all: the form is never judged within budget
    bad = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                          state_values={"customer": {"customer": {"type": "external_select",
                                                                  "selected_option": {"value": "C9"}}},
                                        "note": {"note": {"type": "plain_text_input", "value": "x"}}})
    response = slack.interact(bad)
    assert response.status_code == 200 and not response.content.strip(b"{} ")  # the form closes
    (told,) = slack.fake.calls_to("chat.postEphemeral")
    assert told.args["user"] == "U1" and "No customer C9." in told.args["text"]
    assert _count(slack, Visit) == 0
    # someone who is not a member gets the one friendly message on how to be added, and nothing is written
    stranger = view_submission(callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                               user_id="U9", state_values=bad["view"]["state"]["values"])
    assert slack.interact(stranger).status_code == 200
    told = slack.fake.calls_to("chat.postEphemeral")[-1]
    assert told.args["user"] == "U9" and "not a member of this department" in told.args["text"]
    assert _count(slack, Visit) == 0


def test_mention_without_a_name_is_looked_up(slack: SlackStack) -> None:
    slack.say("/help")
    message = slack.say("/team", "add <@U2> role=sales")
    assert "Alice joined as sales." in message["text"]
    assert "Customer Zed (C1) created" in slack.say("/customer", "new Zed", user_id="U2")["text"]


def test_oauth_install_then_commands_use_the_installed_token(db_url: str, clock, fake: FakeSlack) -> None:
    import re
    from urllib.parse import parse_qs, urlparse

    fake.team_id, fake.team_name = "T7", "Seventh"
    stack = SlackStack(db_url, clock, fake, slack_bot_token=None, slack_client_id="111.222",
                       slack_client_secret="oauth-secret")
    try:
        page = stack.http.get("/slack/install")
        assert page.status_code == 200
        authorize = re.search(r'https://slack\.com/oauth/v2/authorize\?[^"\']+', page.text).group(0)
        state = parse_qs(urlparse(authorize.replace("&amp;", "&")).query)["state"][0]
        cookie = page.headers["set-cookie"].split(";", 1)[0]  # a Secure cookie: httpx won't replay it on http
        done = stack.http.get("/slack/oauth_redirect", params={"code": "c0de", "state": state},
                              headers={"Cookie": cookie})
        assert done.status_code == 200, done.text
        (exchange,) = fake.calls_to("oauth.v2.access")
        assert exchange.args["code"] == "c0de"
        assert stack.http.get("/slack/oauth_redirect", params={"code": "c0de", "state": state}
                              ).status_code != 200  # a state is good once
        message = stack.say("/customer", "new Acme", team_id="T7", user_id="U1")
        assert "Customer Acme (C1) created" in message["text"]
        installed_token = fake.calls_to("users.info")[-1].token
        assert installed_token and installed_token.startswith("xoxb-")
    finally:
        stack.close()


def test_appraisal_approved_by_button_settles_the_message_and_tells_the_member(slack: SlackStack, clock) -> None:
    from datetime import timedelta

    slack.say("/help")
    slack.say("/team", "add <@U2|bob> role=sales")
    slack.say("/team", "add <@U3|hu> role=head lang=en")              # who approves what Wang scores
    slack.deliver()                                                    # the worker schedules the org's jobs
    clock.advance(timedelta(days=7))                                   # Monday 30 November: the window opens
    slack.deliver()
    prompt = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "U2"][-1]
    assert "Your 2026-11 self-review is open until Dec 7, 2026" in prompt.args["text"]  # the 5th: a Saturday
    for n in range(1, 6):
        slack.say("/review", f"self {n} 80", user_id="U2")
    assert "self-review is submitted" in slack.say("/review", "submit", user_id="U2")["text"]
    for n in range(1, 6):
        slack.say("/review", f"score bob {n} 70")
    slack.say("/review", "send bob")
    slack.deliver()
    clock.advance(timedelta(seconds=2))                                # Slack's one message a second per channel
    slack.deliver()
    assert not [c for c in slack.fake.calls_to("chat.postMessage")
                if c.args["channel"] == "U1" and "scored bob's" in c.args["text"]]  # not asked: Wang scored it
    ask = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "U3"][-1]
    assert "scored bob's 2026-11 review: 70" in ask.args["text"]
    approve = next(e for b in ask.args["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["value"].startswith("{") and "review approve" in json.loads(e["value"])["line"])
    press = slack.button(action_id=approve["action_id"], value=approve["value"], message_ts="1700000000.000300",
                         user_id="U3")
    press["message"]["text"] = ask.args["text"]
    slack.interact(press)
    (update,) = slack.fake.wait_for("chat.update")
    assert all(b["type"] != "actions" for b in update.args["blocks"])
    assert "bob's 2026-11 review is approved" in text_of(update.args)
    clock.advance(timedelta(seconds=2))
    slack.deliver()
    result = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "U2"][-1]
    assert "Your 2026-11 review is final: weighted total 70" in result.args["text"]


def test_risk_and_the_access_log_in_slack(slack: SlackStack) -> None:
    """/risk set's form has the levels as a select; raising a customer to red warns the supervisor by direct
    message; the access log is refused to a sales member, ephemerally."""
    slack.say("/help")                                                            # U1 Wang: admin and manager
    slack.say("/team", "add <@U2|alice> role=sales supervisor=Wang")
    slack.say("/customer", "new Acme", user_id="U2")
    assert slack.command("/risk", "set", user_id="U2").status_code == 200          # alone: its form
    (opened,) = slack.fake.wait_for("views.open")
    level = next(b for b in opened.args["view"]["blocks"] if b["block_id"] == "level")
    assert [o["value"] for o in level["element"]["options"]] == ["high", "medium", "low", "unassessed"]
    answer = slack.say("/risk", 'set Acme high reason="two invoices overdue"', user_id="U2")
    assert "🔴 high (red)" in answer["text"] and "Warned: Wang." in answer["text"]
    slack.deliver()
    warning = [c for c in slack.fake.calls_to("chat.postMessage") if "Risk warning" in c.args["text"]]
    assert [c.args["channel"] for c in warning] == ["U1"]
    refused = slack.say("/audit", "", user_id="U2")
    assert refused["response_type"] == "ephemeral" and "may use /audit" in refused["text"]
    assert "Access log: C1 (2)" in slack.say("/audit", "C1")["text"]
