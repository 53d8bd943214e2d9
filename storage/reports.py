"""The report queries of one team inside one session: what metrics, forecast, digest and
reminders read (`pipeline`'s `DigestSource` and `ReminderSource`, implemented over SQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pipeline.dates import today_in
from pipeline.digest import ClosedRows, CurrencyRow, PushRows, StaleRows
from pipeline.forecast import OpenRow, WonRow
from pipeline.metrics import Cohort, FunnelRows, OpenDeals, Spread
from pipeline.reminders import Flagged
from pipeline.schemas import TeamOut
from pipeline.service import PipelineService
from pipeline.types import DealStatus
from storage import (
    digest_queries,
    forecast_queries,
    metric_queries,
    reminder_queries,
    transfer,
)

if TYPE_CHECKING:
    from pipeline.accuracy import Snapshot, WonSum
    from pipeline.forecast_range import OpenAmountRow


class SqlReports:
    """One team's report queries, run in the caller's session (its one transaction)."""

    def __init__(self, session: Session, team: TeamOut) -> None:
        self._session = session
        self._team = team

    @property
    def team(self) -> TeamOut:
        """The team's settings: time zone, currency, stages and rates."""
        return self._team

    def deals_csv(self) -> str:
        """Every deal of the team as CSV rows (the header alone before its first write)."""
        return transfer.team_csv(self._session, self._team.id)

    def open_deals(self, as_of: datetime, today: date) -> OpenDeals:
        """The deals open at `as_of` (rebuilt from history when looking back)."""
        return metric_queries.open_deals(self._session, self._team, as_of, today)

    def cohort(self, start: datetime, end: datetime) -> Cohort:
        """The deals closed in [start, end)."""
        return metric_queries.cohort(self._session, self._team.id, start, end)

    def funnel(self, start: datetime, end: datetime) -> FunnelRows:
        """How the deals closed in [start, end) went through the stages."""
        return metric_queries.funnel(self._session, self._team.id, start, end)

    def stage_exits(self, start: datetime, end: datetime) -> dict[str, Spread]:
        """Seconds spent in each open stage, over the exits in [start, end)."""
        return metric_queries.stage_exits(self._session, self._team.id, start, end)

    def open_by_close(self, today: date, month_end: date, quarter_end: date) -> list[OpenRow]:
        """Open deals closing by `quarter_end` or undated, by stage, currency and period."""
        return forecast_queries.open_by_close(
            self._session, self._team.id, today, month_end, quarter_end
        )

    def won_since(
        self, quarter_from: datetime, month_from: datetime, as_of: datetime
    ) -> list[WonRow]:
        """Deals won in [quarter_from, as_of], by currency and whether won since `month_from`."""
        return forecast_queries.won_since(
            self._session, self._team.id, quarter_from, month_from, as_of
        )

    def missing_rates(self, since: datetime, known: Sequence[str]) -> list[str]:
        """Currencies not in `known` of open deals or deals closed since `since`."""
        return digest_queries.missing_rates(self._session, self._team.id, since, known)

    def created(self, start: datetime, end: datetime) -> list[CurrencyRow]:
        """Deals created in [start, end), per currency."""
        return digest_queries.created(self._session, self._team.id, start, end)

    def advances(self, start: datetime, end: datetime) -> int:
        """Moves to a later open stage in [start, end)."""
        return digest_queries.advances(self._session, self._team.id, start, end)

    def closed(
        self,
        status: DealStatus,
        start: datetime,
        end: datetime,
        rates: Mapping[str, Decimal],
        limit: int,
    ) -> ClosedRows:
        """Deals won (or lost) in [start, end); the `limit` largest by converted amount."""
        return digest_queries.closed(
            self._session, self._team.id, status, (start, end), rates, limit
        )

    def pushed(
        self, start: datetime, end: datetime, rates: Mapping[str, Decimal], limit: int
    ) -> PushRows:
        """Close dates moved later in [start, end); the `limit` largest deals."""
        return digest_queries.pushed(self._session, self._team.id, (start, end), rates, limit)

    def stale(self, now: datetime, today: date, limit: int) -> StaleRows:
        """Open deals stale at `now`; the `limit` quietest first."""
        return digest_queries.stale(
            self._session, self._team.id, self._team.stages, (now, today), limit
        )

    def needing_attention(self, now: datetime, today: date) -> list[Flagged]:
        """Open, un-snoozed deals failing a reminder test, oldest activity first."""
        return reminder_queries.needing_attention(
            self._session, self._team.id, self._team.stages, now, today
        )

    def open_amounts(self, last_day: date) -> list[OpenAmountRow]:
        """Open deals with a close date up to `last_day`, one row each, by deal number."""
        from storage import forecast_range_queries

        return forecast_range_queries.open_amounts(self._session, self._team.id, last_day)

    def first_snapshots(self, ended_before: date, currency: str, limit: int) -> list[Snapshot]:
        """The first recorded forecast of each period ended before `ended_before`."""
        from storage import accuracy_queries

        return accuracy_queries.first_snapshots(
            self._session, self._team.id, ended_before, currency, limit
        )

    def won_between(self, start: datetime, end: datetime) -> list[WonSum]:
        """Deals now won whose `closed_at` is in [start, end), per currency."""
        from storage import accuracy_queries

        return accuracy_queries.won_between(self._session, self._team.id, start, end)


def reports_in(session: Session, team_id: str) -> SqlReports:
    """The team's report queries inside `session`; NotFound when there is no such team."""
    return SqlReports(session, metric_queries.require_team(session, team_id))


@dataclass(frozen=True)
class Reports:
    """One read-only transaction's look at a team: its report queries, its service, the time."""

    source: SqlReports
    service: PipelineService
    now: datetime

    @property
    def team(self) -> TeamOut:
        """The team's settings (a new team's defaults until its first write)."""
        return self.source.team

    @property
    def today(self) -> date:
        """`now`'s date in the team's time zone."""
        return today_in(self.team.timezone, self.now)
