"""What Slack sends to a bot (commands, interactions, events), signed, and a client sending it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.blockkit import block_elements
from sandbox.slack_api import (
    APP_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL,
    DEFAULT_TEAM_ID,
    FakeSlack,
    View,
)

JSON = dict[str, Any]

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
VERIFICATION_TOKEN = "verification-token-deprecated"
DEFAULT_DOMAIN = "demo"

_SINGLE_OPTION = frozenset({"static_select", "radio_buttons", "overflow", "external_select"})
_MULTI_OPTION = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})
_SELECTED_KEY = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "rich_text_input": "rich_text_value",
}
_INITIAL_KEY = {
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "datetimepicker": "initial_date_time",
    "rich_text_input": "initial_value",
}


# ---------------------------------------------------------------------- shared pieces


def _team(team_id: str, team_domain: str, enterprise_id: str | None) -> JSON:
    team: JSON = {"id": team_id, "domain": team_domain}
    if enterprise_id is not None:
        team["enterprise_id"] = enterprise_id
    return team


def _user(user_id: str, user_name: str | None, team_id: str) -> JSON:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _enterprise(enterprise_id: str | None, enterprise_name: str | None) -> JSON | None:
    if enterprise_id is None:
        return None
    return {"id": enterprise_id, "name": enterprise_name or enterprise_id}


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _find_option(element: Mapping[str, Any], value: object) -> JSON:
    if isinstance(value, Mapping):
        return dict(value)
    options: list[Any] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"no option with value {value!r} in {element.get('action_id')!r}")


def selection(element: Mapping[str, Any], value: object) -> JSON:
    """The keys Slack uses for a chosen value of this element (`selected_option`, `value`...)."""
    kind = str(element.get("type"))
    if kind in _SINGLE_OPTION:
        return {"selected_option": None if value is None else _find_option(element, value)}
    if kind in _MULTI_OPTION:
        values = value if isinstance(value, list) else ([] if value is None else [value])
        return {"selected_options": [_find_option(element, v) for v in values]}
    if kind in _SELECTED_KEY:
        return {_SELECTED_KEY[kind]: value}
    return {"value": None if value is None else str(value)}


def _initial_selection(element: Mapping[str, Any]) -> JSON:
    kind = str(element.get("type"))
    if kind in _SINGLE_OPTION:
        return {"selected_option": element.get("initial_option")}
    if kind in _MULTI_OPTION:
        return {"selected_options": list(element.get("initial_options") or [])}
    if kind in _SELECTED_KEY:
        return {_SELECTED_KEY[kind]: element.get(_INITIAL_KEY[kind])}
    return {"value": element.get("initial_value")}


def action_for(
    element: Mapping[str, Any], block_id: str, *, value: object = None, action_ts: str | None = None
) -> JSON:
    """One entry of block_actions' `actions`, as Slack builds it for a click/selection."""
    kind = str(element.get("type"))
    action: JSON = {"type": kind, "action_id": element.get("action_id"), "block_id": block_id}
    if kind in ("button", "workflow_button"):
        action["text"] = element.get("text")
        if element.get("value") is not None:
            action["value"] = element.get("value")
        if element.get("style") is not None:
            action["style"] = element.get("style")
    else:
        action.update(selection(element, value))
    action["action_ts"] = action_ts or _action_ts()
    return action


def view_state(
    blocks: Sequence[Mapping[str, Any]], values: Mapping[str, Any] | None = None
) -> JSON:
    """Build view.state.values: input blocks as the user left them, `values` keyed by action_id."""
    values = dict(values or {})
    state: JSON = {}
    for block_id, element in block_elements(blocks):
        action_id = str(element.get("action_id"))
        in_input = any(b.get("block_id") == block_id and b.get("type") == "input" for b in blocks)
        if action_id in values:
            chosen = selection(element, values.pop(action_id))
        elif in_input:
            chosen = _initial_selection(element)
        else:
            continue
        state.setdefault(block_id, {})[action_id] = {"type": element.get("type"), **chosen}
    if values:
        raise LookupError(f"no element with action_id {sorted(values)} in the view")
    return state


# ---------------------------------------------------------------------- payload builders


def slash_command(
    *,
    user_id: str,
    response_url: str,
    trigger_id: str,
    text: str = "",
    command: str = "/deal",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = "sales",
    user_name: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, str]:
    """The form fields of a slash command request."""
    fields = {"token": token, "team_id": team_id, "team_domain": team_domain}
    if enterprise_id is not None:
        fields["enterprise_id"] = enterprise_id
        fields["enterprise_name"] = enterprise_name or enterprise_id
    fields.update(
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=user_id,
        user_name=user_name or user_id.lower(),
        command=command,
        text=text,
        api_app_id=api_app_id,
        is_enterprise_install="true" if is_enterprise_install else "false",
        response_url=response_url,
        trigger_id=trigger_id,
    )
    return fields


def block_actions(
    *,
    user_id: str,
    actions: list[JSON],
    trigger_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    channel_id: str | None = None,
    channel_name: str | None = None,
    message: JSON | None = None,
    message_ts: str | None = None,
    is_ephemeral: bool = False,
    response_url: str | None = None,
    view: JSON | None = None,
    state: JSON | None = None,
    user_name: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """A block_actions payload: a click in a message (channel + message) or a view (view)."""
    payload: JSON = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
    else:
        ts = message_ts or (message or {}).get("ts")
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
    payload.update(
        trigger_id=trigger_id,
        team=_team(team_id, team_domain, enterprise_id),
        enterprise=_enterprise(enterprise_id, enterprise_name),
        is_enterprise_install=is_enterprise_install,
    )
    if view is not None:
        payload["view"] = view
    else:
        payload["channel"] = {"id": channel_id, "name": channel_name or channel_id}
        if message is not None and not is_ephemeral:
            payload["message"] = message
        payload["state"] = state or {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_submission(
    *,
    user_id: str,
    view: JSON,
    trigger_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    response_urls: list[JSON] | None = None,
    user_name: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """A view_submission payload; `view` is the full view (id, hash, state.values...)."""
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": is_enterprise_install,
        "enterprise": _enterprise(enterprise_id, enterprise_name),
    }


def view_closed(
    *,
    user_id: str,
    view: JSON,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    is_cleared: bool = False,
    user_name: str | None = None,
    enterprise_id: str | None = None,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """A view_closed payload (sent only for views with notify_on_close)."""
    return {
        "type": "view_closed",
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "view": view,
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": _enterprise(enterprise_id, None),
    }


def message_action(
    *,
    user_id: str,
    callback_id: str,
    trigger_id: str,
    response_url: str,
    message: JSON,
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = "sales",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    user_name: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """A message shortcut payload."""
    return {
        "type": "message_action",
        "token": token,
        "action_ts": _action_ts(),
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": is_enterprise_install,
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "api_app_id": api_app_id,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts"),
        "message": message,
    }


def global_shortcut(
    *,
    user_id: str,
    callback_id: str,
    trigger_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_DOMAIN,
    user_name: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> JSON:
    """A global shortcut payload (no response_url)."""
    return {
        "type": "shortcut",
        "token": token,
        "action_ts": _action_ts(),
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "is_enterprise_install": is_enterprise_install,
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "api_app_id": api_app_id,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


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
    user_id: str,
    channel_id: str,
    text: str,
    ts: str,
    team_id: str = DEFAULT_TEAM_ID,
    thread_ts: str | None = None,
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


# ---------------------------------------------------------------------- encoding & signing


def encode_form(fields: Mapping[str, str]) -> bytes:
    """Form-encode fields as Slack does for slash commands."""
    return urlencode(dict(fields)).encode("utf-8")


def encode_interaction(payload: Mapping[str, Any]) -> bytes:
    """Encode an interaction as Slack does: a form with one `payload=<json>` field."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def encode_event(envelope: Mapping[str, Any]) -> bytes:
    """Encode an Events API envelope (JSON body)."""
    return json.dumps(envelope).encode("utf-8")


def sign(body: bytes, secret: str, timestamp: int, *, content_type: str = FORM) -> dict[str, str]:
    """Headers Slack sends with a request: v0 HMAC-SHA256 signature, timestamp, content type."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


# ---------------------------------------------------------------------- the client


@dataclass
class Delivery:
    """One request delivered to the bot and its answer (the ack)."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    url: str
    request_body: bytes
    content_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    trigger_id: str | None = None
    response_url: str | None = None

    def json(self) -> Any:
        """The ack body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body.strip() else None


class SlackClientSimulator:
    """Acts as Slack's client: signed commands, clicks, submissions and events to the bot."""

    # Calls block on HTTP: from async code run them in a worker thread, or a bot sharing
    # the event loop could never answer.

    def __init__(
        self,
        url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        commands_url: str | None = None,
        interactivity_url: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        ack_deadline: float = 3.0,
    ) -> None:
        self.url = url
        self.commands_url = commands_url or url
        self.interactivity_url = interactivity_url or url
        self.signing_secret = signing_secret
        self.fake = fake
        self.clock = clock
        self.timeout = timeout
        self.ack_deadline = ack_deadline

    # -- transport

    def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Delivery:
        """POST a signed body (override secret/timestamp to test signature checks)."""
        stamp = timestamp if timestamp is not None else int(self.clock())
        headers = sign(body, secret or self.signing_secret, stamp, content_type=content_type)
        headers.update(extra_headers or {})
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, answer_headers = exc.code, exc.read(), exc.headers
        elapsed = time.monotonic() - started
        return Delivery(
            status,
            raw.decode("utf-8", errors="replace"),
            dict(answer_headers.items()),
            elapsed,
            url,
            body,
            content_type,
        )

    def _deliver(
        self, url: str, body: bytes, content_type: str, what: str, payload: Mapping[str, Any]
    ) -> Delivery:
        delivery = self.post(url, body, content_type)
        delivery.payload = payload
        if delivery.elapsed > self.ack_deadline:
            self.fake.report_violation(
                f"{what}: acked after {delivery.elapsed:.2f} s (Slack gives up at 3 s)"
            )
        if delivery.status != 200:
            self.fake.report_violation(f"{what}: bot answered HTTP {delivery.status}")
        return delivery

    def _interaction(self, payload: JSON, what: str) -> Delivery:
        return self._deliver(
            self.interactivity_url, encode_interaction(payload), FORM, what, payload
        )

    # -- user actions

    def command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/deal",
        channel_id: str = DEFAULT_CHANNEL,
    ) -> Delivery:
        """Type a slash command; the ack body is shown to the user as Slack would."""
        fake = self.fake
        trigger_id = fake.new_trigger_id(user_id)
        response_url = fake.new_response_url(channel_id, user_id)
        fields = slash_command(
            user_id=user_id,
            response_url=response_url,
            trigger_id=trigger_id,
            text=text,
            command=command,
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            channel_id=channel_id,
            channel_name=self._channel_name(channel_id),
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._deliver(
            self.commands_url, encode_form(fields), FORM, f"command {command}", fields
        )
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        if delivery.status == 200:
            fake.receive_command_ack(channel_id, user_id, delivery.body)
        return delivery

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        value: object = None,
        block_id: str | None = None,
    ) -> Delivery:
        """Click/select an element of a message (or an ephemeral, by its ts); `block_id` picks
        which one when several blocks hold the same action id."""
        fake = self.fake
        message = fake.message(channel_id, message_ts)
        ephemeral = fake.ephemeral(message_ts) if message is None else None
        if message is None and ephemeral is None:
            raise LookupError(f"no message {message_ts} in {channel_id}")
        blocks = message.blocks if message is not None else (ephemeral.blocks if ephemeral else [])
        block_id, element = _element(blocks, action_id, block_id)
        trigger_id = fake.new_trigger_id(user_id)
        if message is not None:
            response_url = fake.new_response_url(channel_id, user_id, message_ts=message_ts)
            message_json: JSON | None = fake.message_payload(channel_id, message_ts)
        else:
            response_url = fake.new_response_url(channel_id, user_id, ephemeral_ts=message_ts)
            message_json = None
        payload = block_actions(
            user_id=user_id,
            actions=[action_for(element, block_id, value=value)],
            trigger_id=trigger_id,
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            channel_id=channel_id,
            channel_name=self._channel_name(channel_id),
            message=message_json,
            message_ts=message_ts,
            is_ephemeral=message is None,
            response_url=response_url,
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._interaction(payload, f"block_actions {action_id}")
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        return delivery

    def click_in_view(
        self, user_id: str, view_id: str, action_id: str, *, value: object = None
    ) -> Delivery:
        """Click/select an element in a modal or the App Home."""
        fake = self.fake
        view = fake.view(view_id)
        if view is None:
            raise LookupError(f"no view {view_id}")
        block_id, element = _element(view.blocks, action_id)
        action = action_for(element, block_id, value=value)
        if element.get("type") not in ("button", "workflow_button"):
            state = dict(view.state_values)
            state.setdefault(block_id, {})[action_id] = {
                "type": element.get("type"),
                **selection(element, value),
            }
            fake.set_view_state(view_id, state)
        trigger_id = fake.new_trigger_id(user_id)
        payload = block_actions(
            user_id=user_id,
            actions=[action],
            trigger_id=trigger_id,
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            view=fake.view_payload(view_id),
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._interaction(payload, f"block_actions {action_id}")
        delivery.trigger_id = trigger_id
        return delivery

    def submit(
        self,
        user_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        view_id: str | None = None,
    ) -> Delivery:
        """Fill inputs (`values` by action_id) and press the modal's submit button."""
        fake = self.fake
        view = fake.view(view_id) if view_id else _top(fake.open_views(user_id))
        if view is None or not view.open:
            raise LookupError(f"no open modal for {user_id}")
        state = view_state(view.blocks, values)
        # What the user already picked (click_in_view) beats initial values; `values` beats both.
        for block_id, entries in view.state_values.items():
            for aid, entry in entries.items():
                if values is None or aid not in values:
                    state.setdefault(block_id, {})[aid] = entry
        fake.set_view_state(view.id, state)
        trigger_id = fake.new_trigger_id(user_id)
        payload = view_submission(
            user_id=user_id,
            view=fake.view_payload(view.id),
            trigger_id=trigger_id,
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._interaction(payload, f"view_submission {view.callback_id}")
        delivery.trigger_id = trigger_id
        if delivery.status == 200:
            fake.receive_view_ack(user_id, view.id, delivery.body)
        return delivery

    def close(self, user_id: str, *, view_id: str | None = None) -> Delivery | None:
        """Press Cancel: closes the modal; sends view_closed when the view asked for it."""
        fake = self.fake
        view = fake.view(view_id) if view_id else _top(fake.open_views(user_id))
        if view is None:
            raise LookupError(f"no open modal for {user_id}")
        fake.close_view(user_id, view.id)
        if not view.view.get("notify_on_close"):
            return None
        payload = view_closed(
            user_id=user_id,
            view=view.to_api(fake.team_id),
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        return self._interaction(payload, f"view_closed {view.callback_id}")

    def message_shortcut(
        self, user_id: str, channel_id: str, message_ts: str, callback_id: str
    ) -> Delivery:
        """Run a message shortcut on a message."""
        fake = self.fake
        trigger_id = fake.new_trigger_id(user_id)
        response_url = fake.new_response_url(channel_id, user_id)
        payload = message_action(
            user_id=user_id,
            callback_id=callback_id,
            trigger_id=trigger_id,
            response_url=response_url,
            message=fake.message_payload(channel_id, message_ts),
            channel_id=channel_id,
            channel_name=self._channel_name(channel_id),
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._interaction(payload, f"message_action {callback_id}")
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        return delivery

    def global_shortcut(self, user_id: str, callback_id: str) -> Delivery:
        """Run a global shortcut."""
        fake = self.fake
        trigger_id = fake.new_trigger_id(user_id)
        payload = global_shortcut(
            user_id=user_id,
            callback_id=callback_id,
            trigger_id=trigger_id,
            team_id=fake.team_id,
            team_domain=fake.team_domain,
            user_name=self._user_name(user_id),
            enterprise_id=fake.enterprise_id,
        )
        delivery = self._interaction(payload, f"shortcut {callback_id}")
        delivery.trigger_id = trigger_id
        return delivery

    def open_home(self, user_id: str) -> Delivery:
        """Open the app's Home tab (sends app_home_opened with the current home view)."""
        fake = self.fake
        home = fake.home(user_id)
        envelope = app_home_opened_event(
            user_id=user_id,
            channel_id=fake.dm_channel(user_id),
            team_id=fake.team_id,
            view=home.to_api(fake.team_id) if home is not None else None,
            enterprise_id=fake.enterprise_id,
        )
        return self.send_event(envelope)

    def send_event(self, envelope: JSON) -> Delivery:
        """Deliver an Events API envelope (see event_callback and friends)."""
        kind = envelope.get("event", {}).get("type", "?")
        return self._deliver(self.url, encode_event(envelope), JSON_TYPE, f"event {kind}", envelope)

    def redeliver(
        self, delivery: Delivery, *, retry_num: int = 1, reason: str = "http_timeout"
    ) -> Delivery:
        """Send the same body again, freshly signed, as an Events API retry."""
        again = self.post(
            delivery.url,
            delivery.request_body,
            delivery.content_type,
            extra_headers={"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason},
        )
        again.payload = delivery.payload
        return again

    # -- helpers

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channels.get(channel_id)
        return channel.name if channel is not None and not channel.is_im else "directmessage"

    def _user_name(self, user_id: str) -> str:
        user = self.fake.users.get(user_id)
        return user.name if user is not None else user_id.lower()


def _element(
    blocks: Sequence[Mapping[str, Any]], action_id: str, in_block: str | None = None
) -> tuple[str, Mapping[str, Any]]:
    for block_id, element in block_elements(blocks):
        if element.get("action_id") == action_id and in_block in (None, block_id):
            return block_id, element
    raise LookupError(f"no element with action_id {action_id!r} (block {in_block!r})")


def _top(views: Sequence[View]) -> View | None:
    return views[-1] if views else None
