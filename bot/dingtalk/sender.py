"""Delivers outbox messages through DingTalk's Open API: to a member in a private chat (by staffId) or to a
group (by openConversationId); a message with buttons as an interactive card, which a revision updates."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from bot.delivery import DeliveryError, Outgoing, Posted
from bot.dingtalk import render
from bot.dingtalk.api import OpenApi
from bot.ratelimit import Limit
from bot.settings import Settings
from domain.kernel.i18n import use_locale
from handlers.replies import Button, Reply

# the Open API's robot calls allow about 20 a second for an app; a group takes about 20 messages a minute
OVERALL = Limit("dingtalk:all", 20, 1.0, shared=True)


def is_group(chat: str) -> bool:
    """An open conversation id (a group) rather than a staffId (a person)."""
    return chat.startswith("cid")


def card_id(key: str) -> str:
    """A card's id for an outbox message: the same on every attempt, so a retry does not send it twice."""
    return "bizbot-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


class DingTalkSender:
    def __init__(self, settings: Settings, api: OpenApi | None = None) -> None:
        self.api = api or OpenApi(settings)
        # the app's limit, whichever replica sends
        self.overall = Limit(f"dingtalk:{settings.dingtalk_client_id or 'app'}", OVERALL.count, OVERALL.seconds,
                             shared=True)

    def overall_limits(self) -> list[Limit]:
        return [self.overall]

    def limits(self, message: Outgoing) -> list[Limit]:
        chat = str(message.channel or message.address)
        limits = [self.overall, Limit(f"dingtalk:chat:{chat}", 1, 1.0)]
        if is_group(chat):
            limits.append(Limit(f"dingtalk:group:{chat}", 20, 60.0))
        return limits

    def send(self, message: Outgoing) -> Posted | None:
        """Its file first (an image as a picture, anything else as a file), then the text — as a card when
        it has buttons. Parts an earlier attempt delivered (`message.done`) are not sent again."""
        chat = message.channel or message.address
        if not chat:
            raise DeliveryError("recipient has no DingTalk account linked")
        reply = _reply(message)
        steps: list[Callable[[], str | None]] = []
        if message.attachment is not None:
            steps.append(lambda: self._file(message, chat))
        if reply.buttons:
            with use_locale(message.locale):
                data = render.card(reply)
            biz = card_id(message.key)
            steps.append(lambda: self.api.send_card(biz, data, **_target(chat)))
        else:
            with use_locale(message.locale):
                title, text = render.markdown(reply)
            steps.append(lambda: self._post(chat, "sampleMarkdown", {"title": title, "text": text}) and None)
        posted: str | None = None
        for number, step in enumerate(steps):
            if number < message.done:
                continue
            try:
                posted = step()
            except DeliveryError as exc:
                exc.done = number
                raise
        return Posted(chat, posted) if posted else None

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """A card sent earlier shows the revision; buttons no longer given disappear."""
        with use_locale(message.locale):
            data = render.card(_reply(message))
        self.api.update_card(posted.ref, data)

    def _post(self, chat: str, key: str, param: dict) -> str:
        if is_group(chat):
            return self.api.send_to_group(chat, key, param)
        return self.api.send_to_people([chat], key, param)

    def _file(self, message: Outgoing, chat: str) -> None:
        attachment = message.attachment
        assert attachment is not None
        if attachment.mime.startswith("image/"):
            media = self.api.upload(attachment.data, attachment.filename, attachment.mime, "image")
            self._post(chat, "sampleImageMsg", {"photoURL": media})
        else:
            media = self.api.upload(attachment.data, attachment.filename, attachment.mime, "file")
            ext = attachment.filename.rsplit(".", 1)[-1] if "." in attachment.filename else "bin"
            self._post(chat, "sampleFile", {"mediaId": media, "fileName": attachment.filename, "fileType": ext})


def _target(chat: str) -> dict[str, str]:
    return {"conversation": chat} if is_group(chat) else {"user_id": chat}


def _reply(message: Outgoing) -> Reply:
    return Reply(text=message.text, buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])
