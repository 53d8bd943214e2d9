"""The forecast's queries: open deals by close period and this quarter's wins, per currency."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from pipeline.forecast import OpenRow, WonRow
from pipeline.types import DealStatus
from storage.models import Deal


def open_by_close(
    session: Session, team_id: str, today: date, month_end: date, quarter_end: date
) -> list[OpenRow]:
    """Open deals closing by `quarter_end` or undated, by stage, currency, period and overdue."""
    bucket = case(
        (Deal.close_date.is_(None), literal("none")),
        (Deal.close_date <= month_end, literal("month")),
        else_=literal("quarter"),
    )
    dated = (
        select(
            Deal.stage.label("stage"),
            Deal.currency.label("currency"),
            Deal.amount_cents.label("cents"),
            bucket.label("bucket"),
            case((Deal.close_date < today, 1), else_=0).label("overdue"),
        )
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.OPEN.value,
            or_(Deal.close_date.is_(None), Deal.close_date <= quarter_end),
        )
        .subquery("dated")
    )
    rows = session.execute(
        select(
            dated.c.stage,
            dated.c.currency,
            dated.c.bucket,
            dated.c.overdue,
            func.count(),
            func.count(dated.c.cents),
            func.sum(dated.c.cents),
        ).group_by(dated.c.stage, dated.c.currency, dated.c.bucket, dated.c.overdue)
    )
    return [
        OpenRow(stage, currency, where, bool(overdue), n, priced, cents)
        for stage, currency, where, overdue, n, priced, cents in rows
    ]


def won_since(
    session: Session, team_id: str, quarter_from: datetime, month_from: datetime, as_of: datetime
) -> list[WonRow]:
    """Deals won in [quarter_from, as_of], by currency and whether won since `month_from`."""
    won = (
        select(
            Deal.currency.label("currency"),
            Deal.amount_cents.label("cents"),
            case((Deal.closed_at >= month_from, literal("month")), else_=literal("quarter")).label(
                "bucket"
            ),
        )
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.WON.value,
            Deal.closed_at >= quarter_from,
            Deal.closed_at <= as_of,
        )
        .subquery("won")
    )
    rows = session.execute(
        select(
            won.c.currency,
            won.c.bucket,
            func.count(),
            func.count(won.c.cents),
            func.sum(won.c.cents),
        ).group_by(won.c.currency, won.c.bucket)
    )
    return [WonRow(currency, where, n, priced, cents) for currency, where, n, priced, cents in rows]
