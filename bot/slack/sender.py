"""Delivers outbox messages to Slack: a direct message to the member, or a post in a channel."""
from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.delivery import DeliveryError, Outgoing, Posted
from bot.ratelimit import Limit
from bot.settings import Settings
from bot.slack.app import to_slack
from bot.slack.oauth import installation_store
from domain.kernel.i18n import use_locale
from handlers.replies import Button, Reply

log = logging.getLogger(__name__)


class SlackSender:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self._store = None
        if settings.slack_client_id:
            self._store = installation_store(settings, engine)
        # one Web API client per workspace token, kept for the life of the process and shared by the send
        # threads (a WebClient holds no per-call state)
        self._clients: dict[tuple[str, int], WebClient] = {}
        self._lock = threading.Lock()

    def client(self, token: str, timeout: int = 10) -> WebClient:
        with self._lock:
            found = self._clients.get((token, timeout))
            if found is None:
                found = self._clients[(token, timeout)] = WebClient(
                    token=token, base_url=self.settings.slack_api_url, timeout=timeout)
            return found

    def token_for(self, team_id: str) -> str | None:
        if self._store is not None:
            bot = self._store.find_bot(enterprise_id=None, team_id=team_id)
            return bot.bot_token if bot else None
        token = self.settings.slack_bot_token
        return token.get_secret_value() if token else None

    def limits(self, message: Outgoing) -> list[Limit]:
        """Slack allows about one message per second per channel."""
        return [Limit(f"slack:{message.org.external_id}:{message.channel or message.address}", 1, 1.0)]

    def send(self, message: Outgoing) -> Posted | None:
        if message.attachment is not None:
            self.send_with_file(message)
            return None  # a shared file is not a message chat.update can revise
        channel = message.channel or message.address
        if not channel:
            raise DeliveryError("recipient has no Slack account linked")
        client, text, blocks = self._prepare(message)
        try:
            response = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            raise _delivery_error(exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        return Posted(str(response.get("channel") or channel), str(response.get("ts")))

    def _prepare(self, message: Outgoing) -> tuple[WebClient, str, list[dict[str, Any]]]:
        """A Web API client with the workspace's token, and the message as Block Kit in its reader's language."""
        token = self.token_for(message.org.external_id)
        if not token:
            raise DeliveryError(f"no bot token for workspace {message.org.external_id}")
        reply = Reply(text=message.text,
                      buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])
        with use_locale(message.locale):
            text, blocks = to_slack(reply)
        return self.client(token), text, blocks

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """Revise a message sent earlier (chat.update): its new text, and only the buttons still valid."""
        client, text, blocks = self._prepare(message)
        try:
            client.chat_update(channel=posted.chat, ts=posted.ref, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.get("error") in ("message_not_found", "cant_update_message", "channel_not_found"):
                log.info("slack message %s/%s can no longer be edited", posted.chat, posted.ref)
                return
            raise _delivery_error(exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from None

    def send_with_file(self, message: Outgoing) -> None:
        """A message with a file (a chart): uploaded and shared with the text as its comment, the way
        files_upload_v2 does it (files.getUploadURLExternal, the upload, files.completeUploadExternal)."""
        assert message.attachment is not None
        channel = message.channel or message.address
        if not channel:
            raise DeliveryError("recipient has no Slack account linked")
        token = self.token_for(message.org.external_id)
        if not token:
            raise DeliveryError(f"no bot token for workspace {message.org.external_id}")
        with use_locale(message.locale):
            text, _blocks = to_slack(Reply(text=message.text))
        client = self.client(token, timeout=30)
        try:
            if channel.startswith(("U", "W")):
                # files.completeUploadExternal takes channel ids only (C, G, D, Z): a member's direct
                # message is opened (or found) first; chat.postMessage would take the user id itself
                channel = client.conversations_open(users=channel)["channel"]["id"]
            client.files_upload_v2(channel=channel, file=message.attachment.data,
                                   filename=message.attachment.filename, title=message.attachment.filename,
                                   initial_comment=text)
        except SlackApiError as exc:
            raise _delivery_error(exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from None


def _delivery_error(exc: SlackApiError) -> DeliveryError:
    """Slack's refusal as a DeliveryError, honouring Retry-After on a 429."""
    retry_after = exc.response.headers.get("Retry-After") if exc.response.status_code == 429 else None
    return DeliveryError(str(exc.response.get("error")), float(retry_after) if retry_after else None)
