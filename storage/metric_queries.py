"""The metric queries: aggregated in SQL where the data lives, returned as pipeline's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, ScalarSelect, Subquery

from pipeline.dates import end_of_month, end_of_quarter
from pipeline.errors import NotFound
from pipeline.forecast import Bucket, OpenRow
from pipeline.metrics import AmountRow, OpenDeals, Spread, spreads
from pipeline.schemas import StageOut, TeamOut
from pipeline.types import OUTCOMES, WON, DealStatus
from storage.cohort_queries import add_up, closed_in
from storage.conditions import stale_condition
from storage.models import TEAM_LOADS, Activity, Deal, StageChange, Team
from storage.planning_queries import planning_lists
from storage.sql import materialized_ctes, seconds_between


def team_settings(session: Session, team_id: str) -> TeamOut | None:
    """The team's settings, stages (in order) and rates, or None when there is no such team."""
    team = session.get(Team, team_id, options=TEAM_LOADS)
    return None if team is None else team_out(team)


def team_out(team: Team) -> TeamOut:
    """The domain value of a team row loaded with its stages and rates."""
    return TeamOut(
        id=team.id,
        timezone=team.timezone,
        currency=team.currency,
        channel_id=team.channel_id,
        admins=list(team.admins or []),
        stages=[StageOut.model_validate(s) for s in team.stages],
        rates={r.currency: r.rate for r in team.rates},
        reminders=team.reminders,
        reminder_mode=team.reminder_mode,
        digest=team.digest,
        **planning_lists(team),
    )


def require_team(session: Session, team_id: str) -> TeamOut:
    """The team's settings; NotFound when the database has no such team."""
    team = team_settings(session, team_id)
    if team is None:
        raise NotFound(
            f"There is no team {team_id} in this database.", example="pipebot stats --team T0123"
        )
    return team


def anything_after(session: Session, team_id: str, as_of: datetime) -> bool:
    """True when a stage change or an activity of the team is later than `as_of`."""
    return bool(
        session.execute(
            select(
                exists().where(StageChange.team_id == team_id, StageChange.at > as_of)
                | exists().where(Activity.team_id == team_id, Activity.at > as_of)
            )
        ).scalar_one()
    )


_DEAL_VALUES = (
    Deal.currency.label("currency"),
    Deal.amount_cents.label("cents"),
    Deal.next_step_due.label("next_step_due"),
    Deal.close_date.label("close_date"),
    Deal.pushes.label("pushes"),
)


def open_set(
    session: Session,
    team_id: str,
    as_of: datetime,
    *,
    touched: bool = True,
    current: bool | None = None,
) -> Subquery:
    """(deal_id, number, stage, last_at, currency, cents, next_step_due, close_date, pushes) of
    the deals open at `as_of`, each once, with its stage and last touch at that moment.

    When nothing happened after `as_of` the deals table already is that state. Otherwise each
    deal's stage is its last stage change up to `as_of` and its last touch the later of that
    change and its last activity up to then; only deals open now or closed after `as_of` can
    have been open then, and each is looked up once in the (deal, at) indexes. With
    `touched=False` the last touch is not looked up (`last_at` is NULL): sums need no more.
    `current` is `not anything_after(...)` when the caller knows it already.
    """
    if current is None:
        current = not anything_after(session, team_id, as_of)
    if current:
        return (
            select(
                Deal.id.label("deal_id"),
                Deal.number.label("number"),
                Deal.stage.label("stage"),
                Deal.last_activity_at.label("last_at"),
                *_DEAL_VALUES,
            )
            .where(Deal.team_id == team_id, Deal.status == DealStatus.OPEN.value)
            .subquery("open_deals")
        )
    return _open_then(session, team_id, as_of, touched=touched)


def _open_then(session: Session, team_id: str, as_of: datetime, *, touched: bool) -> Subquery:
    """`open_set` rebuilt from history: each deal's stage and last touch at `as_of`."""
    # Two index ranges rather than one OR, which would scan every deal of the team; each
    # candidate carries its own columns, so nothing is joined back (PostgreSQL hashed every
    # deal and every stage change to do so).
    values = (Deal.id.label("deal_id"), Deal.number.label("number"), *_DEAL_VALUES)
    candidates = union_all(
        select(*values).where(Deal.team_id == team_id, Deal.status == DealStatus.OPEN.value),
        select(*values).where(Deal.team_id == team_id, Deal.closed_at > as_of),
    ).subquery("candidates")

    def last_change(column: str) -> ScalarSelect[Any]:
        # The first entry of the deal's (deal, at, id) index range: no sort.
        earlier = aliased(StageChange)
        return (
            select(getattr(earlier, column))
            .where(earlier.deal_id == candidates.c.deal_id, earlier.at <= as_of)
            .order_by(earlier.at.desc(), earlier.id.desc())
            .limit(1)
            .correlate(candidates)
            .scalar_subquery()
        )

    last_activity = (
        select(func.max(Activity.at))
        .where(Activity.deal_id == candidates.c.deal_id, Activity.at <= as_of)
        .correlate(candidates)
        .scalar_subquery()
    )
    # Materialized: each deal's lookups run once, not once per use of their results (an
    # older SQLite gets the same rows, more slowly).
    moments = select(
        *candidates.c,
        last_change("to_stage").label("stage"),
        *((last_change("at").label("changed"), last_activity.label("touched")) if touched else ()),
    ).cte("moments")
    if materialized_ctes(session):
        moments = moments.prefix_with("MATERIALIZED")
    m = moments.c
    last_at = (
        case((m.touched.is_not(None) & (m.touched > m.changed), m.touched), else_=m.changed)
        if touched
        else null()
    )
    # A deal created after `as_of` has no stage then (NULL): NOT IN leaves it out too.
    return (
        select(
            m.deal_id,
            m.number,
            m.stage,
            last_at.label("last_at"),
            m.currency,
            m.cents,
            m.next_step_due,
            m.close_date,
            m.pushes,
        )
        .where(m.stage.not_in(OUTCOMES))
        .subquery("open_deals")
    )


def open_sums(session: Session, team_id: str, as_of: datetime) -> list[AmountRow]:
    """The deals open at `as_of` per (stage, currency): how many and their summed cents."""
    deals = open_set(session, team_id, as_of, touched=False)
    rows = session.execute(
        select(deals.c.stage, deals.c.currency, func.count(), func.sum(deals.c.cents)).group_by(
            deals.c.stage, deals.c.currency
        )
    ).all()
    return [AmountRow(stage, currency, n, cents) for stage, currency, n, cents in rows]


SLIPPED_AT = 2  # pushes that make a deal slipped
# An open deal's four tests, as bits of one column: three fewer values a row to fetch (the
# open set of 19,906 deals in 32 ms instead of 36 on SQLite, docs/PERFORMANCE.md).
STALE, OVERDUE, PAST_CLOSE, SLIPPED = 1, 2, 4, 8
# Where its close date falls, as more bits: the forecast's periods come from the same read.
IN_MONTH, IN_QUARTER, UNDATED = 16, 32, 64
_GROUPED = PAST_CLOSE | IN_MONTH | IN_QUARTER | UNDATED


@dataclass(frozen=True)
class OpenGroups:
    """The open deals now per stage, currency and close period (`_GROUPED` bits): deals,
    priced deals, summed cents; read with the metrics, for the forecast of `today`."""

    periods: tuple[date, date, date]  # today, its month's end and its quarter's end
    groups: dict[tuple[str, str, int], list[Any]]

    def by_close(self) -> list[OpenRow]:
        """The forecast's rows: the deals closing by the quarter's end or undated."""
        rows = []
        for (stage, currency, bits), (n, priced, cents) in self.groups.items():
            if bits & (IN_MONTH | IN_QUARTER | UNDATED):
                where: Bucket = (
                    "month" if bits & IN_MONTH else "quarter" if bits & IN_QUARTER else "none"
                )
                rows.append(
                    OpenRow(stage, currency, where, bool(bits & PAST_CLOSE), n, priced, cents)
                )
        return rows


def _bit(condition: ColumnElement[bool], bit: int) -> ColumnElement[int]:
    return case((condition, bit), else_=0)


def open_deals(
    session: Session, team: TeamOut, as_of: datetime, today: date
) -> tuple[OpenDeals, OpenGroups | None]:
    """The deals open at `as_of`: sums per (stage, currency), and the numbers to act on; and,
    when they are the open deals now (nothing happened after `as_of`), their forecast groups.

    The open set is read once, in number order, with the stale, overdue, past-close and
    slipped tests and the close period taken in SQL (only small integers come back: no
    timestamps to convert), and every total and list is taken from it in one pass.
    """
    current = not anything_after(session, team.id, as_of)
    deals = open_set(session, team.id, as_of, current=current)
    due, close = deals.c.next_step_due, deals.c.close_date
    month_end, quarter_end = end_of_month(today), end_of_quarter(today)
    stale = stale_condition(deals.c.stage, deals.c.last_at, team.stages, as_of, today, due)
    period = case(
        (close.is_(None), UNDATED),
        (close <= month_end, IN_MONTH),
        (close <= quarter_end, IN_QUARTER),
        else_=0,
    )
    tests = (
        _bit(stale, STALE)
        + _bit(due < today, OVERDUE)
        + _bit(close < today, PAST_CLOSE)
        + _bit(deals.c.pushes >= SLIPPED_AT, SLIPPED)
        + period
    )
    stmt = select(
        deals.c.number, deals.c.stage, deals.c.currency, deals.c.cents, tests.label("tests")
    ).order_by(deals.c.number)
    # Core, not the ORM: nothing here is an entity, and 20,000 rows pass; fetched at once,
    # because iterating a result fetches one row per driver call (a third of the time), and
    # unpacked as they come (a named tuple per row, then a pass per list, took 2.6 times as
    # long).
    rows = session.connection().execute(stmt).all()
    groups: dict[tuple[str, str, int], list[Any]] = {}
    stale_ids: list[int] = []
    overdue_ids: list[int] = []
    past_close_ids: list[int] = []
    slipped_ids: list[int] = []
    for number, stage, currency, cents, failed in rows:
        group = groups.get((stage, currency, failed & _GROUPED))
        if group is None:
            group = groups[stage, currency, failed & _GROUPED] = [0, 0, None]
        group[0] += 1
        if cents is not None:
            group[1] += 1
            group[2] = cents + (group[2] or 0)
        if failed & STALE:
            stale_ids.append(number)
        if failed & OVERDUE:
            overdue_ids.append(number)
        if failed & PAST_CLOSE:
            past_close_ids.append(number)
        if failed & SLIPPED:
            slipped_ids.append(number)
    deals_at = OpenDeals(
        totals=_totals(groups),
        stale=stale_ids,
        overdue_next_steps=overdue_ids,
        past_close_date=past_close_ids,
        slipped=slipped_ids,
    )
    return deals_at, OpenGroups((today, month_end, quarter_end), groups) if current else None


def _totals(groups: dict[tuple[str, str, int], list[Any]]) -> list[AmountRow]:
    """Sums per (stage, currency) of the open set's groups."""
    parts = (((stage, cur), n, cents) for (stage, cur, _), (n, _, cents) in groups.items())
    return [AmountRow(stage, cur, n, cents) for (stage, cur), (n, cents) in add_up(parts).items()]


def median_rows(session: Session, values: Select[Any, Any]) -> dict[str, Spread]:
    """Median, mean and count of `value` per `key`, over a select of (key, value).

    PostgreSQL computes the median itself (percentile_cont). SQLite has no median and its
    window functions sort slowly, so there only the one number per row comes back and the
    median is taken in Python (measured in docs/PERFORMANCE.md).
    """
    inner = values.subquery("v")
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            select(
                inner.c.key,
                func.percentile_cont(0.5).within_group(inner.c.value),
                func.avg(inner.c.value),
                func.count(),
            ).group_by(inner.c.key)
        )
        return {key: Spread(float(median), float(mean), n) for key, median, mean, n in rows}
    # Core, not the ORM, and fetched at once: 200,000 plain (key, float) rows may pass.
    return spreads(session.connection().execute(select(inner.c.key, inner.c.value)).all())


def win_seconds(session: Session, team_id: str, start: datetime, end: datetime) -> Spread | None:
    """Seconds from creation to the win of the deals won in [start, end): median, mean, count."""
    durations = select(
        literal("won").label("key"),
        seconds_between(Deal.closed_at, Deal.created_at).label("value"),
    ).where(closed_in(team_id, start, end), Deal.status == WON)
    return median_rows(session, durations).get("won")


def stage_exits(
    session: Session, team_id: str, start: datetime, end: datetime
) -> dict[str, Spread]:
    """Seconds spent in each open stage before leaving it, over the exits in [start, end)."""
    # Each exit's seconds were written with it and are in the window index: nothing is
    # computed per exit here (NULL only for a deal's first entry).
    exits = select(
        StageChange.from_stage.label("key"),
        StageChange.from_seconds.label("value"),
    ).where(
        StageChange.team_id == team_id,
        StageChange.at >= start,
        StageChange.at < end,
        StageChange.from_seconds.is_not(None),
        StageChange.from_stage.not_in(OUTCOMES),
    )
    return median_rows(session, exits)
