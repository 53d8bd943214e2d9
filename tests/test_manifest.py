"""manifest.yml asks for exactly the bot scopes the code's Web API calls need."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from slack_sdk import WebClient

from views.ids import Callback

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "bot", "handlers", "scheduler", "views", "storage", "pipeline")

# Scopes each Web API method needs (api.slack.com/methods); methods needing none map to ().
SCOPES: dict[str, tuple[str, ...]] = {
    "auth_test": (),
    "chat_postMessage": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_delete": ("chat:write",),
    "chat_getPermalink": (),
    "conversations_join": ("channels:join",),
    "conversations_history": ("channels:history", "groups:history", "im:history"),
    "conversations_replies": ("channels:history", "groups:history", "im:history"),
    "conversations_open": ("im:write",),
    "users_info": ("users:read",),
    "users_list": ("users:read",),
    "files_upload_v2": ("files:write",),
    "views_open": (),
    "views_push": (),
    "views_update": (),
    "views_publish": (),
}


def web_api_calls() -> set[str]:
    """Every WebClient method the product code calls, found by walking its syntax trees."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and callable(getattr(WebClient, node.func.attr, None))
                    and not node.func.attr.startswith("_")
                    and node.func.attr not in ("api_call",)
                ):
                    found.add(node.func.attr)
    return found


def test_every_called_method_has_a_known_scope() -> None:
    unknown = web_api_calls() - set(SCOPES)
    assert unknown == set(), f"add these methods' scopes to SCOPES: {unknown}"


def test_manifest_scopes_are_exactly_what_the_code_uses() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {"commands"} | {scope for m in web_api_calls() for scope in SCOPES.get(m, ())}
    assert declared == needed


def test_manifest_declares_the_command_shortcuts_and_events() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/deal"]
    assert features["slash_commands"][0]["should_escape"] is True
    assert {s["callback_id"] for s in features["shortcuts"]} == {
        Callback.FROM_MESSAGE,
        Callback.LOG_TO_DEAL,
    }
    assert features["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
