"""DingTalk's Open API over httpx: the app's access token (refreshed before it expires) and the calls bizbot
makes — robot messages to people and groups, interactive cards sent and updated, media uploaded, and
answers through a message's session webhook. Throttling and server failures raise DeliveryError (the
dispatcher retries it, honouring the wait); a refusal of the message itself raises Refused."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from bot.delivery import DeliveryError
from bot.settings import Settings

OPEN_API = "https://api.dingtalk.com"
LEGACY_API = "https://oapi.dingtalk.com"  # media upload lives on the older API
TOKEN_MARGIN = 300.0  # seconds before its expiry a token is fetched anew
# the codes DingTalk answers when a caller goes too fast: the Open API's QPS limits, the older API's, and a
# robot's session webhook (20 messages a minute, then 10 minutes of silence)
THROTTLED_CODES = ("Throttling", "QpsLimit", "qpsLimit", "RateLimit")
THROTTLED_ERRCODES = {90002, 90006, 90018, 130101}
WEBHOOK_QUIET = 600.0


class Refused(DeliveryError):
    """DingTalk refused the call itself (a bad request, no permission): trying again does not help."""


def throttled(status: int, answer: dict[str, Any]) -> bool:
    code = str(answer.get("code") or "")
    return status == 429 or any(part in code for part in THROTTLED_CODES) or answer.get("errcode") in THROTTLED_ERRCODES


class OpenApi:
    """One per process; thread-safe. Every call goes to DINGTALK_API_URL when it is set."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        assert settings.dingtalk_client_id and settings.dingtalk_client_secret is not None
        self.app_key = settings.dingtalk_client_id
        self._secret = settings.dingtalk_client_secret.get_secret_value()
        self.robot_code = settings.dingtalk_robot_code or settings.dingtalk_client_id
        self.base = settings.dingtalk_api_url or OPEN_API
        self.legacy = settings.dingtalk_api_url or LEGACY_API
        self._client = client or httpx.Client(timeout=10)
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # (token, monotonic time it is to be renewed)
        self.token_fetches = 0

    # --- the access token ----------------------------------------------------------------
    def token(self) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            answer = self._call("POST", f"{self.base}/v1.0/oauth2/accessToken",
                                json={"appKey": self.app_key, "appSecret": self._secret}, token=None)
            token = answer.get("accessToken")
            if not isinstance(token, str) or not token:
                raise Refused("no access token in DingTalk's answer")
            expires = float(answer.get("expireIn") or 7200)
            self._token = (token, time.monotonic() + max(0.0, expires - TOKEN_MARGIN))
            self.token_fetches += 1
            return token

    def forget_token(self) -> None:
        with self._lock:
            self._token = None

    # --- calls -----------------------------------------------------------------------------
    def _call(self, method: str, url: str, *, token: str | None, json: Any = None, params: dict | None = None,
              data: dict | None = None, files: dict | None = None) -> dict[str, Any]:
        headers = {"x-acs-dingtalk-access-token": token} if token else {}
        try:
            response = self._client.request(method, url, json=json, params=params, data=data, files=files,
                                            headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"dingtalk: {type(exc).__name__}") from None
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        status = response.status_code
        if throttled(status, answer):
            wait = response.headers.get("Retry-After")
            retry = float(wait) if wait and wait.replace(".", "", 1).isdecimal() else None
            if answer.get("errcode") == 130101 and retry is None:
                retry = WEBHOOK_QUIET
            raise DeliveryError(f"dingtalk throttled: {answer.get('code') or answer.get('errcode') or status}",
                                retry_after=retry)
        if status == 401 or answer.get("code") in ("InvalidAuthentication", "Unauthorized"):
            raise Expired(f"dingtalk: {answer.get('code') or status}")
        if status >= 500:
            raise DeliveryError(f"dingtalk: HTTP {status}")
        errcode = answer.get("errcode")
        if status >= 400 or (errcode not in (None, 0)):
            raise Refused(f"dingtalk: {answer.get('code') or errcode or status}: "
                          f"{answer.get('message') or answer.get('errmsg') or ''}"[:200])
        return answer

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        """An Open API call with the app's token; an expired token is fetched anew and the call made again,
        once."""
        url = path if path.startswith("http") else f"{self.base}{path}"
        try:
            return self._call(method, url, token=self.token(), json=body, **kw)
        except Expired:
            self.forget_token()
            return self._call(method, url, token=self.token(), json=body, **kw)

    def send_to_people(self, user_ids: list[str], msg_key: str, param: dict[str, Any]) -> str:
        """A robot's message to people in private chats (oToMessages/batchSend): its processQueryKey."""
        answer = self.call("POST", "/v1.0/robot/oToMessages/batchSend", {
            "robotCode": self.robot_code, "userIds": user_ids, "msgKey": msg_key,
            "msgParam": json.dumps(param, ensure_ascii=False)})
        return str(answer.get("processQueryKey") or "")

    def send_to_group(self, conversation: str, msg_key: str, param: dict[str, Any]) -> str:
        """A robot's message in a group (groupMessages/send): its processQueryKey."""
        answer = self.call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": self.robot_code, "openConversationId": conversation, "msgKey": msg_key,
            "msgParam": json.dumps(param, ensure_ascii=False)})
        return str(answer.get("processQueryKey") or "")

    def send_card(self, biz_id: str, card: dict[str, Any], *, conversation: str | None = None,
                  user_id: str | None = None, template: str = "StandardCard") -> str:
        """An interactive card from the robot (its normal version), to a group or one person: `biz_id`
        identifies it for updates and in its button callbacks (outTrackId)."""
        body: dict[str, Any] = {"cardTemplateId": template, "robotCode": self.robot_code, "cardBizId": biz_id,
                                "cardData": json.dumps(card, ensure_ascii=False), "sendOptions": {}}
        if conversation is not None:
            body["openConversationId"] = conversation
        else:
            body["singleChatReceiver"] = json.dumps({"userId": user_id})
        self.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)
        return biz_id

    def update_card(self, biz_id: str, card: dict[str, Any]) -> None:
        self.call("PUT", "/v1.0/im/robots/interactiveCards",
                  {"cardBizId": biz_id, "cardData": json.dumps(card, ensure_ascii=False)})

    def upload(self, data: bytes, filename: str, mime: str, kind: str) -> str:
        """A file uploaded as media (kind image or file): its media_id."""
        url = f"{self.legacy}/media/upload"
        try:
            answer = self._call("POST", url, token=None, params={"access_token": self.token()},
                                data={"type": kind}, files={"media": (filename, data, mime)})
        except Expired:
            self.forget_token()
            answer = self._call("POST", url, token=None, params={"access_token": self.token()},
                                data={"type": kind}, files={"media": (filename, data, mime)})
        media = answer.get("media_id")
        if not isinstance(media, str) or not media:
            raise Refused("dingtalk: no media_id in the upload's answer")
        return media

    def webhook(self, url: str, body: dict[str, Any]) -> None:
        """An answer through a message's session webhook (no token: the URL carries its own)."""
        self._call("POST", url, token=None, json=body)

    def close(self) -> None:
        self._client.close()


class Expired(DeliveryError):
    """The access token was refused: fetched anew, the call is made again."""
