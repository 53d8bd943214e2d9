"""What Slack sends to a bot: slash commands, interaction payloads and Events API envelopes.

Every builder takes who sends it as keyword arguments (`Sender`: the user, their workspace or
org install, the app); only `user_id` is required.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Required, TypedDict, Unpack

from sandbox.payloads.elements import action_ts_now
from sandbox.slack_api import APP_ID, BOT_USER_ID, DEFAULT_CHANNEL, DEFAULT_TEAM_ID

JSON = dict[str, Any]

VERIFICATION_TOKEN = "verification-token-deprecated"
DEFAULT_DOMAIN = "demo"


class Sender(TypedDict, total=False):
    """Who a request comes from; Slack repeats it in every command and interaction."""

    user_id: Required[str]
    user_name: str | None
    team_id: str
    team_domain: str
    enterprise_id: str | None
    enterprise_name: str | None
    is_enterprise_install: bool
    api_app_id: str
    token: str


def _user_name(sender: Sender) -> str:
    return sender.get("user_name") or sender["user_id"].lower()


def _enterprise_name(sender: Sender) -> str | None:
    enterprise_id = sender.get("enterprise_id")
    return None if enterprise_id is None else sender.get("enterprise_name") or enterprise_id


def _interaction(kind: str, sender: Sender) -> JSON:
    """The fields every interaction payload carries: its type, the user, team, org and app."""
    team_id = sender.get("team_id", DEFAULT_TEAM_ID)
    enterprise_id = sender.get("enterprise_id")
    team: JSON = {"id": team_id, "domain": sender.get("team_domain", DEFAULT_DOMAIN)}
    enterprise: JSON | None = None
    if enterprise_id is not None:
        team["enterprise_id"] = enterprise_id
        enterprise = {"id": enterprise_id, "name": _enterprise_name(sender)}
    name = _user_name(sender)
    return {
        "type": kind,
        "token": sender.get("token", VERIFICATION_TOKEN),
        "api_app_id": sender.get("api_app_id", APP_ID),
        "team": team,
        "user": {"id": sender["user_id"], "username": name, "name": name, "team_id": team_id},
        "enterprise": enterprise,
        "is_enterprise_install": sender.get("is_enterprise_install", False),
    }


def slash_command(
    *,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = "sales",
    command: str = "/deal",
    text: str = "",
    response_url: str,
    trigger_id: str,
    **sender: Unpack[Sender],
) -> dict[str, str]:
    """The form fields of a slash command request."""
    fields = {
        "token": sender.get("token", VERIFICATION_TOKEN),
        "team_id": sender.get("team_id", DEFAULT_TEAM_ID),
        "team_domain": sender.get("team_domain", DEFAULT_DOMAIN),
    }
    enterprise_name = _enterprise_name(sender)
    if enterprise_name is not None:
        fields["enterprise_id"] = str(sender.get("enterprise_id"))
        fields["enterprise_name"] = enterprise_name
    fields.update(
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=sender["user_id"],
        user_name=_user_name(sender),
        command=command,
        text=text,
        api_app_id=sender.get("api_app_id", APP_ID),
        is_enterprise_install="true" if sender.get("is_enterprise_install") else "false",
        response_url=response_url,
        trigger_id=trigger_id,
    )
    return fields


def block_actions(
    *,
    actions: list[JSON],
    trigger_id: str,
    channel_id: str | None = None,
    channel_name: str | None = None,
    message: JSON | None = None,
    message_ts: str | None = None,
    is_ephemeral: bool = False,
    response_url: str | None = None,
    view: JSON | None = None,
    state: JSON | None = None,
    **sender: Unpack[Sender],
) -> JSON:
    """A block_actions payload: a click in a message (channel + message) or a view (view)."""
    payload = _interaction("block_actions", sender)
    payload["trigger_id"] = trigger_id
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts or (message or {}).get("ts"),
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name or channel_id}
        if message is not None and not is_ephemeral:
            payload["message"] = message
        payload["state"] = state or {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_submission(
    *,
    view: JSON,
    trigger_id: str,
    response_urls: list[JSON] | None = None,
    **sender: Unpack[Sender],
) -> JSON:
    """A view_submission payload; `view` is the full view (id, hash, state.values...)."""
    payload = _interaction("view_submission", sender)
    payload.update(trigger_id=trigger_id, view=view, response_urls=response_urls or [])
    return payload


def view_closed(*, view: JSON, is_cleared: bool = False, **sender: Unpack[Sender]) -> JSON:
    """A view_closed payload (sent only for views with notify_on_close)."""
    payload = _interaction("view_closed", sender)
    payload.update(view=view, is_cleared=is_cleared)
    return payload


def message_action(
    *,
    callback_id: str,
    trigger_id: str,
    response_url: str,
    message: JSON,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = "sales",
    **sender: Unpack[Sender],
) -> JSON:
    """A message shortcut payload."""
    payload = global_shortcut(callback_id=callback_id, trigger_id=trigger_id, **sender)
    payload.update(
        type="message_action",
        channel={"id": channel_id, "name": channel_name},
        response_url=response_url,
        message_ts=message.get("ts"),
        message=message,
    )
    return payload


def global_shortcut(*, callback_id: str, trigger_id: str, **sender: Unpack[Sender]) -> JSON:
    """A global shortcut payload (no response_url)."""
    payload = _interaction("shortcut", sender)
    payload.update(action_ts=action_ts_now(), callback_id=callback_id, trigger_id=trigger_id)
    return payload


def event_callback(
    event: JSON,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """Wrap an event in the Events API envelope (event_id, event_time, authorizations...)."""
    envelope: JSON = {"token": token, "team_id": team_id}
    if enterprise_id is not None:
        envelope["enterprise_id"] = enterprise_id
    envelope.update(
        api_app_id=api_app_id,
        event=event,
        type="event_callback",
        event_id=event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        event_time=event_time if event_time is not None else int(time.time()),
        authorizations=[
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": is_enterprise_install,
            }
        ],
        is_ext_shared_channel=False,
        event_context=f"4-{uuid.uuid4().hex[:16]}",
    )
    return envelope


def app_home_opened_event(
    *,
    user_id: str,
    channel_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    tab: str = "home",
    view: JSON | None = None,
    event_id: str | None = None,
    event_time: int | None = None,
    enterprise_id: str | None = None,
    api_app_id: str = APP_ID,
) -> JSON:
    """An app_home_opened event in its envelope; `view` is the current home, when published."""
    event: JSON = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event_callback(
        event,
        team_id=team_id,
        event_id=event_id,
        event_time=event_time,
        enterprise_id=enterprise_id,
        api_app_id=api_app_id,
    )


def message_event(
    *,
    channel_id: str,
    ts: str,
    thread_ts: str | None = None,
    user_id: str,
    text: str,
    team_id: str = DEFAULT_TEAM_ID,
    channel_type: str = "channel",
    event_id: str | None = None,
) -> JSON:
    """A `message` event from a human, in its envelope."""
    event: JSON = {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts,
        "channel": channel_id,
        "channel_type": channel_type,
        "team": team_id,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event_callback(event, team_id=team_id, event_id=event_id)
