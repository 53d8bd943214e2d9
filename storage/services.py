"""The pipeline service over the SQL store, inside one session: what every unit of work yields."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pipeline.clock import Clock, utcnow
from pipeline.service import PipelineService, TeamDefaults
from storage.pipeline_store import SqlPipelineStore


def service_in(
    session: Session,
    team_id: str,
    *,
    clock: Clock = utcnow,
    defaults: TeamDefaults | None = None,
) -> PipelineService:
    """The team's pipeline service working inside `session`'s transaction."""
    return PipelineService(
        SqlPipelineStore(session, team_id),
        team_id,
        clock=clock,
        defaults=defaults or TeamDefaults(),
    )
