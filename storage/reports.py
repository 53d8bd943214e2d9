"""The report queries of one team inside one session: what metrics, forecast, digest and
reminders read (`pipeline`'s `DigestSource` and `ReminderSource`, implemented over SQL).

Only the metric queries are imported up front: `pipebot stats` needs no other (the rest are
imported by the method that runs them, once per process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pipeline.dates import today_in
from pipeline.metrics import AmountRow, Cohort, FunnelRows, OpenDeals, Spread
from pipeline.schemas import TeamOut
from storage import cohort_queries, metric_queries, planning_queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.accuracy import Snapshot, WonSum
    from pipeline.digest import ClosedRows, CurrencyRow, PushRows, StaleRows
    from pipeline.forecast import OpenRow, WonRow
    from pipeline.forecast_range import OpenAmountRow
    from pipeline.planning_metrics import LossRow, OwnerRow, SourceRow
    from pipeline.reminders import Flagged
    from pipeline.service import PipelineService
    from pipeline.types import DealStatus


class SqlReports:
    """One team's report queries, run in the caller's session (its one read-only transaction).

    A window's closed deals are read grouped once and kept: the metrics and planning take
    their rows from the same groups (`storage.cohort_queries`). So are the open deals' groups
    when the metrics read them as they stand now: the forecast takes its rows from them.
    """

    def __init__(self, session: Session, team: TeamOut) -> None:
        self._session = session
        self._team = team
        self._closed_groups: dict[tuple[datetime, datetime], list[cohort_queries.ClosedGroup]] = {}
        self._lost_groups: dict[tuple[datetime, datetime], list[cohort_queries.LostGroup]] = {}
        self._open_now: metric_queries.OpenGroups | None = None

    @property
    def team(self) -> TeamOut:
        """The team's settings: time zone, currency, stages and rates."""
        return self._team

    def deals_csv(self) -> str:
        """Every deal of the team as CSV rows (the header alone before its first write)."""
        from storage import transfer

        return transfer.team_csv(self._session, self._team.id)

    def open_deals(self, as_of: datetime, today: date) -> OpenDeals:
        """The deals open at `as_of` (rebuilt from history when looking back)."""
        deals, groups = metric_queries.open_deals(self._session, self._team, as_of, today)
        if groups is not None:
            self._open_now = groups
        return deals

    def open_sums(self, as_of: datetime) -> list[AmountRow]:
        """The deals open at `as_of` per (stage, currency): how many, summed cents."""
        return metric_queries.open_sums(self._session, self._team.id, as_of)

    def _closed(self, start: datetime, end: datetime) -> list[cohort_queries.ClosedGroup]:
        """The window's closed deals per source, status and currency, read once."""
        key = (start, end)
        if key not in self._closed_groups:
            self._closed_groups[key] = cohort_queries.closed_groups(
                self._session, self._team.id, start, end
            )
        return self._closed_groups[key]

    def _lost(self, start: datetime, end: datetime) -> list[cohort_queries.LostGroup]:
        """The window's lost deals per reason, stage, currency and furthest stage, read once."""
        key = (start, end)
        if key not in self._lost_groups:
            self._lost_groups[key] = cohort_queries.lost_groups(
                self._session, self._team, start, end
            )
        return self._lost_groups[key]

    def cohort(self, start: datetime, end: datetime) -> Cohort:
        """The deals closed in [start, end)."""
        totals, priced_won = cohort_queries.cohort_totals(self._closed(start, end))
        seconds = metric_queries.win_seconds(self._session, self._team.id, start, end)
        return Cohort(totals=totals, priced_won=priced_won, seconds_to_win=seconds)

    def funnel(self, start: datetime, end: datetime) -> FunnelRows:
        """How the deals closed in [start, end) went through the stages."""
        won = cohort_queries.won_count(self._closed(start, end))
        return FunnelRows(won=won, lost=cohort_queries.funnel_losses(self._lost(start, end)))

    def stage_exits(self, start: datetime, end: datetime) -> dict[str, Spread]:
        """Seconds spent in each open stage, over the exits in [start, end)."""
        return metric_queries.stage_exits(self._session, self._team.id, start, end)

    def created_by_source(self, start: datetime, end: datetime) -> dict[str | None, int]:
        """How many deals were created in [start, end), per source."""
        return planning_queries.created_by_source(self._session, self._team.id, start, end)

    def cohort_by_source(self, start: datetime, end: datetime) -> list[SourceRow]:
        """The deals closed in [start, end) per source, status and currency."""
        return cohort_queries.source_rows(self._closed(start, end))

    def losses(self, start: datetime, end: datetime) -> list[LossRow]:
        """The deals lost in [start, end) per reason, stage and currency."""
        return cohort_queries.loss_rows(self._lost(start, end))

    def won_by_owner(self, start: datetime, end: datetime) -> list[OwnerRow]:
        """Deals won in [start, end) per owner and currency."""
        return planning_queries.won_by_owner(self._session, self._team.id, start, end)

    def open_by_owner(self, as_of: datetime, first: date, last: date) -> list[OwnerRow]:
        """Deals open at `as_of` with a close date in [first, last], per owner and stage."""
        deals = metric_queries.open_set(self._session, self._team.id, as_of)
        return planning_queries.open_by_owner(self._session, deals, first, last)

    def open_by_close(self, today: date, month_end: date, quarter_end: date) -> list[OpenRow]:
        """Open deals closing by `quarter_end` or undated, by stage, currency and period."""
        kept = self._open_now
        if kept is not None and kept.periods == (today, month_end, quarter_end):
            return kept.by_close()
        from storage import forecast_queries

        return forecast_queries.open_by_close(
            self._session, self._team.id, today, month_end, quarter_end
        )

    def won_since(
        self, quarter_from: datetime, month_from: datetime, as_of: datetime
    ) -> list[WonRow]:
        """Deals won in [quarter_from, as_of], by currency and whether won since `month_from`."""
        from storage import forecast_queries

        return forecast_queries.won_since(
            self._session, self._team.id, quarter_from, month_from, as_of
        )

    def missing_rates(self, since: datetime, known: Sequence[str]) -> list[str]:
        """Currencies not in `known` of open deals or deals closed since `since`."""
        from storage import digest_queries

        return digest_queries.missing_rates(self._session, self._team.id, since, known)

    def created(self, start: datetime, end: datetime) -> list[CurrencyRow]:
        """Deals created in [start, end), per currency."""
        from storage import digest_queries

        return digest_queries.created(self._session, self._team.id, start, end)

    def advances(self, start: datetime, end: datetime) -> int:
        """Moves to a later open stage in [start, end)."""
        from storage import digest_queries

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
        from storage import digest_queries

        largest = digest_queries.Largest(rates, limit)
        return digest_queries.closed(self._session, self._team.id, status, (start, end), largest)

    def pushed(
        self, start: datetime, end: datetime, rates: Mapping[str, Decimal], limit: int
    ) -> PushRows:
        """Close dates moved later in [start, end); the `limit` largest deals."""
        from storage import digest_queries

        largest = digest_queries.Largest(rates, limit)
        return digest_queries.pushed(self._session, self._team.id, (start, end), largest)

    def stale(self, now: datetime, today: date, limit: int) -> StaleRows:
        """Open deals stale at `now`; the `limit` quietest first."""
        from storage import digest_queries

        return digest_queries.stale(
            self._session, self._team.id, self._team.stages, (now, today), limit
        )

    def needing_attention(self, now: datetime, today: date) -> list[Flagged]:
        """Open, un-snoozed deals failing a reminder test, oldest activity first."""
        from storage import reminder_queries

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
