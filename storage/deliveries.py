"""The delivery ledger's rows: claim a post before sending it, so each is sent once.

A claim is a row keyed by (team, kind, period, target). Inserting it wins the right to send;
a crash or a transient Slack failure leaves it `retry` (or `sending` with an expired lease),
and whoever re-claims it must first check Slack for the post (it may have gone through)
before sending again. How long a lease lasts and when a retry comes are the scheduler's
policy (`scheduler/ledger.py`); these queries only record them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from storage.models import Delivery
from storage.sql import insert_ignore


class Status(StrEnum):
    """Where a delivery stands."""

    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Key:
    """What makes a delivery unique."""

    team_id: str
    kind: str
    period: str
    target: str

    def encode(self) -> str:
        """The key as carried in a message's metadata."""
        return f"{self.team_id}:{self.kind}:{self.period}:{self.target}"


@dataclass(frozen=True)
class Claim:
    """The right to send one delivery; `recheck` means it may already have been posted."""

    id: int
    key: Key
    attempts: int
    recheck: bool
    created_at: datetime


def _where(key: Key) -> ColumnElement[bool]:
    return and_(
        Delivery.team_id == key.team_id,
        Delivery.kind == key.kind,
        Delivery.period == key.period,
        Delivery.target == key.target,
    )


def _retryable(now: datetime) -> ColumnElement[bool]:
    """A retry whose time has come, or a send whose sender died (its lease ran out)."""
    return or_(
        and_(Delivery.status == Status.RETRY.value, Delivery.next_attempt_at <= now),
        and_(Delivery.status == Status.SENDING.value, Delivery.lease_until < now),
    )


def claim(
    session: Session, key: Key, *, worker: str, now: datetime, lease_until: datetime
) -> Claim | None:
    """Claim a delivery; None when it is sent, failed, in flight elsewhere or not yet retryable."""
    inserted = insert_ignore(
        session,
        Delivery,
        {
            "team_id": key.team_id,
            "kind": key.kind,
            "period": key.period,
            "target": key.target,
            "status": Status.SENDING.value,
            "attempts": 1,
            "claimed_by": worker,
            "lease_until": lease_until,
            "created_at": now,
        },
    )
    if inserted:
        new = session.execute(select(Delivery.id, Delivery.created_at).where(_where(key))).one()
        return Claim(new.id, key, 1, False, new.created_at)
    # UPDATE's rowcount is reliable on both backends; RETURNING gives us the row as well.
    row = session.execute(
        update(Delivery)
        .where(_where(key), _retryable(now))
        .values(
            status=Status.SENDING.value,
            claimed_by=worker,
            lease_until=lease_until,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.attempts, Delivery.created_at)
    ).first()
    if row is None:
        return None
    return Claim(row.id, key, row.attempts, True, row.created_at)


def mark_sent(session: Session, claim_id: int, *, ts: str | None, now: datetime) -> None:
    """The post is in Slack."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == claim_id)
        .values(status=Status.SENT.value, sent_at=now, message_ts=ts, error=None)
    )


def mark_retry(session: Session, claim_id: int, *, error: str, next_attempt_at: datetime) -> None:
    """A transient failure: try again at `next_attempt_at`."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == claim_id)
        .values(status=Status.RETRY.value, error=error, next_attempt_at=next_attempt_at)
    )


def mark_failed(session: Session, claim_id: int, *, error: str) -> None:
    """A permanent failure: never retried."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == claim_id)
        .values(status=Status.FAILED.value, error=error, next_attempt_at=None)
    )


def state(session: Session, key: Key) -> tuple[Status, str | None] | None:
    """A delivery's status and the ts of what it posted; None when it was never claimed."""
    row = session.execute(
        select(Delivery.status, Delivery.message_ts).where(_where(key))
    ).one_or_none()
    return None if row is None else (Status(row.status), row.message_ts)


def error_of(session: Session, key: Key) -> str | None:
    """The last error recorded for a delivery."""
    return session.execute(select(Delivery.error).where(_where(key))).scalar_one_or_none()


def settled_periods(
    session: Session, team_ids: Iterable[str], kind: str, periods: Iterable[str]
) -> set[tuple[str, str]]:
    """(team, period) pairs that already have any delivery of `kind` (one query for all teams)."""
    teams, wanted = list(team_ids), set(periods)
    if not teams or not wanted:
        return set()
    rows = session.execute(
        select(Delivery.team_id, Delivery.period).where(
            Delivery.team_id.in_(teams),
            Delivery.kind == kind,
            Delivery.period.in_(wanted),
        )
    )
    return {(r.team_id, r.period) for r in rows}


def pending_retries(session: Session, now: datetime, *, limit: int = 500) -> list[Key]:
    """Deliveries whose retry time has come, or whose sender died mid-send."""
    rows = session.execute(
        select(Delivery.team_id, Delivery.kind, Delivery.period, Delivery.target)
        .where(_retryable(now))
        .limit(limit)
    )
    return [Key(r.team_id, r.kind, r.period, r.target) for r in rows]
