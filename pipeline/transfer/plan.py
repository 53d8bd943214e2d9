"""The shared vocabulary of export and import: formats, limits, typed rows and results.

An import plan is a set of rows shaped like the tables they go to (TypedDicts: plain dicts at
run time, so a 100,000-deal import pays nothing for the types). Export records are what storage
streams out of the database for the writers to format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, NotRequired, Required, TypedDict

from pipeline.limits import LIMITS, TextField
from pipeline.planning import DEFAULT_SOURCES, LostReason, TargetOut, default_reasons

FORMAT = "pipebot/1"
CSV_COLUMNS = (
    "number",
    "name",
    "amount",
    "currency",
    "owner",
    "stage",
    "status",
    "created_at",
    "closed_at",
    "close_date",
    "next_step",
    "next_step_due",
    "lost_reason",
    "source",
    "last_activity_at",
    "lost_detail",
)

TIME_EXAMPLE = "2026-11-27T10:00:00Z"
DAY_EXAMPLE = "2026-12-15"
USER_EXAMPLE = "U012ABCDEF"
NAME_EXAMPLE = "Acme Corp"
CSV_EXAMPLE = "Deal Name,Amount,Deal Stage,Deal Owner,Close Date"

# The service's limits, so that everything imported could also have been typed.
MAX_STEP = LIMITS[TextField.NEXT_STEP]
MAX_REASON = LIMITS[TextField.LOST_REASON]
MAX_SOURCE = LIMITS[TextField.SOURCE]
MAX_ID = 32
MAX_NUMBER = 2**31 - 1


# --- import plans ----------------------------------------------------------------------------


class TeamSettings(TypedDict, total=False):
    """Team columns to set; optional keys absent from a file leave the team's own values."""

    timezone: Required[str]
    currency: Required[str]
    admins: list[str]
    channel_id: str | None
    reminders: str
    reminder_mode: str
    digest: str


class StageRow(TypedDict):
    """One open stage of an imported pipeline."""

    key: str
    name: str
    position: int
    probability: int
    stale_days: int


class DealColumns(TypedDict):
    """A deal's own columns, which import writes and export reads."""

    number: int
    name: str
    amount_cents: int | None
    currency: str
    owner_id: str
    stage: str
    status: str
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    close_date: date | None
    next_step_text: str | None
    next_step_due: date | None
    lost_reason: str | None
    lost_detail: str | None
    source: str | None
    last_activity_at: datetime
    snoozed_until: date | None
    updated_at: datetime
    updated_by: str


class DealRow(DealColumns):
    """One imported deal; `number` is 0 until a CSV import reserves the numbers."""

    team_id: str
    version: int


class StageChangeRow(TypedDict):
    """One entry of a deal's stage history; `deal_id` is set once the deal is written."""

    team_id: str
    from_stage: str | None
    to_stage: str
    at: datetime
    by: str
    from_entered_at: datetime | None
    deal_id: NotRequired[int]


class ActivityRow(TypedDict):
    """One logged activity of a deal."""

    team_id: str
    kind: str
    text: str
    at: datetime
    by: str
    link: str | None
    deal_id: NotRequired[int]


class CloseDateChangeRow(TypedDict):
    """One change of a deal's expected close date."""

    team_id: str
    old_date: date | None
    new_date: date | None
    at: datetime
    by: str
    deal_id: NotRequired[int]


@dataclass
class DealRows:
    """One deal's rows, ready for bulk insert once the deal id is known."""

    deal: DealRow
    history: list[StageChangeRow]
    activities: list[ActivityRow]
    close_date_changes: list[CloseDateChangeRow]


@dataclass(frozen=True)
class PlanningPlan:
    """The team-level planning keys of a document; None where the document has no such key."""

    sources: list[str] | None = None
    lost_reasons: list[LostReason] | None = None
    targets: list[TargetOut] | None = None


@dataclass(frozen=True)
class TeamPlan:
    """An import file's validated team keys, deals still raw: they are read once, batch by batch."""

    settings: TeamSettings
    rates: dict[str, Decimal] | None
    stages: list[StageRow]
    deals: list[object]
    planning: PlanningPlan = PlanningPlan()
    # As the file gives it: checked against the highest deal number once every deal is read.
    next_number: object = None


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    deals: int
    stage_changes: int
    activities: int = 0
    close_date_changes: int = 0
    replaced: int = 0
    first_number: int | None = None
    last_number: int | None = None

    def summary(self) -> str:
        """One line for people: how many deals and history rows were written."""
        numbers = ""
        if self.first_number is not None and self.last_number is not None:
            numbers = (
                f" (#{self.first_number})"
                if self.first_number == self.last_number
                else f" (#{self.first_number}–#{self.last_number})"
            )
        text = (
            f"Imported {_plural(self.deals, 'deal')}{numbers} with "
            f"{_plural(self.stage_changes, 'stage change')}, "
            f"{_plural(self.activities, 'activity', 'activities')} and "
            f"{_plural(self.close_date_changes, 'close-date change')}."
        )
        if self.replaced:
            text += f" Replaced {_plural(self.replaced, 'deal')}."
        return text


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


# --- export records --------------------------------------------------------------------------


class StageRecord(NamedTuple):
    """An open stage as exported."""

    key: str
    name: str
    probability: int
    stale_days: int


@dataclass(frozen=True)
class TeamRecord:
    """A team's settings, stages (in pipeline order) and rates, as exported."""

    id: str
    timezone: str
    currency: str
    rates: dict[str, Decimal]
    stages: list[StageRecord]
    admins: list[str]
    channel_id: str | None
    next_number: int
    reminders: str
    reminder_mode: str
    digest: str
    sources: list[str] = field(default_factory=lambda: list(DEFAULT_SOURCES))
    lost_reasons: list[LostReason] = field(default_factory=default_reasons)
    targets: list[TargetOut] = field(default_factory=list)


class DealRecord(DealColumns):
    """A deal's columns as exported, with its row id (a plain dict, like the import rows)."""

    id: int


class StageChangeRecord(NamedTuple):
    """One history entry as exported."""

    to_stage: str
    at: datetime
    by: str


class ActivityRecord(NamedTuple):
    """One activity as exported."""

    kind: str
    text: str
    at: datetime
    by: str
    link: str | None


class CloseDateChangeRecord(NamedTuple):
    """One close-date change as exported."""

    old_date: date | None
    new_date: date | None
    at: datetime
    by: str


class DealExport(NamedTuple):
    """A deal with its history, oldest first."""

    deal: DealRecord
    history: list[StageChangeRecord]
    activities: list[ActivityRecord]
    close_date_changes: list[CloseDateChangeRecord]
