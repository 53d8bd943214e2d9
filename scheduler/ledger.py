"""The delivery ledger as the scheduler uses it: its policy, one transaction a step.

Every post is claimed before it is sent, so each is sent once (`storage/deliveries.py` holds
the rows and their queries). Here lives what the scheduler decides: how long a claim's lease
lasts, how long a transient failure waits before its retry, and which steps share a
transaction. Each function opens its own, so a slow Slack call never holds one open.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from storage import deliveries
from storage.db import Database
from storage.deliveries import Claim, Key, Status

__all__ = [
    "LEASE",
    "Claim",
    "Key",
    "Status",
    "backoff",
    "claim",
    "error_of",
    "mark_done",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "pending_retries",
    "settled",
    "state",
]

# A sender that has not recorded its post by then is taken for dead and its post re-claimed.
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """How long a transient failure waits: 30 s, doubling with each attempt, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def claim(db: Database, key: Key, *, worker: str, now: datetime) -> Claim | None:
    """Claim a delivery; None when it is sent, failed, in flight elsewhere or not yet retryable."""
    with db.session_scope() as session:
        return deliveries.claim(session, key, worker=worker, now=now, lease_until=now + LEASE)


def mark_sent(db: Database, claim_id: int, *, ts: str | None, now: datetime) -> None:
    """The post is in Slack."""
    with db.session_scope() as session:
        deliveries.mark_sent(session, claim_id, ts=ts, now=now)


def mark_retry(db: Database, claim_id: int, *, error: str, attempts: int, now: datetime) -> None:
    """A transient failure: try again later, with exponential backoff."""
    with db.session_scope() as session:
        deliveries.mark_retry(
            session, claim_id, error=error, next_attempt_at=now + backoff(attempts)
        )


def mark_failed(db: Database, claim_id: int, *, error: str) -> None:
    """A permanent failure: never retried."""
    with db.session_scope() as session:
        deliveries.mark_failed(session, claim_id, error=error)


def mark_done(db: Database, key: Key, *, worker: str, now: datetime) -> None:
    """Record a delivery that posts nothing (a run's completion), claimed and sent at once."""
    with db.session_scope() as session:
        won = deliveries.claim(session, key, worker=worker, now=now, lease_until=now + LEASE)
        if won is not None:
            deliveries.mark_sent(session, won.id, ts=None, now=now)


def state(db: Database, key: Key) -> tuple[Status, str | None] | None:
    """A delivery's status and the ts of what it posted; None when it was never claimed."""
    with db.read_scope() as session:
        return deliveries.state(session, key)


def error_of(db: Database, key: Key) -> str | None:
    """The last error recorded for a delivery."""
    with db.read_scope() as session:
        return deliveries.error_of(session, key)


def settled(db: Database, wanted: Iterable[Key]) -> set[Key]:
    """The wanted keys whose team, kind and period already have a delivery, whatever its target.

    One read, and one query a kind however many teams.
    """
    keys = list(wanted)
    teams: dict[str, list[str]] = defaultdict(list)
    periods: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        teams[key.kind].append(key.team_id)
        periods[key.kind].add(key.period)
    with db.read_scope() as session:
        found = {
            (kind, team, period)
            for kind in teams
            for team, period in deliveries.settled_periods(
                session, teams[kind], kind, periods[kind]
            )
        }
    return {k for k in keys if (k.kind, k.team_id, k.period) in found}


def pending_retries(db: Database, now: datetime, *, limit: int = 500) -> list[Key]:
    """Deliveries whose retry time has come, or whose sender died mid-send."""
    with db.read_scope() as session:
        return deliveries.pending_retries(session, now, limit=limit)
