"""The fake workspace's records: users, channels, messages, views, files, calls and faults."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

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
    completed: bool = False
    data: bytes | None = None
    title: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None

    def to_api(self) -> JSON:
        """The file object as Slack shows it in a message (the fields pipebot reads)."""
        return {"id": self.id, "name": self.filename, "title": self.title, "size": self.length}


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
    # The connection is closed without any answer (status 0): the caller cannot tell the outcome.
    dropped: bool = False

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
    drop: bool = False


@dataclass
class Trigger:
    """A trigger_id a user action issued: usable once, within TRIGGER_TTL seconds."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    """A response_url issued with a command or a click, and the message it may replace."""

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


def default_users() -> list[User]:
    """The members a fresh fake workspace has: the bot, an admin and two sellers."""
    return [
        User(BOT_USER_ID, "pipebot", "Pipebot", is_bot=True),
        User(DEFAULT_USER, "alice", "Alice Admin", True, True, "America/New_York"),
        User("U0BOB", "bob", "Bob Seller", tz="Europe/Berlin"),
        User("U0CAROL", "carol", "Carol Closer", tz="Asia/Tokyo"),
    ]


def default_channels() -> list[Channel]:
    """The channels a fresh fake workspace has: #sales and #general."""
    return [Channel(DEFAULT_CHANNEL, "sales"), Channel("C0GENERAL", "general")]
