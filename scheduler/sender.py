"""Delivering scheduled posts exactly once: claim in the ledger, pace, post, record."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from pipeline.clock import Clock, utcnow
from scheduler import ledger
from storage.db import Database
from views.common import Blocks

logger = logging.getLogger("pipebot.scheduler")

EVENT_TYPE = "pipebot_delivery"
# Errors that will not go away by retrying: the item fails and the team's admins are told.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "missing_scope",
        "user_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
    }
)


class Outcome(StrEnum):
    """What became of one delivery attempt."""

    SENT = "sent"
    FOUND = "found"  # a retry found the earlier attempt had gone through
    SKIPPED = "skipped"  # someone else has it, or it is done
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Upload:
    """A file to share in the post's thread (files_upload_v2)."""

    filename: str
    content: bytes
    title: str


@dataclass(frozen=True)
class Post:
    """One scheduled message for one channel or one user (a DM)."""

    key: ledger.Key
    text: str
    blocks: Blocks
    thread: list[tuple[str, Blocks]] = field(default_factory=list)
    upload: Upload | None = None

    @property
    def to_user(self) -> bool:
        """True when the target is a user (sent as a DM)."""
        return self.key.target.startswith(("U", "W"))


class Pacer:
    """At most one post per `interval` seconds per channel, as Slack asks of chat.postMessage."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.sleep = sleep
        self.monotonic = monotonic
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        """Block until this channel may take another message."""
        with self._lock:
            now = self.monotonic()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def done(self, channel: str) -> None:
        """Start the channel's interval again when a post has finished.

        Slack counts posts as they arrive; a slow post arrives late, and the next one, timed
        from when the slow one left, would arrive too soon after it and be refused (429).
        """
        with self._lock:
            now = self.monotonic()
            self._next[channel] = max(self._next.get(channel, now), now + self.interval)


def _error_code(exc: SlackApiError) -> str:
    response: Any = exc.response
    try:
        return str(response.get("error") or f"http_{response.status_code}")
    except AttributeError:  # pragma: no cover - slack_sdk always gives a response
        return "unknown_error"


class Sender:
    """Sends posts through the ledger; safe to run in many threads and many replicas."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        worker: str,
        clock: Clock = utcnow,
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.worker = worker
        self.clock = clock
        self.pacer = pacer or Pacer()
        self._dm: dict[str, str] = {}

    def channel_for(self, target: str) -> str:
        """The channel to post in: the target itself, or the DM with a user."""
        if not target.startswith(("U", "W")):
            return target
        if target not in self._dm:
            opened = self.client.conversations_open(users=[target])
            self._dm[target] = str(opened["channel"]["id"])
        return self._dm[target]

    def deliver(self, post: Post) -> Outcome:
        """Claim, post and record one delivery; never raises for Slack errors."""
        claim = ledger.claim(self.db, post.key, worker=self.worker, now=self.clock())
        if claim is None:
            return Outcome.SKIPPED
        try:
            channel = self.channel_for(post.key.target)
            if claim.recheck and (ts := self._already_posted(channel, post.key)):
                self._record(claim, ts)
                return Outcome.FOUND
            self.pacer.wait(channel)
            try:
                response = self.client.chat_postMessage(
                    channel=channel,
                    text=post.text,
                    blocks=post.blocks,
                    metadata={
                        "event_type": EVENT_TYPE,
                        "event_payload": {"key": post.key.encode()},
                    },
                    unfurl_links=False,
                )
            finally:
                self.pacer.done(channel)
        except SlackApiError as exc:
            return self._failed(claim, _error_code(exc))
        except Exception as exc:  # network errors, timeouts: the post may or may not exist
            logger.warning("delivery %s: %s", post.key.encode(), exc)
            return self._failed(claim, type(exc).__name__)
        ts = str(response["ts"])
        self._record(claim, ts)
        self._follow_up(channel, ts, post)
        return Outcome.SENT

    def _record(self, claim: ledger.Claim, ts: str) -> None:
        ledger.mark_sent(self.db, claim.id, ts=ts, now=self.clock())

    def _failed(self, claim: ledger.Claim, error: str) -> Outcome:
        if error in PERMANENT:
            ledger.mark_failed(self.db, claim.id, error=error)
            logger.error("delivery %s failed for good: %s", claim.key.encode(), error)
            return Outcome.FAILED
        ledger.mark_retry(self.db, claim.id, error=error, attempts=claim.attempts, now=self.clock())
        logger.warning("delivery %s will be retried: %s", claim.key.encode(), error)
        return Outcome.RETRY

    def _already_posted(self, channel: str, key: ledger.Key) -> str | None:
        """The ts of an earlier attempt that reached Slack, found by our metadata key."""
        history = self.client.conversations_history(
            channel=channel, limit=100, include_all_metadata=True
        )
        messages: list[dict[str, Any]] = history.get("messages", [])
        for message in messages:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key.encode()
            ):
                return str(message["ts"])
        return None

    def _follow_up(self, channel: str, ts: str, post: Post) -> None:
        """Thread replies and the chart; the delivery already counts, so failures only log."""
        try:
            for text, blocks in post.thread:
                self.pacer.wait(channel)
                try:
                    self.client.chat_postMessage(
                        channel=channel, thread_ts=ts, text=text, blocks=blocks
                    )
                finally:
                    self.pacer.done(channel)
            if post.upload is not None:
                self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    filename=post.upload.filename,
                    content=post.upload.content,
                    title=post.upload.title,
                )
        except SlackApiError as exc:
            logger.warning("follow-up of %s failed: %s", post.key.encode(), _error_code(exc))
