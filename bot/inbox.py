"""The durable inbox: a request whose work runs after the ack is written down before the ack.

Slack never resends a request it got a 200 for, so the work pipebot does after its ack would
die with the process that acked it. Instead, a Bolt middleware (`record_before_ack`) writes
every such request to the `inbox` table in one short transaction before the ack, leased to
this process; the work marks its row done in the same transaction as its own write
(`storage.unit_of_work.Pipe.write`), or when it has finished if it writes nothing. Every
replica runs a replayer (`Replayer`): it keeps the leases of its own rows alive while their
work is queued or running, and claims the rows of a process that died (acked, not done, lease
run out) and runs them through the Bolt app again. A row already done does nothing when run
again, and a replay that finds its write applied by another run stops before it posts.

Modal submissions are not written: their write happens before their answer already. A Slack
retry (the same `event_id`), a command delivered twice (the same `trigger_id`) and a double
click (the same person, button and card state, again within `WINDOW`) find their row written
and are acked, not run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse

from bot import health
from bot.middleware import TICKET, tenant_of
from pipeline.clock import Clock, utcnow
from storage import inbox
from storage.db import Database
from storage.inbox import Backlog, Incoming, Stored, Ticket

logger = logging.getLogger("pipebot.inbox")

# Double clicks land within a few hundred milliseconds; a person who clicks Edit again after
# closing the form takes longer than this.
WINDOW = timedelta(seconds=2)
# A row whose runs keep dying with their process (e.g. out of memory) is given up after this.
MAX_ATTEMPTS = 5
# How many expired rows one claim takes.
BATCH = 50
# How long the ack waits for SQLite's write lock to write its row (a long write, such as an
# import, may hold it): past that the request is acked without its row, as before the inbox.
WRITE_TIMEOUT = 0.5

# What differs between two deliveries of the same click.
PER_DELIVERY = frozenset({"trigger_id", "response_url", "response_urls", "action_ts", "token"})
# The headers Bolt reads when it parses the body again.
KEPT_HEADERS = ("content-type", "x-slack-retry-num", "x-slack-retry-reason")
# Requests whose work runs after the ack (modal submissions write before it).
INTERACTIONS = frozenset({"block_actions", "shortcut", "message_action"})


@dataclass(frozen=True)
class Key:
    """A request's dedupe key: `windowed` ones are the same request only within WINDOW."""

    kind: str
    value: str
    windowed: bool


def _without_delivery(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_delivery(v) for k, v in value.items() if k not in PER_DELIVERY}
    if isinstance(value, list):
        return [_without_delivery(v) for v in value]
    return value


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(_without_delivery(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def dedupe_key(body: dict[str, Any]) -> Key | None:
    """The key of a request written to the inbox; None for one whose work precedes the ack."""
    if "command" in body:
        # Slack never resends a command, and one typed again is meant again (often after a
        # refusal was fixed): only the very same delivery (its trigger_id) is a duplicate.
        trigger = body.get("trigger_id")
        if trigger:
            return Key("command", f"{body.get('team_id', '')}:{trigger}", windowed=False)
        return Key("command", _digest(body), windowed=True)
    kind = body.get("type")
    if kind in INTERACTIONS:
        return Key(str(kind), _digest(body), windowed=True)
    if kind == "event_callback":
        event_id = body.get("event_id")
        if event_id:
            # Slack's retries (X-Slack-Retry-Num) carry the event_id of the first delivery.
            return Key("event", f"{body.get('team_id', '')}:{event_id}", windowed=False)
        return Key("event", _digest(body), windowed=True)
    return None


def _stored_body(request: BoltRequest) -> str:
    if request.mode == "socket_mode":
        return json.dumps(request.body)
    return request.raw_body


def _headers(request: BoltRequest) -> dict[str, list[str]]:
    return {k: list(request.headers[k]) for k in KEPT_HEADERS if request.headers.get(k)}


@dataclass(kw_only=True, eq=False)
class Inbox:
    """The inbox as this process uses it: write before the ack, finish, keep leases, replay.

    `lease` is how long a row stays this process's before another may take it over,
    `retention` how long done rows are kept, `window` how close two clicks are one.
    """

    db: Database
    lease: timedelta
    retention: timedelta
    window: timedelta = WINDOW
    clock: Clock = utcnow
    # The rows this process is working on, whose leases it renews.
    _held: set[int] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    # ------------------------------------------------------------------ before the ack

    def receive(self, request: BoltRequest, key: Key, tenant: str | None) -> Ticket | None:
        """Write a request, leased to this process; None when it was written before."""
        now = self.clock()
        value, seen_as, since = f"{key.kind}:{key.value}", None, None
        if key.windowed:
            bucket = math.floor(now.timestamp() / self.window.total_seconds())
            value, seen_as = f"{value}:{bucket}", f"{value}:{bucket - 1}"
            since = now - self.window
        body, headers = _stored_body(request), _headers(request)
        incoming = Incoming(tenant, key.kind, request.mode, body, headers)
        with self.db.session_scope(lock_timeout=WRITE_TIMEOUT, urgent=True) as session:
            row_id = inbox.receive(
                session,
                incoming,
                key=value,
                now=now,
                lease_until=now + self.lease,
                seen_as=seen_as,
                since=since,
            )
        if row_id is None:
            return None
        self._hold(row_id)
        return Ticket(row_id)

    def middleware(self) -> Callable[..., BoltResponse | None]:
        """The Bolt middleware that writes a request before its ack (see the module's text).

        It puts the row's ticket in the context; the app settles it once the request's work
        has finished (`PipebotApp.dispatch`).
        """

        def record_before_ack(
            request: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
        ) -> BoltResponse | None:
            if context.get(TICKET) is not None:
                return next()  # a replay: its row is written already
            key = dedupe_key(request.body)
            if key is None:
                return next()
            try:
                ticket = self.receive(request, key, tenant_of(context))
            except Exception as exc:
                # Slack must have its answer: the work runs as it did before the inbox.
                logger.warning(
                    "acked a %s without writing it to the inbox (%s): it is lost if this "
                    "process dies before its work is done",
                    key.kind,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                return next()
            if ticket is None:
                logger.info("a %s already received was acked and not run again", key.kind)
                return BoltResponse(status=200, body="")
            context[TICKET] = ticket
            return next()

        return record_before_ack

    # ------------------------------------------------------------------ after the work

    def finish(self, ticket: Ticket) -> None:
        """The request's work is over: mark its row done (if its write did not) and let go."""
        try:
            inbox.settle(self.db, ticket, now=self.clock())
        except Exception:
            # The lease runs out and a replica runs it again; its write, if any, was applied.
            logger.exception("could not mark inbox row %d done", ticket.id)
        finally:
            with self._lock:
                self._held.discard(ticket.id)

    def _hold(self, row_id: int) -> None:
        with self._lock:
            self._held.add(row_id)

    def held(self) -> set[int]:
        """The rows this process is working on."""
        with self._lock:
            return set(self._held)

    # ------------------------------------------------------------------ the replayer's steps

    def heartbeat(self) -> None:
        """Extend the lease of every row this process is still working on."""
        held = self.held()
        if held:
            with self.db.session_scope() as session:
                inbox.extend(session, held, lease_until=self.clock() + self.lease)

    def claim(self) -> list[Stored]:
        """Lease the rows whose process died (acked, not done, lease run out)."""
        now = self.clock()
        with self.db.session_scope() as session:
            rows = inbox.claim_expired(session, now=now, lease_until=now + self.lease, limit=BATCH)
        for row in rows:
            self._hold(row.id)
        return rows

    def replay(self, app: App) -> int:
        """Run the claimed rows of dead processes through the Bolt app again; how many ran."""
        ran = 0
        for row in self.claim():
            ticket = Ticket(row.id)
            if row.attempts > MAX_ATTEMPTS:
                logger.error(
                    "gave up on inbox row %d (%s) after %d runs", row.id, row.kind, row.attempts
                )
                self.finish(ticket)
                continue
            logger.info("running inbox row %d (%s) again, run %d", row.id, row.kind, row.attempts)
            headers: dict[str, str | Sequence[str]] = dict(row.headers)
            request = BoltRequest(
                body=json.loads(row.body) if row.mode == "socket_mode" else row.body,
                headers=headers,
                context={TICKET: ticket},
                mode=row.mode,
            )
            try:
                app.dispatch(request)  # settles the row once the work has finished
            except Exception:
                logger.exception("inbox row %d failed to run again", row.id)
            ran += 1
        return ran

    def prune(self) -> int:
        """Delete the rows done longer ago than the retention; how many went."""
        with self.db.session_scope() as session:
            return inbox.prune(session, done_before=self.clock() - self.retention)

    def backlog(self) -> Backlog:
        """Rows acked but not done, and the age of the oldest (for /readyz and /metrics)."""
        with self.db.read_scope() as session:
            return inbox.backlog(session, now=self.clock())

    def check(self, *, limit: int) -> health.Check:
        """/readyz's inbox check: fewer than `limit` requests acked and not done."""

        def measure() -> health.Backlog:
            found = self.backlog()
            return health.Backlog(found.pending, found.oldest_age_seconds or 0.0)

        return health.backlog_check(measure, limit=limit)


class Replayer:
    """The thread every replica runs beside the server: leases, replays and pruning."""

    def __init__(self, inbox: Inbox, app: App) -> None:
        self.inbox = inbox
        self.app = app
        # Often enough that a lease is renewed twice before it could run out.
        self.interval = max(inbox.lease.total_seconds() / 3, 0.2)
        self.prune_every = timedelta(minutes=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pipebot-inbox", daemon=True)
        self._pruned_at: datetime | None = None

    def start(self) -> Replayer:
        """Start the thread: a first replay at once (rows a restart left), then periodically."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (the rows still held keep their lease until it runs out)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def step(self) -> None:
        """One round: renew leases, replay dead processes' rows, prune once in a while."""
        self.inbox.heartbeat()
        self.inbox.replay(self.app)
        now = self.inbox.clock()
        if self._pruned_at is None or now - self._pruned_at >= self.prune_every:
            pruned = self.inbox.prune()
            self._pruned_at = now
            if pruned:
                logger.info("pruned %d done inbox rows", pruned)

    def _loop(self) -> None:
        while True:
            try:
                self.step()
            except Exception:
                # The database may be down for a while: keep trying, without a traceback storm.
                logger.warning("inbox round failed; trying again", exc_info=True)
            if self._stop.wait(self.interval):
                return
