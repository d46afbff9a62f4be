"""Delivers outbox messages to Feishu: cards to a chat (oc_…) or a person (ou_…), a chart as an image and an
export as a file before the card, and revisions of cards sent earlier."""
from __future__ import annotations

import logging

from bot.delivery import DeliveryError, Outgoing, Posted
from bot.feishu import cards
from bot.feishu.api import NOT_EDITABLE, FeishuApi, FeishuError
from bot.ratelimit import Limit
from bot.settings import Settings
from domain.kernel.i18n import use_locale
from handlers.replies import Button, Reply

log = logging.getLogger(__name__)

# Feishu's limits for sending messages: 50 a second for the app (im.message.create), and 5 a second to one
# person or chat
OVERALL = Limit("feishu:all", 50, 1.0, shared=True)


class FeishuSender:
    def __init__(self, settings: Settings, api: FeishuApi | None = None) -> None:
        self.api = api or FeishuApi(settings)
        # the app's limit, whichever replica sends
        self.overall = Limit(f"feishu:{settings.feishu_app_id or 'app'}", OVERALL.count, OVERALL.seconds, shared=True)

    def overall_limits(self) -> list[Limit]:
        return [self.overall]

    def limits(self, message: Outgoing) -> list[Limit]:
        return [self.overall, Limit(f"feishu:chat:{message.channel or message.address}", 5, 1.0)]

    def send(self, message: Outgoing) -> Posted | None:
        """The message's file, if any (an image as an image, any other file as a file), then its card. Parts
        an earlier attempt delivered (`message.done`) are not sent again; a failure says how many the chat
        has, and a throttled or failed call is retried by the dispatcher (Feishu's wait honoured)."""
        to = message.channel or message.address
        if not to:
            raise DeliveryError("recipient has no Feishu account linked")
        number = 0
        try:
            if message.attachment is not None:
                if message.done <= number:
                    attachment = message.attachment
                    if attachment.mime.startswith("image/"):
                        key = self.api.upload_image(attachment.data)
                        self.api.send(to, "image", {"image_key": key}, uuid=f"{message.key}:image")
                    else:
                        key = self.api.upload_file(attachment.filename, attachment.data)
                        self.api.send(to, "file", {"file_key": key}, uuid=f"{message.key}:file")
                number += 1
            with use_locale(message.locale):
                card = cards.card(_reply(message))
            ref = self.api.send(to, "interactive", card, uuid=f"{message.key}:card")
        except FeishuError as exc:
            raise DeliveryError(str(exc), exc.retry_after, number) from None
        return Posted(to, ref)

    def edit(self, message: Outgoing, posted: Posted) -> None:
        """Revise a card sent earlier: its new text, and only the buttons still valid."""
        with use_locale(message.locale):
            card = cards.card(_reply(message))
        try:
            self.api.patch(posted.ref, card)
        except FeishuError as exc:
            if exc.code in NOT_EDITABLE:
                log.info("feishu message %s can no longer be edited", posted.ref)
                return
            raise DeliveryError(str(exc), exc.retry_after) from None


def _reply(message: Outgoing) -> Reply:
    return Reply(text=message.text,
                 buttons=[Button(b.label, b.command, decision=b.decision) for b in message.buttons])
