"""/readyz: the database's state within a bounded time, who leads the scheduler and when it last swept, and the
state of each platform connection."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fakes.server_thread import AppStack
from fakes.slack_fake import FakeSlack
from fakes.slack_socket_fake import FakeSocketMode
from fakes.slack_stack import SlackStack
from fakes.tcp_proxy import proxy_to
from fakes.telegram_fake import FakeTelegram
from fakes.telegram_stack import TOKEN as TELEGRAM_TOKEN
from fakes.telegram_stack import TelegramStack

from bot.server import READY_TIMEOUT
from domain.kernel.clock import FakeClock


@pytest.fixture
def slack_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def telegram_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TELEGRAM_TOKEN) as server:
        yield server


def test_readiness_shows_who_leads_and_when_it_last_swept(db_url: str, clock: FakeClock,
                                                          slack_fake: FakeSlack) -> None:
    stack = SlackStack(db_url, clock, slack_fake)
    try:
        response = stack.http.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready" and body["database"] == {"ok": True}
        replica = body["scheduler"]["replica"]
        assert body["scheduler"] | {"replica": None} == {
            "running": False, "replica": None, "leader": False, "holder": None, "leader_since": None,
            "lease_expires_at": None, "last_sweep_at": None, "last_heartbeat_at": None, "last_tick_at": None,
            "lease_seconds": 30.0, "error": None}
        assert body["platforms"] == {"slack": {"mode": "http"}}

        stack.deliver()  # one tick of the scheduler and the dispatcher
        now = clock.now().isoformat()
        scheduler = stack.http.get("/readyz").json()["scheduler"]
        assert scheduler["leader"] is True and scheduler["holder"] == replica
        assert scheduler["leader_since"] == scheduler["last_sweep_at"] == scheduler["last_tick_at"] == now
        assert scheduler["last_heartbeat_at"] == now
        assert scheduler["lease_expires_at"] == clock.now().replace(second=30).isoformat()
    finally:
        stack.close()


def test_readiness_shows_the_telegram_connection(db_url: str, clock: FakeClock, telegram_fake: FakeTelegram) -> None:
    webhook = TelegramStack(db_url, clock, telegram_fake)
    try:
        assert webhook.http.get("/readyz").json()["platforms"] == {"telegram": {"mode": "webhook", "running": True}}
    finally:
        webhook.close()
    polling = TelegramStack(db_url, clock, telegram_fake, telegram_webhook_url=None, telegram_webhook_secret=None)
    try:
        assert polling.http.get("/readyz").json()["platforms"] == {
            "telegram": {"mode": "polling", "running": True, "polling": True}}
    finally:
        polling.close()


def test_readiness_shows_the_socket_mode_connection(db_url: str, clock: FakeClock, slack_fake: FakeSlack) -> None:
    with FakeSocketMode() as socket_mode:
        slack_fake.socket_url = socket_mode.url
        stack = SlackStack(db_url, clock, slack_fake, slack_app_token="xapp-1-A1-test-app-token")
        try:
            socket_mode.wait_connected()
            assert stack.http.get("/readyz").json()["platforms"] == {"slack": {"mode": "socket", "connected": True}}
        finally:
            stack.close()


def test_readiness_answers_in_bounded_time_when_the_database_is_silent(db_url: str, clock: FakeClock) -> None:
    """The network to the database drops without a word: /readyz says so within its bound (measured here in
    real time, as it is the thing under test), and ready again once the network is back."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a network between bizbot and its database")
    with proxy_to(db_url) as proxy:
        stack = AppStack(proxy.url_for(db_url), clock)
        try:
            assert stack.http.get("/readyz").status_code == 200
            proxy.blackhole()
            answers = []
            for _ in range(2):
                started = time.monotonic()
                response = stack.http.get("/readyz")
                answers.append((time.monotonic() - started, response))
            for took, response in answers:
                assert response.status_code == 503 and READY_TIMEOUT <= took < READY_TIMEOUT + 1
                body = response.json()
                assert body["status"] == "unavailable" and body["reason"] == "timeout"
                assert body["database"]["ok"] is False and body["scheduler"]["replica"]
            # the second check waited on the same read as the first: how long the database has been silent
            assert answers[1][1].json()["database"]["waiting_seconds"] >= 2 * READY_TIMEOUT - 0.2
            proxy.restore()
            assert stack.http.get("/readyz").status_code == 200
        finally:
            stack.close()
