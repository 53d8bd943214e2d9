"""The fake workspace's state, and what every Web API family shares (ts, channels, content)."""

from __future__ import annotations

import copy
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import TypedDict, Unpack

from sandbox.blockkit import validate_blocks
from sandbox.slack_api.args import json_arg
from sandbox.slack_api.block_ids import with_block_ids
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import (
    DEFAULT_TEAM_ID,
    DEFAULT_TOKEN,
    JSON,
    MAX_TEXT,
    Call,
    Channel,
    Edit,
    Ephemeral,
    Fault,
    Message,
    MessageVersion,
    RateLimit,
    ResponseUrl,
    Trigger,
    UploadedFile,
    User,
    View,
    default_channels,
    default_users,
)


class StoreOptions(TypedDict, total=False):
    """What a fake workspace is made of (FakeSlack's keyword arguments); all optional."""

    team_id: str
    team_domain: str
    token: str
    enterprise_id: str | None
    # The clock (Unix seconds): inject a FakeClock to move time by hand.
    now: Callable[[], float]
    # Root URL of the ASGI app (no trailing slash); FakeSlackServer sets it once bound.
    public_url: str
    rate_limit: RateLimit | None
    users: list[User] | None
    channels: list[Channel] | None


class SlackStore:
    """The thread-safe state of one fake workspace, and the checks every API family shares."""

    def __init__(self, **options: Unpack[StoreOptions]) -> None:
        self.team_id = options.get("team_id", DEFAULT_TEAM_ID)
        self.team_domain = options.get("team_domain", "demo")
        self.token = options.get("token", DEFAULT_TOKEN)
        self.enterprise_id = options.get("enterprise_id")
        self.now = options.get("now", time.time)
        self.public_url = options.get("public_url", "http://127.0.0.1")
        self.rate_limit = options.get("rate_limit") or RateLimit()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        users, channels = options.get("users"), options.get("channels")
        self._seed_users = users if users is not None else default_users()
        self._seed_channels = channels if channels is not None else default_channels()
        self.users: dict[str, User] = {u.id: u for u in copy.deepcopy(self._seed_users)}
        self.channels: dict[str, Channel] = {c.id: c for c in copy.deepcopy(self._seed_channels)}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.updates: list[Edit] = []
        self._init_activity()

    def _init_activity(self) -> None:
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._views: dict[str, View] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._files: dict[str, UploadedFile] = {}
        self._triggers: dict[str, Trigger] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}
        # rate_limit_one_in: method -> every, the calls already failed once, how many failed.
        self._sampled_429: dict[str, int] = {}
        self._sampled_seen: set[str] = set()
        self.injected_429 = 0
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self.calls.clear()
        self.violations.clear()
        self.updates.clear()

    @property
    def api_url(self) -> str:
        """The base_url to give slack_sdk's WebClient."""
        return f"{self.public_url}/api/"

    def dm_channel(self, user_id: str) -> str:
        """Return the id of the bot's DM with this user, opening it if needed."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(user_id)
            dm_id = "D" + user_id[1:]
            if dm_id not in self.channels:
                self.channels[dm_id] = Channel(dm_id, user_id, is_im=True, user=user_id)
            return dm_id

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
        raise ApiError("channel_not_found")

    def _channel_for_query(self, channel: str) -> str:
        try:
            return self._resolve_channel(channel)
        except ApiError:
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

    def _content(
        self, args: JSON, where: str, *, partial: bool = False
    ) -> tuple[str, list[JSON], list[JSON], list[str]]:
        """Validate text/blocks/attachments; return them with any warnings."""
        raw_text = args.get("text")
        text = "" if raw_text is None else str(raw_text)
        blocks = json_arg(args, "blocks", "invalid_blocks_format")
        attachments = json_arg(args, "attachments", "invalid_attachments")
        if not partial and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if len(text) > MAX_TEXT:
            self._violate(f"{where}: text is {len(text)} chars (max {MAX_TEXT})")
            raise ApiError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks, "message")
            if errors:
                self._violate(f"{where}: invalid_blocks: {errors}")
                raise ApiError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        if attachments is not None and not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        warnings: list[str] = []
        if blocks and not text and not partial:
            warnings.append("missing_text_fallback")
            self._violate(f"{where}: blocks without a top-level text fallback")
        return text, with_block_ids(blocks or []), list(attachments or []), warnings

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
            raise ApiError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        self._buckets[(method, channel_id)] = (tokens - 1.0, now)

    def _edit(self, target: Message | Ephemeral, after: MessageVersion, via: str) -> None:
        before = MessageVersion(target.text, target.blocks, getattr(target, "attachments", []))
        target.edits.append(before)
        target.text, target.blocks = after.text, after.blocks
        if isinstance(target, Message):
            target.attachments = after.attachments
        self.updates.append(Edit(target.channel, target.ts, before, after, via, self.now()))
