"""Forecast accuracy's rows: the forecasts each digest recorded, and the revenue won since."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.accuracy import Snapshot, WonSum
from pipeline.types import DealStatus
from storage.models import Deal, ForecastSnapshot
from storage.repositories import insert_ignore


def _cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def _amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def record(session: Session, team_id: str, snapshots: Sequence[Snapshot]) -> int:
    """Record a digest's forecasts; a period already recorded for that digest is kept as is.

    Returns how many rows this call inserted (0 when the digest is retried).
    """
    inserted = 0
    for s in snapshots:
        inserted += insert_ignore(
            session,
            ForecastSnapshot,
            {
                "team_id": team_id,
                "period": s.period,
                "starts_on": s.start,
                "ends_on": s.end,
                "digest": s.digest,
                "recorded_at": s.recorded_at,
                "currency": s.currency,
                "won_cents": _cents(s.won),
                "forecast_cents": _cents(s.forecast),
                "calibrated_cents": _cents(s.calibrated),
                "p10_cents": _cents(s.p10),
                "p50_cents": _cents(s.p50),
                "p90_cents": _cents(s.p90),
            },
        )
    return inserted


def _snapshot(row: ForecastSnapshot) -> Snapshot:
    return Snapshot(
        period=row.period,
        start=row.starts_on,
        end=row.ends_on,
        digest=row.digest,
        recorded_at=row.recorded_at,
        currency=row.currency,
        won=_amount(row.won_cents),
        forecast=_amount(row.forecast_cents),
        calibrated=_amount(row.calibrated_cents),
        p10=_amount(row.p10_cents),
        p50=_amount(row.p50_cents),
        p90=_amount(row.p90_cents),
    )


def first_snapshots(
    session: Session, team_id: str, ended_before: date, currency: str, limit: int
) -> list[Snapshot]:
    """The first record of each period ended before `ended_before` in `currency`, the latest
    period end first (a quarter before its last month), at most `limit`."""
    first = func.row_number().over(
        partition_by=ForecastSnapshot.period,
        order_by=(ForecastSnapshot.recorded_at, ForecastSnapshot.id),
    )
    ranked = (
        select(ForecastSnapshot.id.label("id"), first.label("n"))
        .where(
            ForecastSnapshot.team_id == team_id,
            ForecastSnapshot.currency == currency,
            ForecastSnapshot.ends_on < ended_before,
        )
        .subquery("ranked")
    )
    rows = session.scalars(
        select(ForecastSnapshot)
        .join(ranked, ranked.c.id == ForecastSnapshot.id)
        .where(ranked.c.n == 1)
        .order_by(ForecastSnapshot.ends_on.desc(), ForecastSnapshot.starts_on)
        .limit(limit)
    )
    return [_snapshot(row) for row in rows]


def all_snapshots(session: Session, team_id: str) -> list[Snapshot]:
    """Every record of the team, oldest first (for export)."""
    rows = session.scalars(
        select(ForecastSnapshot)
        .where(ForecastSnapshot.team_id == team_id)
        .order_by(ForecastSnapshot.recorded_at, ForecastSnapshot.period, ForecastSnapshot.id)
    )
    return [_snapshot(row) for row in rows]


def won_between(session: Session, team_id: str, start: datetime, end: datetime) -> list[WonSum]:
    """Deals now won whose `closed_at` is in [start, end), per currency."""
    rows = session.execute(
        select(
            Deal.currency,
            func.count(),
            func.count(Deal.amount_cents),
            func.sum(Deal.amount_cents),
        )
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.WON.value,
            Deal.closed_at >= start,
            Deal.closed_at < end,
        )
        .group_by(Deal.currency)
        .order_by(Deal.currency)
    )
    return [WonSum(currency, n, priced, cents) for currency, n, priced, cents in rows]


def replace(session: Session, team_id: str, snapshots: Sequence[Snapshot]) -> None:
    """Replace the team's records with imported ones."""
    session.execute(
        delete(ForecastSnapshot).where(ForecastSnapshot.team_id == team_id),
        execution_options={"synchronize_session": False},
    )
    record(session, team_id, snapshots)
