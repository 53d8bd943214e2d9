"""The weekly digest's queries: the week's new, closed and pushed deals, advances, stale deals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement

from pipeline.digest import ClosedRows, CurrencyRow, PushRow, PushRows, StaleRows
from pipeline.schemas import DealOut, StageOut
from pipeline.types import DealStatus
from storage.conditions import stale_condition
from storage.models import CloseDateChange, Deal, Stage, StageChange

T = TypeVar("T")


def missing_rates(
    session: Session, team_id: str, since: datetime, known: Sequence[str]
) -> list[str]:
    """Currencies of open or recently closed deals the team has no rate for."""
    recent = or_(Deal.status == DealStatus.OPEN.value, Deal.closed_at >= since)
    currencies = session.scalars(
        select(Deal.currency)
        .where(Deal.team_id == team_id, recent, Deal.currency.not_in(list(known)))
        .distinct()
        .order_by(Deal.currency)
    )
    return list(currencies)


def _per_currency(session: Session, condition: ColumnElement[bool]) -> list[CurrencyRow]:
    rows = session.execute(
        select(
            Deal.currency, func.count(), func.count(Deal.amount_cents), func.sum(Deal.amount_cents)
        )
        .where(condition)
        .group_by(Deal.currency)
    )
    return [CurrencyRow(currency, n, priced, cents) for currency, n, priced, cents in rows]


def created(session: Session, team_id: str, start: datetime, end: datetime) -> list[CurrencyRow]:
    """Deals created in [start, end), per currency."""
    return _per_currency(
        session, and_(Deal.team_id == team_id, Deal.created_at >= start, Deal.created_at < end)
    )


def advances(session: Session, team_id: str, start: datetime, end: datetime) -> int:
    """Moves to a later open stage; creations, moves back, outcomes and reopens don't count."""
    src, dst = aliased(Stage), aliased(Stage)
    return session.execute(
        select(func.count())
        .select_from(StageChange)
        .join(src, and_(src.team_id == team_id, src.key == StageChange.from_stage))
        .join(dst, and_(dst.team_id == team_id, dst.key == StageChange.to_stage))
        .where(
            StageChange.team_id == team_id,
            StageChange.at >= start,
            StageChange.at < end,
            dst.position > src.position,
        )
    ).scalar_one()


def _by_amount(rates: Mapping[str, Decimal]) -> list[Any]:
    """Largest converted amount first, unpriced deals last, then by number."""
    # Floats are fine here: the value only orders rows, the shown amounts stay exact.
    rate = case(
        {code: literal(float(r)) for code, r in rates.items()},
        value=Deal.currency,
        else_=None,
    )
    key: ColumnElement[Any] = rate * Deal.amount_cents
    return [key.is_(None), key.desc(), Deal.number]


Window = tuple[datetime, datetime]


class Largest(NamedTuple):
    """The `limit` largest deals by their amount converted with `rates`, unpriced ones last."""

    rates: Mapping[str, Decimal]
    limit: int

    def of(self, statement: Select[T]) -> Select[T]:
        """`statement` ordered and cut so."""
        return statement.order_by(*_by_amount(self.rates)).limit(self.limit)


def closed(
    session: Session, team_id: str, status: DealStatus, window: Window, largest: Largest
) -> ClosedRows:
    """Deals closed as `status` in the window: per-currency sums and the largest `limit`."""
    start, end = window
    condition = and_(
        Deal.team_id == team_id,
        Deal.status == status.value,
        Deal.closed_at >= start,
        Deal.closed_at < end,
    )
    totals = _per_currency(session, condition)
    rows = session.scalars(largest.of(select(Deal).where(condition)))
    return ClosedRows(totals, [DealOut.model_validate(d) for d in rows])


def pushed(session: Session, team_id: str, window: Window, largest: Largest) -> PushRows:
    """Close dates moved later in the window (the same test as metrics' slippage)."""
    start, end = window
    pushes = (
        select(
            CloseDateChange.deal_id.label("deal_id"),
            func.count().label("n"),
            func.min(CloseDateChange.old_date).label("old_date"),
        )
        .where(
            CloseDateChange.team_id == team_id,
            CloseDateChange.at >= start,
            CloseDateChange.at < end,
            CloseDateChange.old_date.is_not(None),
            CloseDateChange.new_date > CloseDateChange.old_date,
        )
        .group_by(CloseDateChange.deal_id)
        .subquery("pushes")
    )
    joined = and_(Deal.id == pushes.c.deal_id, Deal.team_id == team_id)
    count, events = session.execute(
        select(func.count(), func.coalesce(func.sum(pushes.c.n), 0))
        .select_from(pushes)
        .join(Deal, joined)
    ).one()
    rows = session.execute(
        largest.of(select(Deal, pushes.c.n, pushes.c.old_date).join(pushes, joined))
    ).all()
    deals = [PushRow(DealOut.model_validate(d), n, old) for d, n, old in rows]
    return PushRows(count, int(events), deals)


def stale(
    session: Session,
    team_id: str,
    stages: Sequence[StageOut],
    moment: tuple[datetime, date],
    limit: int,
) -> StaleRows:
    """Open deals stale at the moment (now, today): how many, and the `limit` quietest."""
    now, today = moment
    condition = and_(
        Deal.team_id == team_id,
        Deal.status == DealStatus.OPEN.value,
        stale_condition(Deal.stage, Deal.last_activity_at, stages, now, today),
    )
    rows = session.scalars(
        select(Deal).where(condition).order_by(Deal.last_activity_at, Deal.number).limit(limit)
    ).all()
    count = session.execute(select(func.count()).select_from(Deal).where(condition)).scalar_one()
    return StaleRows(count, [DealOut.model_validate(d) for d in rows])
