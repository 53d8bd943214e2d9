"""What every listener gets in its context: the tenant and a way into the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext

from pipeline.clock import Clock
from pipeline.service import PipelineService, TeamDefaults
from storage.db import Database


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
            yield PipelineService(session, self.tenant, clock=self.clock, defaults=self.defaults)

    @contextmanager
    def read(self) -> Iterator[PipelineService]:
        """A read-only look that never takes SQLite's write lock."""
        with self.db.read_scope() as session:
            yield PipelineService(session, self.tenant, clock=self.clock, defaults=self.defaults)


def tenant_of(context: BoltContext) -> str | None:
    """The tenant key: the org for org-wide installs, else the workspace."""
    if context.is_enterprise_install and context.enterprise_id:
        return context.enterprise_id
    return context.team_id


def pipe_middleware(db: Database, clock: Clock, defaults: TeamDefaults) -> Callable[..., Any]:
    """Bolt middleware that puts a `pipe` (and the tenant) into every request's context."""

    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:
        tenant = tenant_of(context)
        if tenant:
            context["tenant"] = tenant
            context["pipe"] = Pipe(db=db, tenant=tenant, clock=clock, defaults=defaults)
        return next()

    return middleware
