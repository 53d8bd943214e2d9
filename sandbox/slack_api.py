"""An in-memory Slack Web API that enforces Slack's rules, served over real HTTP."""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import hashlib
import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.blockkit import validate_blocks, validate_view

if TYPE_CHECKING:
    from sandbox.socket_mode import EnvelopeKind, SocketAck, SocketModeHub

JSON = dict[str, Any]

DEFAULT_TEAM_ID = "T0DEMO"
DEFAULT_TOKEN = "xoxb-test"
DEFAULT_CHANNEL = "C0SALES"
DEFAULT_USER = "U0ALICE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0PIPEBOT"

MAX_TEXT = 40_000
TRIGGER_TTL = 3.0
RESPONSE_URL_TTL = 30 * 60.0
RESPONSE_URL_USES = 5
MAX_MODAL_STACK = 3
# Pseudo-method names so fail_next()/delay() can target the non-API endpoints too.
RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "file_upload"


class FakeClock:
    """A manual clock to inject as ``FakeSlack(now=clock)``; it only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = when


@dataclass
class User:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "UTC"
    is_bot: bool = False

    def to_api(self, team_id: str, now: float) -> JSON:
        """Render as users.info does."""
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now, zone)
        offset = local.utcoffset()
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "tz": self.tz,
            "tz_label": local.tzname() or self.tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {"real_name": self.real_name, "display_name": self.name},
        }


@dataclass
class Channel:
    """A conversation: public/private channel or a DM with one user."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    user: str | None = None

    def to_api(self) -> JSON:
        """Render as conversations.info does."""
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_member": True,
            "is_archived": False,
        }


@dataclass
class MessageVersion:
    """The content of a message at one point in time."""

    text: str
    blocks: list[JSON]
    attachments: list[JSON]


@dataclass
class Message:
    """A message in a channel, as it currently reads."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    user: str = BOT_USER_ID
    thread_ts: str | None = None
    attachments: list[JSON] = field(default_factory=list)
    metadata: JSON | None = None
    files: list[str] = field(default_factory=list)
    reply_broadcast: bool = False
    deleted: bool = False
    edits: list[MessageVersion] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        """True for a thread reply (not the parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_bot(self) -> bool:
        """True when our bot posted it."""
        return self.user == BOT_USER_ID

    def to_api(self, team_id: str) -> JSON:
        """Render as Slack does in API responses and interaction payloads."""
        out: JSON = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts}
        out["team"] = team_id
        if self.is_bot:
            out.update(bot_id=BOT_ID, app_id=APP_ID)
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.files:
            out["files"] = [{"id": f} for f in self.files]
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class Ephemeral:
    """A message only one user sees."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    deleted: bool = False
    edits: list[MessageVersion] = field(default_factory=list)


@dataclass
class Edit:
    """One replacement of a message (chat.update or a response_url replace_original)."""

    channel: str
    ts: str
    before: MessageVersion
    after: MessageVersion
    via: str
    at: float


@dataclass
class View:
    """A modal or App Home view as the fake currently shows it."""

    id: str
    user: str
    type: str
    view: JSON
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None
    open: bool = True
    state_values: JSON = field(default_factory=dict)
    errors: dict[str, str] | None = None
    history: list[JSON] = field(default_factory=list)

    @property
    def callback_id(self) -> str:
        """The view's callback_id ("" when none)."""
        return str(self.view.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        """The view's private_metadata ("" when none)."""
        return str(self.view.get("private_metadata") or "")

    @property
    def blocks(self) -> list[JSON]:
        """The view's blocks."""
        blocks = self.view.get("blocks")
        return blocks if isinstance(blocks, list) else []

    def to_api(self, team_id: str) -> JSON:
        """Render as views.* responses and interaction payloads do."""
        out = copy.deepcopy(self.view)
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.update(
            id=self.id,
            team_id=team_id,
            state={"values": copy.deepcopy(self.state_values)},
            hash=self.hash,
            clear_on_close=bool(self.view.get("clear_on_close", False)),
            notify_on_close=bool(self.view.get("notify_on_close", False)),
            root_view_id=self.root_view_id,
            previous_view_id=self.previous_view_id,
            external_id=self.external_id or "",
            app_id=APP_ID,
            app_installed_team_id=team_id,
            bot_id=BOT_ID,
        )
        return out


@dataclass
class UploadedFile:
    """A file going through (or done with) the three-step external upload."""

    id: str
    filename: str
    length: int
    upload_url: str
    title: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class Call:
    """One request the fake answered."""

    method: str
    params: JSON
    response: JSON
    status: int = 200
    at: float = 0.0


@dataclass
class ApiResult:
    """What the fake answers: HTTP status, JSON body and extra headers."""

    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when Slack would call this a success."""
        return self.status == 200 and bool(self.body.get("ok"))


@dataclass
class Fault:
    """An injected failure waiting for its method."""

    error: str | None
    status: int | None
    retry_after: int | None
    times: int
    side_effect: bool


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    issued_at: float
    original: tuple[Literal["message", "ephemeral"], str] | None
    thread_ts: str | None = None
    uses: int = 0


@dataclass
class RateLimit:
    """Token bucket per (method, channel): `burst` at once, refilled at `per_second`."""

    enabled: bool = True
    burst: int = 5
    per_second: float = 1.0
    methods: frozenset[str] = frozenset({"chat.postMessage"})


class _ApiError(Exception):
    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


Handler = Callable[[JSON, str], JSON]


def _default_users() -> list[User]:
    return [
        User(BOT_USER_ID, "pipebot", "Pipebot", is_bot=True),
        User(DEFAULT_USER, "alice", "Alice Admin", True, True, "America/New_York"),
        User("U0BOB", "bob", "Bob Seller", tz="Europe/Berlin"),
        User("U0CAROL", "carol", "Carol Closer", tz="Asia/Tokyo"),
    ]


def _default_channels() -> list[Channel]:
    return [Channel(DEFAULT_CHANNEL, "sales"), Channel("C0GENERAL", "general")]


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _opt_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


class FakeSlack:
    """Thread-safe in-memory Slack workspace answering Web API calls like Slack would."""

    def __init__(
        self,
        *,
        team_id: str = DEFAULT_TEAM_ID,
        team_domain: str = "demo",
        token: str = DEFAULT_TOKEN,
        enterprise_id: str | None = None,
        now: Callable[[], float] = time.time,
        public_url: str = "http://127.0.0.1",
        rate_limit: RateLimit | None = None,
        users: list[User] | None = None,
        channels: list[Channel] | None = None,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.token = token
        self.enterprise_id = enterprise_id
        self.now = now
        # Root URL of the ASGI app (no trailing slash); FakeSlackServer sets it once bound.
        self.public_url = public_url
        self.rate_limit = rate_limit or RateLimit()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._seed_users = users if users is not None else _default_users()
        self._seed_channels = channels if channels is not None else _default_channels()
        self.users: dict[str, User] = {u.id: u for u in copy.deepcopy(self._seed_users)}
        self.channels: dict[str, Channel] = {c.id: c for c in copy.deepcopy(self._seed_channels)}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.updates: list[Edit] = []
        self._init_activity()
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        # Imported here: sandbox.socket_mode imports this module.
        from sandbox.socket_mode import APPS_CONNECTIONS_OPEN, SocketModeHub

        self.socket_mode: SocketModeHub = SocketModeHub(self, self._changed)
        # Methods called with the app-level token (xapp-…); their handler checks the token.
        self._app_methods: dict[str, Callable[[str | None, str], JSON]] = {
            APPS_CONNECTIONS_OPEN: self.socket_mode.connections_open,
        }

    def _init_activity(self) -> None:
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._views: dict[str, View] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._files: dict[str, UploadedFile] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self.calls.clear()
        self.violations.clear()
        self.updates.clear()

    # ------------------------------------------------------------------ setup & test hooks

    @property
    def api_url(self) -> str:
        """The base_url to give slack_sdk's WebClient."""
        return f"{self.public_url}/api/"

    def reset(self) -> None:
        """Forget all activity (messages, views, files, calls, faults...); keep users/channels."""
        with self._lock:
            self._init_activity()
            self.socket_mode.reset()

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "UTC",
    ) -> User:
        """Add (or replace) a workspace member."""
        user = User(user_id, name, real_name or name.title(), is_admin, is_owner, tz)
        with self._lock:
            self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        """Add (or replace) a channel."""
        channel = Channel(channel_id, name, is_private=is_private)
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def dm_channel(self, user_id: str) -> str:
        """Return the id of the bot's DM with this user, opening it if needed."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(user_id)
            dm_id = "D" + user_id[1:]
            if dm_id not in self.channels:
                self.channels[dm_id] = Channel(dm_id, user_id, is_im=True, user=user_id)
            return dm_id

    def post_user_message(
        self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        """Simulate a human posting a message (e.g. to run a message shortcut on it)."""
        with self._lock:
            channel_id = self._resolve_channel(channel)
            msg = Message(channel_id, self._next_ts(), text, user=user_id, thread_ts=thread_ts)
            self._messages.setdefault(channel_id, []).append(msg)
            return copy.deepcopy(msg)

    def new_trigger_id(self, user_id: str = DEFAULT_USER) -> str:
        """Issue a trigger_id as a user action would: usable once, within 3 s of the fake clock."""
        with self._lock:
            trigger_id = f"{int(self.now())}.{next(self._ids)}.{uuid.uuid4().hex[:16]}"
            self._triggers[trigger_id] = _Trigger(user_id, self.now())
            return trigger_id

    def new_response_url(
        self,
        channel_id: str = DEFAULT_CHANNEL,
        user_id: str = DEFAULT_USER,
        *,
        message_ts: str | None = None,
        ephemeral_ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Issue a response_url (5 uses, 30 minutes); give the message it belongs to, if any."""
        original: tuple[Literal["message", "ephemeral"], str] | None = None
        if message_ts is not None:
            original = ("message", message_ts)
        elif ephemeral_ts is not None:
            original = ("ephemeral", ephemeral_ts)
        with self._lock:
            rid = uuid.uuid4().hex
            self._response_urls[rid] = _ResponseUrl(
                channel_id, user_id, self.now(), original, thread_ts
            )
        return f"{self.public_url}/response/{rid}"

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
        side_effect: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` (or "response_url"/"file_upload") fail."""
        # side_effect=True applies the call before failing: a 5xx may come after Slack posted.
        with self._lock:
            fault = Fault(error, status, retry_after, times, side_effect)
            self._faults.setdefault(method, []).append(fault)

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds` of real time (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def delay_for(self, method: str) -> float:
        """The configured delay for a method (0.0 when none)."""
        with self._lock:
            return self._delays.get(method, 0.0)

    # ------------------------------------------------------------------ queries for tests

    def messages(self, channel: str = DEFAULT_CHANNEL) -> list[Message]:
        """Top-level messages of a channel as they read now (deleted ones left out)."""
        with self._lock:
            channel_id = self._channel_for_query(channel)
            return [
                copy.deepcopy(m)
                for m in self._messages.get(channel_id, [])
                if not m.deleted and (not m.is_reply or m.reply_broadcast)
            ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread under `ts` (the parent itself left out)."""
        with self._lock:
            channel_id = self._channel_for_query(channel)
            return [
                copy.deepcopy(m)
                for m in self._messages.get(channel_id, [])
                if not m.deleted and m.is_reply and m.thread_ts == ts
            ]

    def message(self, channel: str, ts: str) -> Message | None:
        """One message (top-level or reply) by ts, or None."""
        with self._lock:
            found = self._find_message(self._channel_for_query(channel), ts)
            return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages still shown, optionally only those for one user."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if not e.deleted and (user is None or e.user == user)
            ]

    def ephemeral(self, ts: str) -> Ephemeral | None:
        """One ephemeral message by its message_ts, or None."""
        with self._lock:
            found = self._find_ephemeral(ts)
            return copy.deepcopy(found) if found is not None else None

    def views_for(self, user: str) -> list[View]:
        """Every modal ever opened for a user (open or not), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(v)
                for v in self._views.values()
                if v.user == user and v.type == "modal"
            ]

    def open_views(self, user: str) -> list[View]:
        """The user's modal stack, bottom first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v]) for v in self._stacks.get(user, [])]

    def view(self, view_id: str) -> View | None:
        """One view by id, or None."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def home(self, user: str) -> View | None:
        """The App Home view published for a user, or None."""
        with self._lock:
            view_id = self._homes.get(user)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    @property
    def files(self) -> list[UploadedFile]:
        """Every file upload started, in order."""
        with self._lock:
            return [copy.deepcopy(f) for f in self._files.values()]

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def socket_send(self, kind: EnvelopeKind, payload: JSON, **options: Any) -> str:
        """Push a Socket Mode envelope to the connected app; returns its envelope_id."""
        return self.socket_mode.send(kind, payload, **options)

    @property
    def socket_acks(self) -> list[SocketAck]:
        """The Socket Mode acks received, in order (with their response payloads)."""
        return self.socket_mode.acks

    # ------------------------------------------------------------------ simulated client side

    def set_view_state(self, view_id: str, values: JSON) -> None:
        """Set what the user has typed/selected in a view (state.values)."""
        with self._lock:
            self._views[view_id].state_values = copy.deepcopy(values)

    def view_payload(self, view_id: str) -> JSON:
        """The view as Slack puts it in interaction payloads."""
        with self._lock:
            return self._views[view_id].to_api(self.team_id)

    def message_payload(self, channel: str, ts: str) -> JSON:
        """The message as Slack puts it in interaction payloads."""
        with self._lock:
            found = self._find_message(self._channel_for_query(channel), ts)
            if found is None:
                raise KeyError(ts)
            return found.to_api(self.team_id)

    def close_view(self, user: str, view_id: str | None = None) -> None:
        """Close the top modal (or the whole stack above and including `view_id`)."""
        with self._lock:
            stack = self._stacks.get(user, [])
            if not stack or (view_id is not None and view_id not in stack):
                return
            index = stack.index(view_id) if view_id is not None else len(stack) - 1
            for closed in stack[index:]:
                self._views[closed].open = False
            del stack[index:]

    def receive_command_ack(self, channel_id: str, user_id: str, body: str) -> None:
        """Show a slash command's ack body as Slack does (ephemeral unless in_channel)."""
        payload = _ack_json(body)
        if payload is None:
            return
        with self._lock:
            try:
                text, blocks, attachments, _ = self._content(payload, "command ack")
            except _ApiError as exc:
                self._violate(f"command ack: {exc.error}: {exc.extra.get('errors', '')}")
                return
            if payload.get("response_type") == "in_channel":
                msg = Message(channel_id, self._next_ts(), text, blocks, attachments=attachments)
                self._messages.setdefault(channel_id, []).append(msg)
            else:
                self._ephemerals.append(
                    Ephemeral(channel_id, user_id, self._next_ts(), text, blocks, via="ack")
                )

    def receive_view_ack(self, user_id: str, view_id: str, body: str) -> None:
        """Apply a view_submission ack (response_action) to the user's modal stack."""
        payload = _ack_json(body) or {}
        action = payload.get("response_action")
        with self._lock:
            current = self._views[view_id]
            if action == "errors":
                errors = payload.get("errors")
                if not isinstance(errors, dict) or not errors:
                    self._violate("view_submission ack: response_action=errors without errors")
                    return
                known = {str(b.get("block_id")) for b in current.blocks if isinstance(b, dict)}
                unknown = sorted(set(errors) - known)
                if unknown:
                    self._violate(f"view_submission ack: errors for unknown block_ids {unknown}")
                current.errors = {str(k): str(v) for k, v in errors.items()}
                return
            if action in ("update", "push"):
                view = payload.get("view")
                problems = validate_view(view)
                if not problems and isinstance(view, dict) and view.get("type") != "modal":
                    problems = ["view.type: must be modal"]
                if problems or not isinstance(view, dict):
                    self._violate(f"view_submission ack: invalid view: {problems}")
                    return
                if action == "update":
                    self._replace_view(current, _normalized_view(view))
                    return
                try:
                    self._push_view(user_id, _normalized_view(view))
                except _ApiError as exc:
                    self._violate(f"view_submission ack: push failed: {exc.error}")
                return
            if action == "clear":
                stack = self._stacks.get(user_id) or [view_id]
                self.close_view(user_id, stack[0])
                return
            if action is not None:
                self._violate(f"view_submission ack: unknown response_action {action!r}")
            self.close_view(user_id, view_id)

    # ------------------------------------------------------------------ transport entry points

    def api(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        token: str | None = None,
        origin: str | None = None,
    ) -> ApiResult:
        """Answer one Web API call; `origin` is the app's root URL as the caller reached it."""
        with self._lock:
            args = dict(params)
            body_token = args.pop("token", None)
            token = token or _opt_str(body_token)
            if method in self._app_methods:
                app_handler = self._app_methods[method]
                result = self._with_faults(
                    method, lambda: app_handler(token, origin or self.public_url)
                )
            elif method not in self._methods:
                result = ApiResult(
                    200, {"ok": False, "error": "unknown_method", "req_method": method}
                )
            elif token is None:
                result = ApiResult(200, {"ok": False, "error": "not_authed"})
            elif token != self.token:
                result = ApiResult(200, {"ok": False, "error": "invalid_auth"})
            else:
                handler = self._methods[method]
                result = self._with_faults(method, lambda: handler(args, origin or self.public_url))
            self._record(method, args, result)
            return result

    def upload(self, file_id: str, data: bytes) -> ApiResult:
        """Receive the bytes POSTed to an upload_url (step 2 of files_upload_v2)."""
        with self._lock:
            result = self._with_faults(UPLOAD_METHOD, lambda: self._receive_upload(file_id, data))
            self._record(UPLOAD_METHOD, {"file_id": file_id, "bytes": len(data)}, result)
            return result

    def respond(self, response_id: str, payload: Mapping[str, Any]) -> ApiResult:
        """Receive a POST to a response_url."""
        with self._lock:
            args = dict(payload)
            result = self._with_faults(
                RESPONSE_URL_METHOD, lambda: self._use_response_url(response_id, args)
            )
            self._record(RESPONSE_URL_METHOD, {"id": response_id, **args}, result)
            return result

    def _with_faults(self, method: str, run: Callable[[], JSON]) -> ApiResult:
        fault = self._take_fault(method)
        if fault is not None and not fault.side_effect:
            return _fault_result(fault)
        try:
            result = ApiResult(200, {"ok": True, **run()})
        except _ApiError as exc:
            body: JSON = {"ok": False, "error": exc.error, **exc.extra}
            result = ApiResult(exc.status, body, exc.headers)
        return _fault_result(fault) if fault is not None else result

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def wait_until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Block until `predicate()` is truthy (re-checked per answered call), else TimeoutError."""
        # Bolt acks first and finishes the listener in a thread: tests wait for the side effect.
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"condition not met within {timeout} s")

    def _record(self, method: str, params: JSON, result: ApiResult) -> None:
        self.calls.append(
            Call(
                method, copy.deepcopy(params), copy.deepcopy(result.body), result.status, self.now()
            )
        )
        self._changed.notify_all()

    def report_violation(self, message: str) -> None:
        """Record something real Slack would reject or warn about (used by the simulator)."""
        with self._lock:
            self._violate(message)

    def _violate(self, message: str) -> None:
        self.violations.append(message)

    # ------------------------------------------------------------------ shared helpers

    def _next_ts(self) -> str:
        # Slack's ts doubles as the message id, so it must never repeat even when the clock stalls.
        micros = max(int(self.now() * 1_000_000), self._last_ts_us + 100)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _resolve_channel(self, channel: str) -> str:
        if channel in self.channels:
            return channel
        if channel.startswith("U") and channel in self.users:
            return self.dm_channel(channel)
        name = channel.removeprefix("#")
        for candidate in self.channels.values():
            if candidate.name == name and not candidate.is_im:
                return candidate.id
        raise _ApiError("channel_not_found")

    def _channel_for_query(self, channel: str) -> str:
        try:
            return self._resolve_channel(channel)
        except _ApiError:
            raise KeyError(channel) from None

    def _find_message(self, channel_id: str, ts: str) -> Message | None:
        for msg in self._messages.get(channel_id, []):
            if msg.ts == ts and not msg.deleted:
                return msg
        return None

    def _find_ephemeral(self, ts: str) -> Ephemeral | None:
        for eph in self._ephemerals:
            if eph.ts == ts and not eph.deleted:
                return eph
        return None

    @staticmethod
    def _required(args: JSON, *names: str) -> list[str]:
        values: list[str] = []
        for name in names:
            value = _opt_str(args.get(name))
            if value is None:
                raise _ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
                )
            values.append(value)
        return values

    @staticmethod
    def _json_arg(args: JSON, name: str, error: str) -> Any:
        value = args.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise _ApiError(error, errors=[f"{name}: not valid JSON"]) from exc
        return value

    def _content(
        self, args: JSON, where: str, *, partial: bool = False
    ) -> tuple[str, list[JSON], list[JSON], list[str]]:
        """Validate text/blocks/attachments; return them with any warnings."""
        raw_text = args.get("text")
        text = "" if raw_text is None else str(raw_text)
        blocks = self._json_arg(args, "blocks", "invalid_blocks_format")
        attachments = self._json_arg(args, "attachments", "invalid_attachments")
        if not partial and not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if len(text) > MAX_TEXT:
            self._violate(f"{where}: text is {len(text)} chars (max {MAX_TEXT})")
            raise _ApiError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks, "message")
            if errors:
                self._violate(f"{where}: invalid_blocks: {errors}")
                raise _ApiError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        if attachments is not None and not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")
        warnings: list[str] = []
        if blocks and not text and not partial:
            warnings.append("missing_text_fallback")
            self._violate(f"{where}: blocks without a top-level text fallback")
        return text, _with_block_ids(blocks or []), list(attachments or []), warnings

    def _thread(self, channel_id: str, thread_ts: object, where: str) -> str | None:
        if thread_ts is None or thread_ts == "":
            return None
        if not isinstance(thread_ts, str):
            self._violate(f"{where}: thread_ts must be a string, got {thread_ts!r}")
            thread_ts = str(thread_ts)
        parent = self._find_message(channel_id, thread_ts)
        if parent is None:
            self._violate(f"{where}: thread_ts {thread_ts} is not a message in {channel_id}")
            return thread_ts
        if parent.is_reply and parent.thread_ts is not None:
            self._violate(f"{where}: thread_ts {thread_ts} is a reply; use its parent's ts")
            return parent.thread_ts
        return thread_ts

    def _check_rate(self, method: str, channel_id: str) -> None:
        limit = self.rate_limit
        if not limit.enabled or method not in limit.methods:
            return
        now = self.now()
        tokens, last = self._buckets.get((method, channel_id), (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + max(0.0, now - last) * limit.per_second)
        if tokens < 1.0:
            wait = max(1, math.ceil((1.0 - tokens) / limit.per_second))
            self._buckets[(method, channel_id)] = (tokens, now)
            raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        self._buckets[(method, channel_id)] = (tokens - 1.0, now)

    def _permalink(self, channel_id: str, msg: Message) -> str:
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{msg.ts.replace('.', '')}"
        )
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={channel_id}"
        return link

    def _edit(self, target: Message | Ephemeral, after: MessageVersion, via: str) -> None:
        before = MessageVersion(target.text, target.blocks, getattr(target, "attachments", []))
        target.edits.append(before)
        target.text, target.blocks = after.text, after.blocks
        if isinstance(target, Message):
            target.attachments = after.attachments
        self.updates.append(Edit(target.channel, target.ts, before, after, via, self.now()))

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: JSON, origin: str) -> JSON:
        out: JSON = {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain.title(),
            "user": self.users[BOT_USER_ID].name if BOT_USER_ID in self.users else "pipebot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }
        if self.enterprise_id:
            out["enterprise_id"] = self.enterprise_id
        return out

    def _chat_post_message(self, args: JSON, origin: str) -> JSON:
        (channel,) = self._required(args, "channel")
        channel_id = self._resolve_channel(channel)
        self._check_rate("chat.postMessage", channel_id)
        text, blocks, attachments, warnings = self._content(args, "chat.postMessage")
        thread_ts = self._thread(channel_id, args.get("thread_ts"), "chat.postMessage")
        metadata = self._json_arg(args, "metadata", "invalid_metadata_format")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            raise _ApiError("invalid_metadata_format")
        msg = Message(
            channel_id,
            self._next_ts(),
            text,
            blocks,
            thread_ts=thread_ts,
            attachments=attachments,
            metadata=metadata,
            reply_broadcast=thread_ts is not None and _truthy(args.get("reply_broadcast")),
        )
        self._messages.setdefault(channel_id, []).append(msg)
        out: JSON = {"channel": channel_id, "ts": msg.ts, "message": msg.to_api(self.team_id)}
        return _with_warnings(out, warnings)

    def _chat_post_ephemeral(self, args: JSON, origin: str) -> JSON:
        channel, user = self._required(args, "channel", "user")
        channel_id = self._resolve_channel(channel)
        if user not in self.users:
            raise _ApiError("user_not_found")
        text, blocks, _, warnings = self._content(args, "chat.postEphemeral")
        thread_ts = self._thread(channel_id, args.get("thread_ts"), "chat.postEphemeral")
        eph = Ephemeral(channel_id, user, self._next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(eph)
        return _with_warnings({"message_ts": eph.ts}, warnings)

    def _chat_update(self, args: JSON, origin: str) -> JSON:
        channel, ts = self._required(args, "channel", "ts")
        channel_id = self._resolve_channel(channel)
        msg = self._find_message(channel_id, ts)
        if msg is None:
            raise _ApiError("message_not_found")
        if not msg.is_bot:
            raise _ApiError("cant_update_message")
        if all(args.get(k) is None for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        text, blocks, attachments, _ = self._content(args, "chat.update", partial=True)
        # Slack keeps any field the update leaves out; an empty list removes it.
        after = MessageVersion(
            text if args.get("text") is not None else msg.text,
            blocks if args.get("blocks") is not None else msg.blocks,
            attachments if args.get("attachments") is not None else msg.attachments,
        )
        warnings: list[str] = []
        if after.blocks and not after.text:
            warnings.append("missing_text_fallback")
            self._violate("chat.update: blocks without a top-level text fallback")
        self._edit(msg, after, "chat.update")
        metadata = self._json_arg(args, "metadata", "invalid_metadata_format")
        if isinstance(metadata, dict):
            msg.metadata = metadata
        out: JSON = {
            "channel": channel_id,
            "ts": ts,
            "text": msg.text,
            "message": msg.to_api(self.team_id),
        }
        return _with_warnings(out, warnings)

    def _chat_delete(self, args: JSON, origin: str) -> JSON:
        channel, ts = self._required(args, "channel", "ts")
        channel_id = self._resolve_channel(channel)
        msg = self._find_message(channel_id, ts)
        if msg is None:
            raise _ApiError("message_not_found")
        if not msg.is_bot:
            raise _ApiError("cant_delete_message")
        msg.deleted = True
        return {"channel": channel_id, "ts": ts}

    def _chat_get_permalink(self, args: JSON, origin: str) -> JSON:
        channel, ts = self._required(args, "channel", "message_ts")
        channel_id = self._resolve_channel(channel)
        msg = self._find_message(channel_id, ts)
        if msg is None:
            raise _ApiError("message_not_found")
        return {"channel": channel_id, "permalink": self._permalink(channel_id, msg)}

    def _conversations_info(self, args: JSON, origin: str) -> JSON:
        (channel,) = self._required(args, "channel")
        if channel not in self.channels:
            raise _ApiError("channel_not_found")
        return {"channel": self.channels[channel].to_api()}

    def _conversations_open(self, args: JSON, origin: str) -> JSON:
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        if _opt_str(users) is None:
            if _opt_str(args.get("channel")) is not None:
                (channel,) = self._required(args, "channel")
                if channel not in self.channels:
                    raise _ApiError("channel_not_found")
                return {"channel": {"id": channel}}
            raise _ApiError("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        for user_id in ids:
            if user_id not in self.users:
                raise _ApiError("user_not_found")
        if len(ids) == 1:
            existed = "D" + ids[0][1:] in self.channels
            dm_id = self.dm_channel(ids[0])
            return {"channel": {"id": dm_id}, "already_open": existed, "no_op": existed}
        digest = hashlib.sha1(",".join(sorted(ids)).encode()).hexdigest()[:8].upper()
        mpim_id = f"G{digest}"
        self.channels.setdefault(
            mpim_id, Channel(mpim_id, "mpdm-" + "--".join(sorted(ids)), is_private=True)
        )
        return {"channel": {"id": mpim_id}}

    def _users_info(self, args: JSON, origin: str) -> JSON:
        (user,) = self._required(args, "user")
        if user not in self.users:
            raise _ApiError("user_not_found")
        return {"user": self.users[user].to_api(self.team_id, self.now())}

    def _users_list(self, args: JSON, origin: str) -> JSON:
        now = self.now()
        return {
            "members": [u.to_api(self.team_id, now) for u in self.users.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, args: JSON, origin: str) -> JSON:
        (channel,) = self._required(args, "channel")
        if channel.startswith("U"):
            raise _ApiError("channel_not_found")
        if channel not in self.channels:
            raise _ApiError("channel_not_found")
        oldest = float(args.get("oldest") or 0)
        limit = int(args.get("limit") or 100)
        with_metadata = _truthy(args.get("include_all_metadata"))
        found = [
            m
            for m in self._messages.get(channel, [])
            if not m.deleted and not m.is_reply and float(m.ts) >= oldest
        ]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        out = []
        for message in found[:limit]:
            item = message.to_api(self.team_id)
            if not with_metadata:
                item.pop("metadata", None)
            out.append(item)
        return {"messages": out, "has_more": len(found) > limit}

    # -- views

    def _use_trigger(self, trigger_id: str) -> _Trigger:
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            self._violate(f"trigger_id {trigger_id!r} was never issued")
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            self._violate(f"trigger_id {trigger_id!r} used twice")
            raise _ApiError("exchanged_trigger_id")
        age = self.now() - trigger.issued_at
        if age > TRIGGER_TTL:
            self._violate(f"trigger_id {trigger_id!r} used {age:.1f} s after the action (max 3)")
            raise _ApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _view_arg(self, args: JSON, where: str, kind: str) -> JSON:
        view = self._json_arg(args, "view", "invalid_arguments")
        if view is None:
            raise _ApiError("invalid_arguments", errors=["view: is required"])
        errors = validate_view(view)
        if not errors and isinstance(view, dict) and view.get("type") != kind:
            errors = [f"view.type: {where} needs a {kind} view"]
        if errors or not isinstance(view, dict):
            self._violate(f"{where}: invalid view: {errors}")
            raise _ApiError(
                "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        external_id = _opt_str(view.get("external_id"))
        if external_id is not None:
            for existing in self._views.values():
                live = existing.open or existing.type == "home"
                if (
                    live
                    and existing.external_id == external_id
                    and existing.id != args.get("view_id")
                ):
                    raise _ApiError("duplicate_external_id")
        return _normalized_view(view)

    def _new_view(
        self, user: str, view: JSON, *, root: str | None = None, previous: str | None = None
    ) -> View:
        view_id = self._next_id("V")
        created = View(
            id=view_id,
            user=user,
            type=str(view["type"]),
            view=view,
            hash=self._new_hash(),
            root_view_id=root or view_id,
            previous_view_id=previous,
            external_id=_opt_str(view.get("external_id")),
        )
        self._views[view_id] = created
        return created

    def _new_hash(self) -> str:
        return f"{int(self.now())}.{uuid.uuid4().hex[:8]}"

    def _push_view(self, user: str, view: JSON) -> View:
        stack = self._stacks.get(user, [])
        if not stack:
            raise _ApiError("not_found")
        if len(stack) >= MAX_MODAL_STACK:
            self._violate(f"views.push: modal stack for {user} already has {len(stack)} views")
            raise _ApiError("push_limit_reached")
        root = self._views[stack[0]].id
        pushed = self._new_view(user, view, root=root, previous=stack[-1])
        stack.append(pushed.id)
        return pushed

    def _replace_view(self, current: View, view: JSON) -> None:
        current.history.append(current.view)
        current.view = view
        current.hash = self._new_hash()
        current.errors = None
        current.external_id = _opt_str(view.get("external_id")) or current.external_id
        keep = {
            str(b.get("block_id"))
            for b in current.blocks
            if isinstance(b, dict) and "block_id" in b
        }
        current.state_values = {k: v for k, v in current.state_values.items() if k in keep}

    def _views_open(self, args: JSON, origin: str) -> JSON:
        (trigger_id,) = self._required(args, "trigger_id")
        view = self._view_arg(args, "views.open", "modal")
        trigger = self._use_trigger(trigger_id)
        stack = self._stacks.get(trigger.user)
        if stack:
            self.close_view(trigger.user, stack[0])
        opened = self._new_view(trigger.user, view)
        self._stacks[trigger.user] = [opened.id]
        return {"view": opened.to_api(self.team_id)}

    def _views_push(self, args: JSON, origin: str) -> JSON:
        (trigger_id,) = self._required(args, "trigger_id")
        view = self._view_arg(args, "views.push", "modal")
        trigger = self._use_trigger(trigger_id)
        pushed = self._push_view(trigger.user, view)
        return {"view": pushed.to_api(self.team_id)}

    def _views_update(self, args: JSON, origin: str) -> JSON:
        view_id = _opt_str(args.get("view_id"))
        external_id = _opt_str(args.get("external_id"))
        if view_id is None and external_id is None:
            raise _ApiError("invalid_arguments", errors=["view_id or external_id is required"])
        current = self._views.get(view_id or "")
        if current is None and external_id is not None:
            current = next((v for v in self._views.values() if v.external_id == external_id), None)
        if current is None or (current.type == "modal" and not current.open):
            raise _ApiError("not_found")
        view = self._view_arg({**args, "view_id": current.id}, "views.update", current.type)
        given_hash = _opt_str(args.get("hash"))
        if given_hash is not None and given_hash != current.hash:
            raise _ApiError("hash_conflict")
        self._replace_view(current, view)
        return {"view": current.to_api(self.team_id)}

    def _views_publish(self, args: JSON, origin: str) -> JSON:
        (user,) = self._required(args, "user_id")
        if user not in self.users:
            raise _ApiError("user_not_found")
        view = self._view_arg(args, "views.publish", "home")
        given_hash = _opt_str(args.get("hash"))
        existing_id = self._homes.get(user)
        if existing_id is not None:
            current = self._views[existing_id]
            if given_hash is not None and given_hash != current.hash:
                raise _ApiError("hash_conflict")
            self._replace_view(current, view)
        else:
            current = self._new_view(user, view)
            self._homes[user] = current.id
        return {"view": current.to_api(self.team_id)}

    # -- files

    def _files_get_upload_url(self, args: JSON, origin: str) -> JSON:
        filename, length_arg = self._required(args, "filename", "length")
        try:
            length = int(length_arg)
        except ValueError as exc:
            raise _ApiError("invalid_arguments", errors=["length: must be an integer"]) from exc
        file_id = self._next_id("F")
        upload_url = f"{origin}/upload/{file_id}"
        self._files[file_id] = UploadedFile(
            file_id,
            filename,
            length,
            upload_url,
            alt_txt=_opt_str(args.get("alt_txt")),
            snippet_type=_opt_str(args.get("snippet_type")),
        )
        return {"upload_url": upload_url, "file_id": file_id}

    def _receive_upload(self, file_id: str, data: bytes) -> JSON:
        upload = self._files.get(file_id)
        if upload is None or upload.completed:
            raise _ApiError("file_not_found", status=404)
        if len(data) != upload.length:
            self._violate(f"upload {file_id}: got {len(data)} bytes, announced {upload.length}")
        upload.data = data
        return {"bytes": len(data)}

    def _files_complete_upload(self, args: JSON, origin: str) -> JSON:
        entries = self._json_arg(args, "files", "invalid_arguments")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments", errors=["files: is required"])
        uploads: list[tuple[UploadedFile, JSON]] = []
        for entry in entries:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            upload = self._files.get(str(file_id))
            if upload is None or upload.data is None or upload.completed:
                self._violate(
                    f"files.completeUploadExternal: unknown or unfinished file {file_id!r}"
                )
                raise _ApiError("file_not_found")
            uploads.append((upload, entry))
        channel_ids: list[str] = []
        channel_arg = _opt_str(args.get("channel_id"))
        channels_arg = _opt_str(args.get("channels"))
        if channel_arg is not None:
            channel_ids.append(self._resolve_channel(channel_arg))
        if channels_arg is not None:
            channel_ids.extend(self._resolve_channel(c.strip()) for c in channels_arg.split(","))
        comment = _opt_str(args.get("initial_comment"))
        if comment is not None and len(comment) > MAX_TEXT:
            raise _ApiError("msg_too_long")
        for upload, entry in uploads:
            upload.title = _opt_str(entry.get("title")) or upload.filename
            upload.completed = True
            upload.channels = list(channel_ids)
            upload.initial_comment = comment
        for channel_id in channel_ids:
            thread_ts = self._thread(
                channel_id, args.get("thread_ts"), "files.completeUploadExternal"
            )
            msg = Message(
                channel_id,
                self._next_ts(),
                comment or "",
                thread_ts=thread_ts,
                files=[u.id for u, _ in uploads],
            )
            self._messages.setdefault(channel_id, []).append(msg)
            for upload, _ in uploads:
                upload.thread_ts = thread_ts
        return {
            "files": [
                {"id": u.id, "name": u.filename, "title": u.title, "size": u.length}
                for u, _ in uploads
            ]
        }

    # -- response_url

    def _use_response_url(self, response_id: str, payload: JSON) -> JSON:
        url = self._response_urls.get(response_id)
        if url is None:
            raise _ApiError("invalid_url", status=404)
        if self.now() - url.issued_at > RESPONSE_URL_TTL:
            self._violate(f"response_url used {self.now() - url.issued_at:.0f} s after issue")
            raise _ApiError("expired_url", status=404)
        if url.uses >= RESPONSE_URL_USES:
            self._violate(f"response_url used more than {RESPONSE_URL_USES} times")
            raise _ApiError("used_url", status=404)
        try:
            if _truthy(payload.get("delete_original")):
                self._delete_original(url)
            elif _truthy(payload.get("replace_original")) and url.original is not None:
                self._replace_original(url, payload)
            else:
                self._post_from_response_url(url, payload)
        except _ApiError as exc:
            # Webhook-style endpoints signal a bad payload with the HTTP status, not ok=false.
            if exc.status == 200:
                exc.status = 400
            raise
        url.uses += 1
        return {}

    def _original(self, url: _ResponseUrl) -> Message | Ephemeral:
        if url.original is None:
            raise _ApiError("message_not_found", status=404)
        kind, ts = url.original
        found: Message | Ephemeral | None = (
            self._find_message(url.channel, ts) if kind == "message" else self._find_ephemeral(ts)
        )
        if found is None:
            raise _ApiError("message_not_found", status=404)
        return found

    def _delete_original(self, url: _ResponseUrl) -> None:
        self._original(url).deleted = True

    def _replace_original(self, url: _ResponseUrl, payload: JSON) -> None:
        target = self._original(url)
        text, blocks, attachments, _ = self._content(payload, "response_url", partial=True)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text", status=400)
        if blocks and payload.get("text") is None:
            self._violate("response_url: blocks without a top-level text fallback")
        self._edit(target, MessageVersion(text, blocks, attachments), "response_url")

    def _post_from_response_url(self, url: _ResponseUrl, payload: JSON) -> None:
        text, blocks, attachments, _ = self._content(payload, "response_url")
        thread_ts = _opt_str(payload.get("thread_ts")) or url.thread_ts
        ts = self._next_ts()
        if payload.get("response_type") == "in_channel":
            msg = Message(
                url.channel, ts, text, blocks, thread_ts=thread_ts, attachments=attachments
            )
            self._messages.setdefault(url.channel, []).append(msg)
            if url.original is None:
                url.original = ("message", ts)
        else:
            eph = Ephemeral(url.channel, url.user, ts, text, blocks, thread_ts, via="response_url")
            self._ephemerals.append(eph)
            if url.original is None:
                url.original = ("ephemeral", ts)


def _with_warnings(out: JSON, warnings: list[str]) -> JSON:
    if warnings:
        out["warning"] = ",".join(warnings)
        out["response_metadata"] = {"warnings": warnings}
    return out


def _fault_result(fault: Fault) -> ApiResult:
    status = fault.status or 200
    headers: dict[str, str] = {}
    error = fault.error
    if status == 429:
        error = error or "ratelimited"
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    elif fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if error is None:
        error = "internal_error" if status >= 500 else "fatal_error"
    return ApiResult(status, {"ok": False, "error": error}, headers)


def _with_block_ids(blocks: list[JSON]) -> list[JSON]:
    # Slack fills in a block_id/action_id when the app gives none; payloads then carry it.
    out = copy.deepcopy(blocks)
    for index, block in enumerate(out):
        if not isinstance(block, dict):
            continue
        if "block_id" not in block:
            block["block_id"] = _short_hash(f"{index}:{json.dumps(block, sort_keys=True)}")
        for position, element in enumerate(_elements_of(block)):
            if "action_id" not in element and element.get("type") not in ("image", *_TEXT):
                element["action_id"] = _short_hash(f"{block['block_id']}:{position}")
    return out


_TEXT = ("plain_text", "mrkdwn")


def _normalized_view(view: JSON) -> JSON:
    out = copy.deepcopy(view)
    if isinstance(out.get("blocks"), list):
        out["blocks"] = _with_block_ids(out["blocks"])
    return out


def _elements_of(block: JSON) -> list[JSON]:
    kind = block.get("type")
    if kind == "actions":
        return [e for e in block.get("elements") or [] if isinstance(e, dict)]
    key = {"section": "accessory", "input": "element"}.get(str(kind))
    element = block.get(key) if key else None
    return [element] if isinstance(element, dict) else []


def _short_hash(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:5]


def _ack_json(body: str) -> JSON | None:
    body = body.strip()
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {"text": body}
    return parsed if isinstance(parsed, dict) else None


# ---------------------------------------------------------------------- HTTP (ASGI) layer


def parse_body(content_type: str | None, raw: bytes) -> JSON:
    """Decode a request body the way Slack accepts it: JSON, urlencoded form or multipart."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if not raw:
        return {}
    if kind == "application/json":
        parsed = json.loads(raw.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    if kind == "multipart/form-data":
        return dict(_multipart_fields(content_type or "", raw))
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _multipart_fields(content_type: str, raw: bytes) -> Iterator[tuple[str, Any]]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        is_file = part.get_param("filename", header="content-disposition") is not None
        yield name, data if is_file else data.decode("utf-8")


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _origin(request: Request, suffix: str) -> str:
    # request.base_url ignores Mount prefixes, so derive the app root from the path we served.
    url = str(request.url.replace(query=""))
    return url[: -len(suffix)] if url.endswith(suffix) else url


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


def _json_response(result: ApiResult) -> Response:
    return JSONResponse(result.body, status_code=result.status, headers=result.headers)


def create_app(fake: FakeSlack) -> Starlette:
    """Build the ASGI app serving `fake`: /api/{method}, /upload/{id}, /response/{id}, /link/."""

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        try:
            params = {
                **dict(request.query_params),
                **parse_body(request.headers.get("content-type"), raw),
            }
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid_form_data"})
        await _pause(fake.delay_for(method))
        result = fake.api(
            method,
            params,
            token=_bearer(request.headers.get("authorization")),
            origin=_origin(request, f"/api/{method}"),
        )
        return _json_response(result)

    async def upload(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            parts = [v for _, v in _multipart_fields(content_type, raw) if isinstance(v, bytes)]
            raw = parts[0] if parts else b""
        await _pause(fake.delay_for(UPLOAD_METHOD))
        result = fake.upload(file_id, raw)
        if result.ok:
            return PlainTextResponse(f"OK - {len(raw)}")
        return _json_response(result)

    async def response_url(request: Request) -> Response:
        raw = await request.body()
        try:
            payload = parse_body(request.headers.get("content-type") or "application/json", raw)
            if "payload" in payload and isinstance(payload["payload"], str):
                payload = json.loads(payload["payload"])
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        await _pause(fake.delay_for(RESPONSE_URL_METHOD))
        return _json_response(fake.respond(request.path_params["response_id"], payload))

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/upload/{file_id}", upload, methods=["POST", "PUT"]),
            Route("/response/{response_id}", response_url, methods=["POST"]),
            fake.socket_mode.route(),
        ]
    )


class ThreadedServer:
    """Serve any ASGI app with uvicorn on 127.0.0.1 (free port) from a background thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Root URL of the served app, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start serving and block until the socket accepts connections."""
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="asgi-server", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ASGI server did not start")
            time.sleep(0.005)
        sockets = [s for srv in server.servers for s in (srv.sockets or ())]
        self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeSlackServer(ThreadedServer):
    """Serve a FakeSlack over real HTTP; point WebClient(base_url=server.base_url) at it."""

    def __init__(
        self,
        fake: FakeSlack | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.fake = fake or FakeSlack()
        super().__init__(
            create_app(self.fake), host=host, port=port, startup_timeout=startup_timeout
        )

    @property
    def base_url(self) -> str:
        """The WebClient base_url, e.g. http://127.0.0.1:PORT/api/."""
        return f"{self.url}/api/"

    def start(self) -> None:
        """Start serving; response/upload URLs the fake issues then point at this server."""
        super().start()
        self.fake.public_url = self.url
