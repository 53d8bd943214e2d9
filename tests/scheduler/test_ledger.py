"""The delivery ledger on its own: claims, leases, retries with backoff, settled runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler import ledger
from scheduler.ledger import Key
from storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = Key("T1", "reminders", "2026-11-30", "C1")


def test_a_claim_is_won_once_until_it_is_sent(db: Database) -> None:
    first = ledger.claim(db, KEY, worker="a", now=NOW)
    assert first is not None
    assert (first.attempts, first.recheck) == (1, False)
    assert ledger.claim(db, KEY, worker="b", now=NOW) is None  # in flight elsewhere
    ledger.mark_sent(db, first.id, ts="1.0", now=NOW)
    assert ledger.claim(db, KEY, worker="b", now=NOW + timedelta(days=1)) is None


def test_a_dead_senders_claim_is_taken_over_after_its_lease(db: Database) -> None:
    assert ledger.claim(db, KEY, worker="a", now=NOW) is not None
    assert ledger.claim(db, KEY, worker="b", now=NOW + ledger.LEASE) is None
    again = ledger.claim(db, KEY, worker="b", now=NOW + ledger.LEASE + timedelta(seconds=1))
    assert again is not None
    assert (again.attempts, again.recheck) == (2, True)
    assert ledger.pending_retries(db, NOW + ledger.LEASE + timedelta(seconds=1)) == []


def test_a_retry_waits_its_backoff_and_a_failure_is_final(db: Database) -> None:
    claim = ledger.claim(db, KEY, worker="a", now=NOW)
    assert claim is not None
    ledger.mark_retry(db, claim.id, error="ratelimited", attempts=claim.attempts, now=NOW)
    assert ledger.error_of(db, KEY) == "ratelimited"
    wait = ledger.backoff(1)
    assert ledger.pending_retries(db, NOW + wait - timedelta(seconds=1)) == []
    assert ledger.pending_retries(db, NOW + wait) == [KEY]
    again = ledger.claim(db, KEY, worker="b", now=NOW + wait)
    assert again is not None
    ledger.mark_failed(db, again.id, error="not_in_channel")
    assert ledger.error_of(db, KEY) == "not_in_channel"
    assert ledger.claim(db, KEY, worker="c", now=NOW + timedelta(days=1)) is None
    assert ledger.pending_retries(db, NOW + timedelta(days=1)) == []


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [ledger.backoff(n).total_seconds() for n in (0, 1, 2, 3, 8)] == [
        30,
        30,
        60,
        120,
        3600,
    ]


def test_settled_finds_runs_marked_done_whatever_the_target(db: Database) -> None:
    done = Key("T1", "reminders-run", "2026-11-30", "*")
    ledger.mark_done(db, done, worker="a", now=NOW)
    ledger.mark_done(db, done, worker="b", now=NOW)  # a second replica: no error, no change
    other_team = Key("T2", "reminders-run", "2026-11-30", "*")
    other_day = Key("T1", "reminders-run", "2026-12-01", "*")
    other_kind = Key("T1", "digest-run", "2026-11-30", "*")
    wanted = [done, other_team, other_day, other_kind]
    assert ledger.settled(db, wanted) == {done}
    assert ledger.settled(db, []) == set()
