"""The pipeline service's store on SQL: one team's rows, inside the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pipeline.errors import Conflict
from pipeline.planning import TargetOut
from pipeline.ports import DealHistory, DealQuery, NewDeal, NewTeam, StageEntry, StaleQuery
from pipeline.schemas import DealDetail, DealOut, StageOut, TeamOut
from pipeline.types import DealStatus
from storage import planning_queries
from storage import repositories as repo
from storage.conditions import stale_condition
from storage.metric_queries import team_out
from storage.models import (
    Activity,
    CloseDateChange,
    Deal,
    Rate,
    Stage,
    StageChange,
    Team,
    is_push,
)

# What a deal's write may change; number, creation and version are the store's own.
_DEAL_FIELDS = (
    "name",
    "currency",
    "owner_id",
    "stage",
    "closed_at",
    "close_date",
    "next_step_text",
    "next_step_due",
    "lost_reason",
    "lost_detail",
    "source",
    "last_activity_at",
    "snoozed_until",
    "updated_at",
    "updated_by",
)
_SETTINGS = ("timezone", "currency", "channel_id", "reminders", "reminder_mode", "digest")


def _cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount.scaleb(2).to_integral_value())


class SqlPipelineStore:
    """`pipeline.ports.PipelineStore` on SQLAlchemy; never commits, the session scope does."""

    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id
        self._team: Team | None = None
        # The deal rows read in this transaction, by number: writes go to the row read.
        self._deals: dict[int, Deal] = {}

    # --- team, settings and stages

    def _team_row(self) -> Team:
        if self._team is None:
            team = repo.get_team(self.session, self.team_id)
            if team is None:
                raise LookupError(f"team {self.team_id} is not created yet")
            self._team = team
        return self._team

    def load_team(self) -> TeamOut | None:
        """The team's settings, stages and rates; None before its first use."""
        team = self._team or repo.get_team(self.session, self.team_id)
        if team is None:
            return None
        self._team = team
        return team_out(team)

    def create_team(self, team: NewTeam, stages: Sequence[StageOut]) -> None:
        """Create the team with these stages once, even when two requests race to do it."""
        created = repo.create_team_if_missing(
            self.session,
            self.team_id,
            timezone=team.timezone,
            currency=team.currency,
            now=team.created_at,
        )
        if created:
            for stage in stages:
                self.session.add(Stage(team_id=self.team_id, **stage.model_dump()))
            self.session.flush()

    def save_settings(self, team: TeamOut) -> None:
        """Persist the team's scalar settings (timezone ... digest), not stages or rates."""
        row = self._team_row()
        for name in _SETTINGS:
            setattr(row, name, getattr(team, name))
        # A new list object: SQLAlchemy does not see in-place changes to a JSON column.
        row.admins = list(team.admins)
        row.sources = list(team.sources)
        row.lost_reasons = [r.model_dump() for r in team.lost_reasons]
        self.session.flush()

    def save_stages(self, stages: Sequence[StageOut]) -> None:
        """Make the team's open stages exactly these, matched by key."""
        row = self._team_row()
        current = {s.key: s for s in row.stages}
        rows = []
        for stage in stages:
            existing = current.get(stage.key)
            if existing is None:
                rows.append(Stage(team_id=self.team_id, **stage.model_dump()))
                continue
            existing.name = stage.name
            existing.position = stage.position
            existing.probability = stage.probability
            existing.stale_days = stage.stale_days
            rows.append(existing)
        row.stages[:] = rows  # delete-orphan removes the stages left out
        self.session.flush()

    def save_rate(self, currency: str, rate: Decimal) -> None:
        """Set one conversion rate into the reporting currency."""
        row = self._team_row()
        for existing in row.rates:
            if existing.currency == currency:
                existing.rate = rate
                break
        else:
            row.rates.append(Rate(team_id=self.team_id, currency=currency, rate=rate))
        self.session.flush()

    def save_targets(self, targets: Sequence[TargetOut]) -> None:
        """Make the team's targets exactly these, matched by owner and period."""
        planning_queries.save_targets(self.session, self._team_row(), targets)

    def count_open_in_stage(self, stage_key: str) -> int:
        """How many open deals sit in a stage."""
        return repo.count_open_in_stage(self.session, self.team_id, stage_key)

    def open_names(self) -> list[tuple[str, int]]:
        """Every open deal's name and number."""
        stmt = select(Deal.name, Deal.number).where(
            Deal.team_id == self.team_id, Deal.status == DealStatus.OPEN.value
        )
        return [(name, number) for name, number in self.session.execute(stmt)]

    # --- idempotency

    def claim_operation(self, key: str, now: datetime) -> bool:
        """Record an idempotency key; False when it was recorded before."""
        return repo.claim_operation(self.session, self.team_id, key, now=now)

    def operation_deal(self, key: str) -> int | None:
        """The deal number a recorded operation produced."""
        return repo.operation_deal(self.session, self.team_id, key)

    def set_operation_deal(self, key: str, number: int) -> None:
        """Remember which deal an operation produced, for the answer to a retry."""
        repo.set_operation_deal(self.session, self.team_id, key, number)

    # --- deals

    def _out(self, row: Deal) -> DealOut:
        self._deals[row.number] = row
        return DealOut.model_validate(row)

    def deal_by_number(self, number: int, *, lock: bool = False) -> DealOut | None:
        """A deal by number; `lock` holds it until the transaction ends."""
        row = repo.deal_by_number(self.session, self.team_id, number, lock=lock)
        return None if row is None else self._out(row)

    def deals_by_name(self, text: str, *, limit: int = 11, lock: bool = False) -> list[DealOut]:
        """Deals whose name starts with `text`, case-insensitively; exact matches first."""
        rows = repo.deals_by_name(self.session, self.team_id, text, limit=limit, lock=lock)
        return [self._out(row) for row in rows]

    def deal_detail(self, number: int) -> DealDetail:
        """A deal found in this transaction, with its whole history."""
        return DealDetail.model_validate(self._deals[number])

    def list_deals(self, query: DealQuery) -> list[DealOut]:
        """Deals matching the query, most recent activity first."""
        rows = repo.list_deals(self.session, self.team_id, query)
        return [DealOut.model_validate(row) for row in rows]

    def stale_deals(self, query: StaleQuery) -> list[DealOut]:
        """Stale open deals, quietest first."""
        today = query.today
        stmt = select(Deal).where(
            Deal.team_id == self.team_id,
            Deal.status == DealStatus.OPEN.value,
            stale_condition(Deal.stage, Deal.last_activity_at, query.stages, query.now, today),
        )
        if query.skip_snoozed:
            stmt = stmt.where(or_(Deal.snoozed_until.is_(None), Deal.snoozed_until <= today))
        stmt = stmt.order_by(Deal.last_activity_at, Deal.number)
        rows = self.session.scalars(stmt.limit(query.limit).offset(query.offset))
        return [DealOut.model_validate(row) for row in rows]

    def allocate_number(self) -> int:
        """The team's next deal number (never reused)."""
        return repo.allocate_number(self.session, self.team_id)

    def insert_deal(self, deal: NewDeal, entered: StageEntry) -> DealOut:
        """Insert an open deal with its first stage entry."""
        columns = {name: value for name, value in vars(deal).items() if name != "amount"}
        row = Deal(
            team_id=self.team_id,
            amount_cents=_cents(deal.amount),
            status=DealStatus.OPEN.value,
            last_activity_at=entered.at,
            updated_at=entered.at,
            updated_by=entered.by,
            **columns,
        )
        self._record(row, DealHistory(entered=entered))  # a new row: no entry before it
        self.session.add(row)
        self._flush(deal.number)
        return self._out(row)

    def save_deal(self, deal: DealOut, history: DealHistory | None = None) -> DealOut:
        """Write a deal found in this transaction; Conflict when it changed meanwhile."""
        row = self._deals[deal.number]
        for name in _DEAL_FIELDS:
            setattr(row, name, getattr(deal, name))
        row.amount_cents = _cents(deal.amount)
        row.status = DealStatus(deal.status).value
        if history is not None:
            self._record(row, history)
        self._flush(deal.number)
        return self._out(row)

    def _record(self, row: Deal, history: DealHistory) -> None:
        if history.close_date_change is not None:
            change = history.close_date_change.model_dump()
            row.close_date_changes.append(CloseDateChange(team_id=self.team_id, **change))
            if is_push(change["old_date"], change["new_date"]):
                row.pushes = (row.pushes or 0) + 1
        if history.entered is not None:
            # Each entry names the one before it: time in a stage is a plain subtraction.
            last = row.stage_changes[-1] if row.stage_changes else None
            row.stage_changes.append(
                StageChange(
                    team_id=self.team_id,
                    from_stage=last.to_stage if last else None,
                    from_entered_at=last.at if last else None,
                    **asdict(history.entered),
                )
            )
        if history.activity is not None:
            activity = history.activity.model_dump()
            row.activities.append(Activity(team_id=self.team_id, **activity))

    def delete_deal(self, deal: DealOut) -> None:
        """Delete a deal found in this transaction, with its history."""
        row = self._deals.pop(deal.number)
        self.session.delete(row)
        self._flush(deal.number)

    def _flush(self, number: int) -> None:
        try:
            self.session.flush()
        except StaleDataError:
            # Another transaction changed the row between our read and our write.
            raise Conflict(
                f"#{number} changed while you were changing it. Nothing was changed; "
                "look at it again and retry."
            ) from None
