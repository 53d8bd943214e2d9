"""The inbox's statements on a real database: written once, done once, claimed by one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.errors import InvalidInput
from pipeline.service import TeamDefaults
from storage import inbox
from storage.db import Database
from storage.inbox import AlreadyDone, Incoming, Ticket
from storage.services import service_in
from storage.unit_of_work import Pipe

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
TEAM = "T0INBOX"


def incoming(body: str = "command=%2Fdeal&text=list") -> Incoming:
    return Incoming(
        TEAM, "command", "http", body, {"content-type": ["application/x-www-form-urlencoded"]}
    )


def write(
    db: Database,
    key: str,
    *,
    at: datetime = NOW,
    seen_as: str | None = None,
    since: datetime | None = None,
) -> int | None:
    with db.session_scope() as s:
        return inbox.receive(
            s, incoming(), key=key, now=at, lease_until=at + LEASE, seen_as=seen_as, since=since
        )


def test_a_request_is_written_once_under_its_key(db: Database) -> None:
    first = write(db, "command:abc:1")
    assert first is not None
    assert write(db, "command:abc:1") is None  # a duplicate
    with db.read_scope() as s:
        row = inbox.entry(s, first)
        assert row is not None
        assert (row.team_id, row.kind, row.mode, row.attempts, row.done_at) == (
            TEAM,
            "command",
            "http",
            1,
            None,
        )
        assert row.headers == {"content-type": ["application/x-www-form-urlencoded"]}
        assert row.lease_until == NOW + LEASE


def test_the_previous_window_counts_only_while_it_is_recent(db: Database) -> None:
    assert write(db, "click:abc:10") is not None
    soon, later = NOW + timedelta(seconds=1), NOW + timedelta(seconds=5)
    earlier = "click:abc:10"
    window = timedelta(seconds=2)
    assert write(db, "click:abc:11", at=soon, seen_as=earlier, since=soon - window) is None
    assert write(db, "click:abc:12", at=later, seen_as=earlier, since=later - window) is not None


def test_done_once_and_the_second_run_is_told(db: Database) -> None:
    row = write(db, "k")
    assert row is not None
    with db.session_scope() as s:
        assert inbox.mark_done(s, row, now=NOW)
    with db.session_scope() as s:
        assert not inbox.mark_done(s, row, now=NOW + timedelta(seconds=1))
    with db.read_scope() as s:
        entry = inbox.entry(s, row)
        assert entry is not None
        assert entry.done_at == NOW


def test_only_rows_not_done_whose_lease_ran_out_are_claimed(db: Database) -> None:
    live, dead, done = (write(db, k) for k in ("live", "dead", "done"))
    assert live is not None
    assert dead is not None
    assert done is not None
    with db.session_scope() as s:
        inbox.extend(s, [live], lease_until=NOW + timedelta(minutes=5))
        inbox.mark_done(s, done, now=NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    with db.session_scope() as s:
        claimed = inbox.claim_expired(s, now=later, lease_until=later + LEASE, limit=10)
    assert [(c.id, c.attempts, c.kind) for c in claimed] == [(dead, 2, "command")]
    assert claimed[0].body == incoming().body
    with db.session_scope() as s:  # leased again: nobody else takes it now
        assert inbox.claim_expired(s, now=later, lease_until=later + LEASE, limit=10) == []


def test_two_claimers_never_take_the_same_row(db: Database) -> None:
    rows = [write(db, f"k{n}") for n in range(40)]
    later = NOW + LEASE * 2
    taken: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def claim(slot: int) -> None:
        start.wait()
        while True:
            with db.session_scope() as s:
                got = inbox.claim_expired(s, now=later, lease_until=later + LEASE, limit=3)
            if not got:
                return
            taken[slot] += [g.id for g in got]

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken[0] + taken[1]) == sorted(r for r in rows if r is not None)


def test_prune_deletes_only_rows_done_long_enough_ago(db: Database) -> None:
    old, recent, pending = (write(db, k) for k in ("old", "recent", "pending"))
    assert old is not None
    assert recent is not None
    assert pending is not None
    with db.session_scope() as s:
        inbox.mark_done(s, old, now=NOW - timedelta(days=2))
        inbox.mark_done(s, recent, now=NOW)
    with db.session_scope() as s:
        assert inbox.prune(s, done_before=NOW - timedelta(days=1)) == 1
    with db.read_scope() as s:
        assert inbox.entry(s, old) is None
        assert inbox.entry(s, recent) is not None
        assert inbox.entry(s, pending) is not None


def test_backlog_counts_rows_not_done_and_the_age_of_the_oldest(db: Database) -> None:
    with db.read_scope() as s:
        assert inbox.backlog(s, now=NOW) == inbox.Backlog(0, None)
    first = write(db, "a", at=NOW - timedelta(seconds=90))
    write(db, "b", at=NOW - timedelta(seconds=10))
    assert first is not None
    with db.read_scope() as s:
        assert inbox.backlog(s, now=NOW) == inbox.Backlog(2, 90.0)
    with db.session_scope() as s:
        inbox.mark_done(s, first, now=NOW)
    with db.read_scope() as s:
        assert inbox.backlog(s, now=NOW) == inbox.Backlog(1, 10.0)


def pipe(db: Database, ticket: Ticket | None) -> Pipe:
    return Pipe(db=db, tenant=TEAM, clock=lambda: NOW, defaults=TeamDefaults(), ticket=ticket)


def test_the_first_write_marks_the_row_done_with_itself(db: Database) -> None:
    row = write(db, "w")
    assert row is not None
    ticket = Ticket(row)
    with pipe(db, ticket).write() as p:
        p.create("Acme", actor="U1")
    assert ticket.applied
    with pipe(db, ticket).write() as p:  # a later write of the same run is not refused
        p.create("Globex", actor="U1")
    # Another run of the same row stops before writing.
    with pytest.raises(AlreadyDone), pipe(db, Ticket(row)).write() as p:
        p.create("Acme", actor="U1")
    with db.read_scope() as s:
        assert [d.name for d in service_in(s, TEAM).list_deals()] == ["Globex", "Acme"]


def test_a_write_that_fails_leaves_the_row_to_run_again(db: Database) -> None:
    row = write(db, "f")
    assert row is not None
    ticket = Ticket(row)
    with pytest.raises(InvalidInput), pipe(db, ticket).write() as p:
        p.create("", actor="U1")
    assert not ticket.applied
    with db.read_scope() as s:
        entry = inbox.entry(s, row)
        assert entry is not None
        assert entry.done_at is None
    assert pipe(db, ticket).settle()  # the failure is the outcome: settled, said once
    assert not pipe(db, Ticket(row)).settle()  # another run finds it settled


def test_two_runs_of_one_row_apply_it_once(db: Database) -> None:
    row = write(db, "race")
    assert row is not None
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(name: str) -> None:
        start.wait()
        try:
            with pipe(db, Ticket(row)).write() as p:
                p.create(name, actor="U1")
            outcomes.append("applied")
        except AlreadyDone:
            outcomes.append("stopped")

    threads = [threading.Thread(target=run, args=(n,)) for n in ("One", "Two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "stopped"]
    with db.read_scope() as s:
        assert len(service_in(s, TEAM).list_deals()) == 1
