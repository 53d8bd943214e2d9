"""The teams' schedules as the scheduler reads them: a few columns of every team, typed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import PipebotError
from pipeline.schedule import TeamSchedule
from storage.models import Team

# Logged under the scheduler's name: it is the one reader of these rows.
logger = logging.getLogger("pipebot.scheduler")


@dataclass(frozen=True)
class TeamRow:
    """The few team fields the scheduler needs."""

    id: str
    timezone: str
    reminders: str
    reminder_mode: str
    digest: str
    channel_id: str | None
    admins: tuple[str, ...]
    created_at: datetime

    def schedule(self) -> TeamSchedule | None:
        """The parsed schedule, or None (logged) when the stored text is unusable."""
        try:
            return TeamSchedule.parse(self.reminders, self.reminder_mode, self.digest)
        except PipebotError:
            logger.exception("team %s has an unusable schedule", self.id)
            return None


def team_schedules(session: Session, team_id: str | None = None) -> list[TeamRow]:
    """Every team (or the one asked for), with what scheduling needs."""
    stmt = select(
        Team.id,
        Team.timezone,
        Team.reminders,
        Team.reminder_mode,
        Team.digest,
        Team.channel_id,
        Team.admins,
        Team.created_at,
    )
    if team_id is not None:
        stmt = stmt.where(Team.id == team_id)
    return [
        TeamRow(
            r.id,
            r.timezone,
            r.reminders,
            r.reminder_mode,
            r.digest,
            r.channel_id,
            tuple(r.admins or ()),
            r.created_at,
        )
        for r in session.execute(stmt)
    ]
