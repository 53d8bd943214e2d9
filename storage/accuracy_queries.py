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
from storage.sql import insert_ignore

# A snapshot's amounts, each stored in cents as `<name>_cents`.
AMOUNTS = ("won", "forecast", "calibrated", "p10", "p50", "p90")
# The other values, by the snapshot's name and the column's.
COLUMNS = {
    "period": "period",
    "start": "starts_on",
    "end": "ends_on",
    "digest": "digest",
    "recorded_at": "recorded_at",
    "currency": "currency",
}


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
                **{column: getattr(s, name) for name, column in COLUMNS.items()},
                **{f"{name}_cents": int(getattr(s, name).scaleb(2)) for name in AMOUNTS},
            },
        )
    return inserted


def _snapshot(row: ForecastSnapshot) -> Snapshot:
    return Snapshot.model_validate(
        {
            **{name: getattr(row, column) for name, column in COLUMNS.items()},
            **{name: Decimal(getattr(row, f"{name}_cents")).scaleb(-2) for name in AMOUNTS},
        }
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
