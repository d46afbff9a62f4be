"""DingTalk's robot callbacks as DingTalk sends them: a robot message (private "1" or group "2") and an
interactive card's button callback, with the HTTP callback's signed headers."""
from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from bot.dingtalk.sign import sign

CORP = "ding8f2c1e5a9b7d3c40"
GROUP = "cidQ8nD3yT1aPzHk9F0c2XwVbg=="
ROBOT = "dingappkey"
_ids = itertools.count(1)


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def robot_message(text: str, *, staff: str, nick: str, now: datetime, group: bool = False,
                  at_users: list[str] | None = None, msg_id: str | None = None, webhook_root: str = "",
                  webhook_valid: bool = True, corp: str = CORP, richtext: bool = False) -> dict[str, Any]:
    number = next(_ids)
    body: dict[str, Any] = {
        "conversationId": GROUP if group else f"cidPrivate{staff}==",
        "chatbotCorpId": corp,
        "chatbotUserId": "$:LWCP_v1:$robotUser==",
        "msgId": msg_id or f"msg{number:06d}Xy==",
        "senderNick": nick,
        "isAdmin": False,
        "senderStaffId": staff,
        "sessionWebhookExpiredTime": millis(now) + (5_400_000 if webhook_valid else -1000),
        "createAt": millis(now),
        "senderCorpId": corp,
        "conversationType": "2" if group else "1",
        "senderId": f"$:LWCP_v1:${staff}==",
        "sessionWebhook": f"{webhook_root}/robot/sendBySession?session=s{number}",
        "robotCode": ROBOT,
        "msgtype": "text",
        "text": {"content": text},
    }
    if richtext:
        body["msgtype"] = "richText"
        body.pop("text")
        body["content"] = {"richText": [{"text": text}]}
    if group:
        body["conversationTitle"] = "销售部"
        body["isInAtList"] = True
        body["atUsers"] = [{"dingtalkId": "$:LWCP_v1:$robotUser=="}] + [
            {"dingtalkId": f"$:LWCP_v1:${s}==", "staffId": s} for s in (at_users or [])]
    elif at_users:
        body["atUsers"] = [{"dingtalkId": f"$:LWCP_v1:${s}==", "staffId": s} for s in at_users]
    return body


def card_callback(*, out_track_id: str, action_id: str, staff: str, corp: str = CORP,
                  conversation: str | None = None) -> dict[str, Any]:
    """An interactive card's callback (the Stream topic /v1.0/card/instances/callback carries the same): where
    the card was clicked is its space — a group (IM_GROUP, its openConversationId) or the clicker's private
    chat with the robot (IM_ROBOT)."""
    return {"outTrackId": out_track_id, "corpId": corp, "userId": staff, "userIdType": 1, "type": "actionCallback",
            "spaceType": "IM_GROUP" if conversation else "IM_ROBOT",
            "spaceId": conversation or f"cidPrivate{staff}==",
            "content": json.dumps({"cardPrivateData": {"actionIds": [action_id], "params": {}}}),
            "extension": json.dumps({})}


def signed(secret: str, now: datetime, *, offset_ms: int = 0, forge: bool = False) -> dict[str, str]:
    timestamp = str(millis(now) + offset_ms)
    signature = sign(secret, timestamp)
    if forge:
        signature = sign("not-the-secret", timestamp)
    return {"timestamp": timestamp, "sign": signature, "Content-Type": "application/json; charset=utf-8"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
