"""`bizbot feishu setup`: what the Feishu open platform needs, and the configuration checked against the
Open API (the app's credentials by fetching a tenant access token, the bot by its info)."""
from __future__ import annotations

from bot.feishu.api import FeishuApi, FeishuError
from bot.settings import Settings

SCOPES = ("im:message", "im:message:send_as_bot", "im:message.p2p_msg:readonly",
          "im:message.group_at_msg:readonly", "im:resource", "contact:user.base:readonly")
EVENTS = ("im.message.receive_v1", "application.bot.menu_v6")
CALLBACKS = ("card.action.trigger",)


def checklist(settings: Settings) -> list[tuple[bool | None, str]]:
    """(done?, what) lines: True checked, False missing or refused, None a step only the platform shows."""
    lines: list[tuple[bool | None, str]] = []
    lines.append((bool(settings.feishu_app_id), "FEISHU_APP_ID and FEISHU_APP_SECRET (开发者后台 → 凭证与基础信息)"))
    lines.append((True, f"FEISHU_DOMAIN: {settings.feishu_domain}"))
    if settings.feishu_http:
        lines.append((True, "events over HTTP: set the request URL (事件与回调 → 请求地址) to "
                            "https://YOUR-HOST/feishu/events, for events and for callbacks"))
    else:
        lines.append((True, "events over the long connection (使用长连接接收事件/回调): no public URL needed; "
                            "for HTTP set "
                            "FEISHU_VERIFICATION_TOKEN and FEISHU_ENCRYPT_KEY"))
    lines.append((None, "enable the bot (添加应用能力 → 机器人)"))
    lines.append((None, "scopes (权限管理): " + ", ".join(SCOPES)))
    lines.append((None, "events (事件订阅): " + ", ".join(EVENTS) + "; callbacks (回调订阅): " + ", ".join(CALLBACKS)))
    lines.append((None, "bot menu (机器人自定义菜单): push events with keys such as help, customer_list, approvals"))
    lines.append((None, "publish a version (版本管理与发布) and have it approved by the tenant's admin"))
    if not settings.feishu_enabled:
        lines.append((False, "Feishu is not configured: nothing to check against the Open API"))
        return lines
    try:
        bot = FeishuApi(settings).bot()
    except FeishuError as exc:
        lines.append((False, f"the Open API refused the app or could not be reached: {exc}"))
        return lines
    lines.append((True, "tenant access token fetched (the app's credentials work)"))
    if bot.get("open_id"):
        lines.append((True, f"bot: {bot.get('app_name') or '?'} ({bot['open_id']})"))
    else:
        lines.append((False, "the app has no bot: enable the bot capability and publish a version"))
    return lines
