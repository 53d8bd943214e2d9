"""Read models the domain hands to handlers, views and jobs (never live ORM rows)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from pipeline.planning import DEFAULT_SOURCES, LostReason, TargetOut, default_reasons
from pipeline.types import ActivityKind, DealStatus


class Schema(BaseModel):
    """Frozen, built from ORM attributes."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class StageOut(Schema):
    """An open stage of a pipeline."""

    key: str
    name: str
    position: int
    probability: int
    stale_days: int


class StageChangeOut(Schema):
    """A deal entering a stage or an outcome."""

    from_stage: str | None
    to_stage: str
    at: datetime
    by: str


class ActivityOut(Schema):
    """A logged call, email, meeting or note."""

    kind: ActivityKind
    text: str
    at: datetime
    by: str
    link: str | None = None


class CloseDateChangeOut(Schema):
    """A change of the expected close date."""

    old_date: date | None
    new_date: date | None
    at: datetime
    by: str


class DealOut(Schema):
    """A deal as every surface shows it."""

    number: int
    name: str
    amount: Decimal | None
    currency: str
    owner_id: str
    stage: str
    status: DealStatus
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    close_date: date | None
    next_step_text: str | None
    next_step_due: date | None
    lost_reason: str | None
    lost_detail: str | None = None
    source: str | None
    last_activity_at: datetime
    snoozed_until: date | None
    updated_at: datetime
    updated_by: str
    version: int

    @property
    def ref(self) -> str:
        """How people refer to the deal: `#12`."""
        return f"#{self.number}"


class DealDetail(DealOut):
    """A deal with its full history."""

    stage_changes: list[StageChangeOut]
    activities: list[ActivityOut]
    close_date_changes: list[CloseDateChangeOut]


class TeamOut(Schema):
    """A team's pipeline settings."""

    id: str
    timezone: str
    currency: str
    channel_id: str | None
    admins: list[str]
    stages: list[StageOut]
    rates: dict[str, Decimal]
    reminders: str = "09:00 mon-fri"
    reminder_mode: str = "channel"
    digest: str = "mon 09:00"
    sources: list[str] = list(DEFAULT_SOURCES)
    lost_reasons: list[LostReason] = default_reasons()
    targets: list[TargetOut] = []
