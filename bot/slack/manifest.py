"""The Slack app manifest, generated from the command registry (one slash command per group)."""
from __future__ import annotations

import re
from typing import Any

import yaml

from handlers.registry import Command, Registry

BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "im:write",
    "im:history",
    "app_mentions:read",
    "channels:read",
    "groups:read",
)
BOT_EVENTS = ("app_home_opened", "app_mention", "message.im")
DESCRIPTION = "Runs a sales department from the team chat."
MAX_APP_NAME = 35
MAX_COMMAND_DESCRIPTION = 100
MAX_USAGE_HINT = 1000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"




def _usage_hint(group: str, cmds: list[Command]) -> str:
    return " | ".join(c.usage().removeprefix(f"/{group}").strip() for c in cmds)


def _slash_command(group: str, cmds: list[Command], url: str, summary: str) -> dict[str, Any]:
    command: dict[str, Any] = {
        "command": f"/{group}",
        "url": url,
        "description": _clip(summary, MAX_COMMAND_DESCRIPTION),
    }
    hint = _usage_hint(group, cmds)
    if hint:
        command["usage_hint"] = _clip(hint, MAX_USAGE_HINT)
    # Escaped text turns a typed @someone into <@U123|name>: that is how /team add links an account.
    command["should_escape"] = True
    return command


def manifest(
    registry: Registry,
    app_name: str = "bizbot",
    base_url: str = "https://bizbot.example.com",
    socket_mode: bool = False,
) -> dict[str, Any]:
    """A Slack app manifest for a deployment at `base_url` (or one that connects over Socket Mode)."""
    base_url = base_url.rstrip("/")
    events_url = f"{base_url}/slack/events"
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": app_name[:MAX_APP_NAME], "description": DESCRIPTION},
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True},
            "bot_user": {
                "display_name": re.sub(r"[^a-z0-9._-]", "-", app_name.lower())[:80],
                "always_online": True,
            },
            "slash_commands": [
                _slash_command(group, cmds, events_url, registry.summary_of(group))
                for group, cmds in registry.groups().items()
            ],
        },
        "oauth_config": {
            "redirect_urls": [f"{base_url}/slack/oauth_redirect"],
            "scopes": {"bot": list(BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": {"request_url": events_url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {
                "is_enabled": True,
                "request_url": events_url,
                "message_menu_options_url": events_url,
            },
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(registry: Registry, **kw: Any) -> str:
    """The manifest as YAML, ready to paste into Slack's "Create an app from a manifest"."""
    return yaml.safe_dump(manifest(registry, **kw), allow_unicode=True, sort_keys=False)
