"""The forecast range's query: each open deal with a close date, for the simulation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.forecast_range import OpenAmountRow
from pipeline.types import DealStatus
from storage.models import Deal


def open_amounts(session: Session, team_id: str, last_day: date) -> list[OpenAmountRow]:
    """Open deals with a close date up to `last_day`, one row each, by deal number."""
    rows = (
        session.connection()
        .execute(
            select(Deal.stage, Deal.currency, Deal.amount_cents, Deal.close_date)
            .where(
                Deal.team_id == team_id,
                Deal.status == DealStatus.OPEN.value,
                Deal.close_date.is_not(None),
                Deal.close_date <= last_day,
            )
            .order_by(Deal.number)
        )
        .all()
    )
    return [
        OpenAmountRow(stage, currency, cents, close)
        for stage, currency, cents, close in rows
        if close is not None  # the query keeps dated deals only; this tells mypy
    ]
