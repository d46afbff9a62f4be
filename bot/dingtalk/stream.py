"""Stream mode: dingtalk-stream's client, on a thread and an event loop of its own, so that DingTalk being
unreachable (the SDK's own waits and retries) never holds up the server or the other platforms. Robot
messages and card callbacks go to the adapter on the server's loop; each is acknowledged once handled, and
one whose handling failed for a reason that may pass is not acknowledged, so DingTalk delivers it again."""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

import httpx
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotMessage, Credential, DingTalkStreamClient
from dingtalk_stream.frames import CallbackMessage

from bot.dingtalk.api import OPEN_API
from bot.dingtalk.app import DingTalkAdapter

log = logging.getLogger(__name__)


class Client(DingTalkStreamClient):
    """The SDK's client, opening its connection at DINGTALK_API_URL (when set) with a bounded wait."""

    def __init__(self, credential: Credential, base: str) -> None:
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream"))
        self.base = base

    def open_connection(self) -> Any:
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        try:
            response = httpx.post(f"{self.base}/v1.0/gateway/connections/open", timeout=10, json={
                "clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": "bizbot", "localIp": ""})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("dingtalk stream: could not open a connection (%s)", type(exc).__name__)
            return None


class Forward(CallbackHandler):
    """Hands a callback to the adapter on the server's loop and acknowledges it once handled."""

    def __init__(self, stream: Stream, kind: str) -> None:
        super().__init__()
        self.stream = stream
        self.kind = kind

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        once = f"stream:{message.headers.message_id}"
        handled = await self.stream.run(self.kind, message.data, once)
        if handled:
            return AckMessage.STATUS_OK, "OK"
        return AckMessage.STATUS_SYSTEM_EXCEPTION, "retry"


class Stream:
    def __init__(self, adapter: DingTalkAdapter) -> None:
        settings = adapter.settings
        assert settings.dingtalk_client_id and settings.dingtalk_client_secret is not None
        self.adapter = adapter
        self.client = Client(Credential(settings.dingtalk_client_id,
                                        settings.dingtalk_client_secret.get_secret_value()),
                             settings.dingtalk_api_url or OPEN_API)
        self.client.register_callback_handler(ChatbotMessage.TOPIC, Forward(self, "message"))
        self.client.register_callback_handler(CallbackHandler.TOPIC_CARD_CALLBACK, Forward(self, "card"))
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._thread: threading.Thread | None = None

    async def run(self, kind: str, data: dict[str, Any], once: str) -> bool:
        assert self._server_loop is not None
        if kind == "message":
            work = self.adapter.on_message(data, f"msg:{data.get('msgId') or once}")
        else:
            work = self.adapter.on_card(data, once)
        future: Future[bool] = asyncio.run_coroutine_threadsafe(work, self._server_loop)
        return await asyncio.wrap_future(future)

    @property
    def connected(self) -> bool:
        socket = self.client.websocket
        return socket is not None and getattr(getattr(socket, "state", None), "name", "") == "OPEN"

    def start(self) -> None:
        self._server_loop = asyncio.get_running_loop()
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._task = loop.create_task(self.client.start())
            ready.set()
            try:
                loop.run_until_complete(self._task)
            except BaseException:  # cancelled at shutdown, or the SDK gave up: the server goes on
                pass
            finally:
                left = asyncio.all_tasks(loop)  # the SDK's keepalive and frames in hand go with the loop
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=main, name="bizbot-dingtalk-stream", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        loop, task = self._loop, self._task
        if loop is None or task is None or self._thread is None:
            return
        for _ in range(20):  # the SDK catches a cancellation to reconnect: cancel until it stops
            if not self._thread.is_alive():
                break
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                break
            self._thread.join(0.1)
