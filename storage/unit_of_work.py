"""The unit of work every request and job opens: one transaction around the team's pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline.clock import Clock, utcnow
from pipeline.service import PipelineService, TeamDefaults
from storage.db import Database
from storage.pipeline_store import SqlPipelineStore


def service_in(
    session: Session,
    team_id: str,
    *,
    clock: Clock = utcnow,
    defaults: TeamDefaults | None = None,
) -> PipelineService:
    """The team's pipeline service working inside `session`'s transaction."""
    service = PipelineService(
        SqlPipelineStore(session, team_id),
        team_id,
        clock=clock,
        defaults=defaults or TeamDefaults(),
    )
    # Transitional: callers that still run their own queries reach the session here.
    service.session = session
    return service


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
