"""Delivering scheduled posts exactly once: claim in the ledger, pace, post, record.

Each follow-up of a post (a thread reply, the digest's chart) goes through the ledger the same
way, so a post found already sent still gets what it is missing.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import telemetry
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


def error_code(exc: SlackApiError) -> str:
    """Slack's error code for a failed call (`http_<status>` when the body has none)."""
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
        """Claim, post and record one delivery, then its follow-ups; never raises for Slack errors.

        The outcome is the post's. A post found already in Slack (after a 5xx, a lost answer or
        a crash) still gets whichever of its follow-ups are missing.
        """
        outcome = self._deliver(post)
        telemetry.DELIVERIES.labels(post.key.kind, "post", outcome.value).inc()
        return outcome

    def _deliver(self, post: Post) -> Outcome:
        claim = ledger.claim(self.db, post.key, worker=self.worker, now=self.clock())
        if claim is None:
            self._finish_sent(post)
            return Outcome.SKIPPED
        outcome = Outcome.SENT
        try:
            channel = self.channel_for(post.key.target)
            if claim.recheck and (ts := self._already_posted(channel, post.key)):
                outcome = Outcome.FOUND
            else:
                ts = self._post(channel, post.key, post.text, post.blocks)
        except SlackApiError as exc:
            return self._failed(claim, error_code(exc))
        except Exception as exc:  # network errors, timeouts: the post may or may not exist
            logger.warning("delivery %s: %s", post.key.encode(), exc)
            return self._failed(claim, type(exc).__name__)
        self._record(claim, ts)
        self._follow_up(channel, ts, post)
        return outcome

    def _post(
        self,
        channel: str,
        key: ledger.Key,
        text: str,
        blocks: Blocks,
        thread_ts: str | None = None,
    ) -> str:
        """Post one message carrying its ledger key (how a checked retry finds it); its ts."""
        self.pacer.wait(channel)
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key.encode()}},
                unfurl_links=False,
            )
        finally:
            self.pacer.done(channel)
        return str(response["ts"])

    def _finish_sent(self, post: Post) -> None:
        """Give a post someone else already sent the follow-ups it may still be missing."""
        if not post.thread and post.upload is None:
            return
        found = ledger.state(self.db, post.key)
        if found is None or found[0] != ledger.Status.SENT or found[1] is None:
            return
        try:
            channel = self.channel_for(post.key.target)
        except Exception as exc:
            logger.warning("follow-ups of %s: %s", post.key.encode(), exc)
            return
        self._follow_up(channel, found[1], post)

    def _record(self, claim: ledger.Claim, ts: str | None) -> None:
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
        return next((str(m["ts"]) for m in messages if _carries(m, key)), None)

    def _follow_up(self, channel: str, ts: str, post: Post) -> None:
        """Each thread reply, then the chart: each claimed in the ledger like the post.

        They go in order: a step in flight elsewhere or waiting for its retry holds back the
        ones after it, which its own retry run then sends.
        """
        thread = functools.cache(lambda: self._replies(channel, ts))  # read once, if needed
        for step in _steps(post):
            claim = ledger.claim(self.db, step.key, worker=self.worker, now=self.clock())
            if claim is None:
                found = ledger.state(self.db, step.key)
                if found is not None and found[0] in (ledger.Status.SENT, ledger.Status.FAILED):
                    continue
                return
            outcome = self._take_step(channel, ts, step, claim, thread)
            telemetry.DELIVERIES.labels(step.key.kind, step.part, outcome.value).inc()
            if outcome == Outcome.RETRY:
                return

    def _take_step(
        self,
        channel: str,
        ts: str,
        step: FollowUp,
        claim: ledger.Claim,
        thread: Callable[[], list[dict[str, Any]]],
    ) -> Outcome:
        """Send one claimed follow-up, after looking for it in the thread if it may be there."""
        try:
            if claim.recheck and step.found_in(thread()):
                self._record(claim, None)
                return Outcome.FOUND
            self._record(claim, self._send_step(channel, ts, step))
            return Outcome.SENT
        except SlackApiError as exc:
            return self._failed(claim, error_code(exc))
        except Exception as exc:  # the step may or may not have reached Slack
            logger.warning("follow-up %s: %s", step.key.encode(), exc)
            return self._failed(claim, type(exc).__name__)

    def _send_step(self, channel: str, ts: str, step: FollowUp) -> str | None:
        """Post one reply or upload the chart in the thread; the reply's ts."""
        if step.upload is None:
            return self._post(channel, step.key, step.text, step.blocks, thread_ts=ts)
        self.client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            filename=step.upload.filename,
            content=step.upload.content,
            title=step.upload.title,
        )
        return None

    def _replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread under `ts` with metadata and files, to find what already went out."""
        found = self.client.conversations_replies(
            channel=channel, ts=ts, limit=200, include_all_metadata=True
        )
        messages: list[dict[str, Any]] = found.get("messages", [])
        return messages


@dataclass(frozen=True)
class FollowUp:
    """One part of a delivery after its post: a thread reply, or the chart upload."""

    key: ledger.Key
    text: str = ""
    blocks: Blocks = field(default_factory=list)
    upload: Upload | None = None

    @property
    def part(self) -> str:
        """What it is, for the metrics: reply or chart."""
        return "reply" if self.upload is None else "chart"

    def found_in(self, thread: list[dict[str, Any]]) -> bool:
        """True when the thread already holds this step (by our metadata key, or the file)."""
        if self.upload is not None:
            name = self.upload.filename
            return any(f.get("name") == name for m in thread for f in m.get("files") or [])
        return any(_carries(m, self.key) for m in thread)


def follow_up_key(key: ledger.Key, part: str) -> ledger.Key:
    """The ledger key of one follow-up: its post's key, the part named after the target.

    Same team, kind and period as the post, so a retry of it re-runs the post's run.
    """
    return ledger.Key(key.team_id, key.kind, key.period, f"{key.target}/{part}")


def _steps(post: Post) -> list[FollowUp]:
    steps = [
        FollowUp(follow_up_key(post.key, f"reply{n}"), text, blocks)
        for n, (text, blocks) in enumerate(post.thread, start=1)
    ]
    if post.upload is not None:
        steps.append(FollowUp(follow_up_key(post.key, "chart"), upload=post.upload))
    return steps


def _carries(message: dict[str, Any], key: ledger.Key) -> bool:
    """True when a message carries our metadata with this ledger key."""
    metadata = message.get("metadata") or {}
    return bool(
        metadata.get("event_type") == EVENT_TYPE
        and (metadata.get("event_payload") or {}).get("key") == key.encode()
    )
