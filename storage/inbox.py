"""The inbox's rows: a Slack request is written before its ack and marked done with its work.

A row is inserted under its request's dedupe key (a retry or a double click finds the row
already there), leased to the process that acked it, and marked done in the same transaction
as the work's own write, so the write is applied once however often the row is run. A row
whose lease ran out while not done is claimed again by any replica (`claim_expired`). How
long a lease lasts, when to claim and when to prune are the bot's policy (`bot/inbox.py`);
these statements only record them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import InboxEntry
from storage.sql import insert_new


class AlreadyDone(Exception):
    """Another run of the same inbox row has already applied its work: this run stops."""


class Ticket:
    """This run's hold on one inbox row; `applied` once this run has marked the row done."""

    def __init__(self, row_id: int) -> None:
        self.id = row_id
        self.applied = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Ticket:
        # Bolt copies the context for the work after the ack: the work must hold this ticket.
        return self

    def __repr__(self) -> str:
        return f"Ticket({self.id}, applied={self.applied})"


@dataclass(frozen=True)
class Incoming:
    """A request to write before its ack."""

    team_id: str | None
    kind: str
    mode: str
    body: str
    headers: dict[str, list[str]]


@dataclass(frozen=True)
class Stored:
    """A row to run again: the request as received, and how many runs it has had."""

    id: int
    kind: str
    mode: str
    body: str
    headers: dict[str, list[str]]
    attempts: int


@dataclass(frozen=True)
class Backlog:
    """Rows acked but not done: how many, and the age in seconds of the oldest (None if none)."""

    pending: int
    oldest_age_seconds: float | None


def receive(
    session: Session,
    request: Incoming,
    *,
    key: str,
    now: datetime,
    lease_until: datetime,
    seen_as: str | None = None,
    since: datetime | None = None,
) -> int | None:
    """Write a request under `key`; None when it is already there (a duplicate).

    `seen_as` is another key the same request may have been written under since `since` (the
    previous window of a windowed key): found there, it is a duplicate too.
    """
    if seen_as is not None and since is not None:
        earlier = select(InboxEntry.id).where(
            InboxEntry.dedupe_key == seen_as, InboxEntry.received_at >= since
        )
        if session.execute(earlier).first() is not None:
            return None
    lease = {"received_at": now, "lease_until": lease_until, "attempts": 1}
    row_id: int | None = insert_new(
        session, InboxEntry, {**asdict(request), "dedupe_key": key, **lease}
    )
    return row_id


def mark_done(session: Session, row_id: int, *, now: datetime) -> bool:
    """Mark a row done unless it already is; False when another run got there first.

    On PostgreSQL a second run's UPDATE waits for the first run's transaction and then finds
    the row done; on SQLite write transactions never overlap.
    """
    done = session.execute(
        update(InboxEntry)
        .where(InboxEntry.id == row_id, InboxEntry.done_at.is_(None))
        .values(done_at=now)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def settle(db: Database, ticket: Ticket, *, now: datetime) -> bool:
    """Mark a ticket's row done in a transaction of its own, unless this run already did.

    False when another run of the row marked it done first: its outcome belongs to that run.
    """
    if ticket.applied:
        return True
    with db.session_scope() as session:
        mine = mark_done(session, ticket.id, now=now)
    ticket.applied = mine
    return mine


def claim_expired(
    session: Session, *, now: datetime, lease_until: datetime, limit: int
) -> list[Stored]:
    """Lease the rows acked but not done whose lease has run out, oldest first.

    `FOR UPDATE SKIP LOCKED` lets replicas claim side by side on PostgreSQL (SQLite ignores
    it: its write transactions never overlap); the lease condition is repeated in the UPDATE
    so a row is leased by one claimer only.
    """
    expired = (InboxEntry.done_at.is_(None), InboxEntry.lease_until < now)
    pending = (
        select(InboxEntry.id)
        .where(*expired)
        .order_by(InboxEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(InboxEntry)
        .where(InboxEntry.id.in_(pending.scalar_subquery()), *expired)
        .values(lease_until=lease_until, attempts=InboxEntry.attempts + 1)
        .returning(
            InboxEntry.id,
            InboxEntry.kind,
            InboxEntry.mode,
            InboxEntry.body,
            InboxEntry.headers,
            InboxEntry.attempts,
        )
    ).all()
    stored = [Stored(r.id, r.kind, r.mode, r.body, dict(r.headers), r.attempts) for r in rows]
    return sorted(stored, key=lambda s: s.id)


def extend(session: Session, row_ids: Iterable[int], *, lease_until: datetime) -> None:
    """Extend the lease of rows this process is still working on (locked rows are being done)."""
    ids = list(row_ids)
    if not ids:
        return
    mine = (
        select(InboxEntry.id)
        .where(InboxEntry.id.in_(ids), InboxEntry.done_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(InboxEntry)
        .where(InboxEntry.id.in_(mine.scalar_subquery()))
        .values(lease_until=lease_until)
    )


def prune(session: Session, *, done_before: datetime) -> int:
    """Delete the rows done before `done_before`; how many went."""
    gone = session.execute(
        delete(InboxEntry).where(InboxEntry.done_at.is_not(None), InboxEntry.done_at < done_before)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]


def backlog(session: Session, *, now: datetime) -> Backlog:
    """The rows acked but not done: how many, and how old the oldest is (for health checks)."""
    count, oldest = session.execute(
        select(func.count(), func.min(InboxEntry.received_at)).where(InboxEntry.done_at.is_(None))
    ).one()
    if oldest is None:
        return Backlog(int(count), None)
    return Backlog(int(count), max((now - oldest).total_seconds(), 0.0))


def entry(session: Session, row_id: int) -> InboxEntry | None:
    """One row, for tests and diagnostics."""
    return session.get(InboxEntry, row_id)
