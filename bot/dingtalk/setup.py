"""`bizbot dingtalk setup`: what to do in DingTalk's developer console, and a check of the credentials."""
from __future__ import annotations

from bot.delivery import DeliveryError
from bot.dingtalk.api import OPEN_API, OpenApi
from bot.settings import Settings


def checklist(settings: Settings) -> list[str]:
    mode = settings.dingtalk_mode
    receive = ("Stream mode: no public address needed; bizbot connects out to DingTalk." if mode == "stream" else
               "HTTP mode: set the robot's message receiving address to https://YOUR-HOST/dingtalk/events.")
    return [
        "DingTalk set-up (see docs/operations.md, DingTalk; 中文: docs/钉钉接入.md):",
        "  1. Developer console (open-dev.dingtalk.com): create an internal app (企业内部应用).",
        "  2. Add the Robot capability (机器人); message receiving mode: "
        + ("Stream 模式" if mode == "stream" else "HTTP 模式") + ".",
        f"     {receive}",
        "  3. Permissions: Robot messages (企业内机器人发送消息权限), interactive cards "
        "(互动卡片实例写权限 / Card.Instance.Write), media upload.",
        "  4. Card callbacks: in Stream mode they arrive on the same connection; publish a version of the app.",
        "  5. Environment: DINGTALK_CLIENT_ID (AppKey), DINGTALK_CLIENT_SECRET (AppSecret)"
        + (", DINGTALK_MODE=http" if mode == "http" else "") + ".",
        f"  Client ID: {settings.dingtalk_client_id or '(not set)'}; mode: {mode}; "
        f"Open API: {settings.dingtalk_api_url or OPEN_API}",
    ]


def check(settings: Settings) -> str | None:
    """None when DingTalk issues an access token for the app's credentials; else why not."""
    api = OpenApi(settings)
    try:
        api.token()
    except DeliveryError as exc:
        return str(exc)
    finally:
        api.close()
    return None
