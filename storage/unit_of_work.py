"""The unit of work every request and job opens: one transaction around the team's pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline.clock import Clock, utcnow
from pipeline.service import PipelineService, TeamDefaults
from pipeline.team_settings import new_team
from storage import inbox
from storage.db import Database
from storage.inbox import AlreadyDone, Ticket
from storage.metric_queries import team_settings
from storage.reports import Reports, SqlReports
from storage.services import service_in


@dataclass(frozen=True)
class Pipe:
    """The request's team pipeline: `write()` is one transaction, `read()` a read-only one.

    `ticket` is the request's inbox row when it has one (`storage/inbox.py`): the request's
    first write marks it done in its own transaction, so the write is applied once however
    often the row is run.
    """

    db: Database
    tenant: str
    clock: Clock
    defaults: TeamDefaults
    ticket: Ticket | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> Pipe:
        # Bolt deep-copies the context for the work after the ack; a pipe is immutable and
        # shares the database's engine, so the copy is the pipe itself.
        return self

    @contextmanager
    def write(self) -> Iterator[PipelineService]:
        """One transaction: commits when the block ends, rolls back on any error.

        Raises AlreadyDone, before anything is written, when another run of the request's
        inbox row has applied it already.
        """
        ticket = self.ticket if self.ticket is not None and not self.ticket.applied else None
        with self.db.session_scope() as session:
            # First statement of the transaction: a second run of the row waits here for the
            # first one's commit (PostgreSQL row lock; SQLite's write lock) and then stops.
            # Wall-clock time, not the pipe's clock: leases and retention are real time.
            if ticket is not None and not inbox.mark_done(session, ticket.id, now=utcnow()):
                raise AlreadyDone(f"inbox row {ticket.id}")
            yield service_in(session, self.tenant, clock=self.clock, defaults=self.defaults)
        if ticket is not None:
            ticket.applied = True

    def settle(self) -> bool:
        """Mark the request's inbox row done now, if no write did; False if another run did."""
        if self.ticket is None:
            return True
        return inbox.settle(self.db, self.ticket, now=utcnow())

    @contextmanager
    def read(self) -> Iterator[PipelineService]:
        """A read-only look that never takes SQLite's write lock."""
        with self.db.read_scope() as session:
            yield service_in(session, self.tenant, clock=self.clock, defaults=self.defaults)

    @contextmanager
    def reports(self) -> Iterator[Reports]:
        """One read-only transaction for a report: the team's queries and service, and now."""
        with self.db.read_scope() as session:
            service = service_in(session, self.tenant, clock=self.clock, defaults=self.defaults)
            team = team_settings(session, self.tenant) or new_team(
                self.tenant, timezone=self.defaults.timezone, currency=self.defaults.currency
            )
            yield Reports(SqlReports(session, team), service, self.clock())
