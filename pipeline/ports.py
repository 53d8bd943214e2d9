"""What the pipeline service needs from storage: one team's data, inside one transaction.

`storage/` implements `PipelineStore` with SQL; tests may implement it in memory. The store
never decides anything: the service validates, picks stages, refuses and detects conflicts,
then asks the store to read or persist typed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from pipeline.planning import TargetOut
from pipeline.schemas import ActivityOut, CloseDateChangeOut, DealDetail, DealOut, StageOut, TeamOut


@dataclass(frozen=True)
class NewTeam:
    """A team's settings the first time pipebot sees it."""

    timezone: str
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class DealQuery:
    """What a deal list narrows on; None means any."""

    owner_id: str | None = None
    stage: str | None = None
    status: str | None = None
    text: str | None = None
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class StaleQuery:
    """Open deals quiet past their stage's threshold with no next step ahead."""

    stages: Sequence[StageOut]
    now: datetime
    today: date
    skip_snoozed: bool = False
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class StageEntry:
    """A deal entering a stage or an outcome; the store links it to the entry before it."""

    to_stage: str
    at: datetime
    by: str


@dataclass(frozen=True)
class NewDeal:
    """A deal to insert, with the number the store allocated."""

    number: int
    name: str
    stage: str
    owner_id: str
    amount: Decimal | None
    currency: str
    created_at: datetime
    created_by: str
    close_date: date | None
    next_step_text: str | None
    next_step_due: date | None
    source: str | None


@dataclass(frozen=True)
class DealHistory:
    """History rows to record with a deal's change (any of them may be absent)."""

    entered: StageEntry | None = None
    activity: ActivityOut | None = None
    close_date_change: CloseDateChangeOut | None = None


class PipelineStore(Protocol):
    """One team's persisted pipeline, inside the caller's transaction (never commits)."""

    # --- team, settings and stages
    def load_team(self) -> TeamOut | None:
        """The team's settings, stages and rates; None before its first use."""
        ...

    def create_team(self, team: NewTeam, stages: Sequence[StageOut]) -> None:
        """Create the team with these stages once, even when two requests race to do it."""
        ...

    def save_settings(self, team: TeamOut) -> None:
        """Persist the team's scalar settings (timezone ... digest), not stages or rates."""
        ...

    def save_stages(self, stages: Sequence[StageOut]) -> None:
        """Make the team's open stages exactly these, matched by key."""
        ...

    def save_rate(self, currency: str, rate: Decimal) -> None:
        """Set one conversion rate into the reporting currency."""
        ...

    def save_targets(self, targets: Sequence[TargetOut]) -> None:
        """Make the team's targets exactly these, matched by owner and period."""
        ...

    def count_open_in_stage(self, stage_key: str) -> int:
        """How many open deals sit in a stage."""
        ...

    def open_names(self) -> list[tuple[str, int]]:
        """Every open deal's name and number."""
        ...

    # --- idempotency
    def claim_operation(self, key: str, now: datetime) -> bool:
        """Record an idempotency key; False when it was recorded before."""
        ...

    def operation_deal(self, key: str) -> int | None:
        """The deal number a recorded operation produced."""
        ...

    def set_operation_deal(self, key: str, number: int) -> None:
        """Remember which deal an operation produced, for the answer to a retry."""
        ...

    # --- deals
    def deal_by_number(self, number: int, *, lock: bool = False) -> DealOut | None:
        """A deal by number; `lock` holds it until the transaction ends."""
        ...

    def deals_by_name(self, text: str, *, limit: int = 11, lock: bool = False) -> list[DealOut]:
        """Deals whose name starts with `text`, case-insensitively; exact matches first."""
        ...

    def deal_detail(self, number: int) -> DealDetail:
        """A deal found in this transaction, with its whole history."""
        ...

    def list_deals(self, query: DealQuery) -> list[DealOut]:
        """Deals matching the query, most recent activity first."""
        ...

    def stale_deals(self, query: StaleQuery) -> list[DealOut]:
        """Stale open deals, quietest first."""
        ...

    def allocate_number(self) -> int:
        """The team's next deal number (never reused)."""
        ...

    def insert_deal(self, deal: NewDeal, entered: StageEntry) -> DealOut:
        """Insert an open deal with its first stage entry."""
        ...

    def save_deal(self, deal: DealOut, history: DealHistory | None = None) -> DealOut:
        """Write a deal found in this transaction; Conflict when it changed meanwhile."""
        ...

    def delete_deal(self, deal: DealOut) -> None:
        """Delete a deal found in this transaction, with its history."""
        ...
