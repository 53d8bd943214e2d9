"""The unit of work every request and job opens: one transaction around the team's pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline.clock import Clock
from pipeline.service import PipelineService, TeamDefaults
from pipeline.team_settings import new_team
from storage.db import Database
from storage.metric_queries import team_settings
from storage.reports import Reports, SqlReports
from storage.services import service_in


@dataclass(frozen=True)
class Pipe:
    """The request's team pipeline: `write()` is one transaction, `read()` a read-only one."""

    db: Database
    tenant: str
    clock: Clock
    defaults: TeamDefaults

    def __deepcopy__(self, memo: dict[int, Any]) -> Pipe:
        # Bolt deep-copies the context for the work after the ack; a pipe is immutable and
        # shares the database's engine, so the copy is the pipe itself.
        return self

    @contextmanager
    def write(self) -> Iterator[PipelineService]:
        """One transaction: commits when the block ends, rolls back on any error."""
        with self.db.session_scope() as session:
            yield service_in(session, self.tenant, clock=self.clock, defaults=self.defaults)

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
