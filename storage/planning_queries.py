"""The planning queries and rows: sources, loss reasons and targets (pipeline's PlanningSource)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Subquery

from pipeline.planning import DEFAULT_SOURCES, LostReason, TargetOut, default_reasons, sort_targets
from pipeline.planning_metrics import OwnerRow
from pipeline.types import OUTCOMES, WON
from storage.models import TEAM_LOADS, Deal, Target, Team

if TYPE_CHECKING:
    # An annotation only: `pipebot stats` loads no import or export code.
    from pipeline.transfer.plan import PlanningPlan


def planning_lists(team: Team) -> dict[str, Any]:
    """A team row's sources, loss reasons and targets, as TeamOut's fields."""
    reasons = team.lost_reasons
    return {
        "sources": list(DEFAULT_SOURCES if team.sources is None else team.sources),
        "lost_reasons": default_reasons()
        if reasons is None
        else [LostReason.model_validate(r) for r in reasons],
        "targets": sort_targets([target_out(t) for t in team.targets]),
    }


def target_out(row: Target) -> TargetOut:
    """The domain value of a target row ("" is the team's own)."""
    return TargetOut(
        owner=row.owner_id or None, period=row.period, amount=Decimal(row.amount_cents).scaleb(-2)
    )


def target_rows(team_id: str, targets: Sequence[TargetOut]) -> list[Target]:
    """Rows for a team's targets."""
    return [
        Target(
            team_id=team_id,
            owner_id=t.owner or "",
            period=t.period,
            amount_cents=int(t.amount.scaleb(2).to_integral_value()),
        )
        for t in targets
    ]


def save_targets(session: Session, team: Team, targets: Sequence[TargetOut]) -> None:
    """Make the team's targets exactly these, matched by (owner, period)."""
    current = {(t.owner_id, t.period): t for t in team.targets}
    rows = []
    for new in target_rows(team.id, targets):
        existing = current.get((new.owner_id, new.period))
        if existing is None:
            rows.append(new)
        else:
            existing.amount_cents = new.amount_cents
            rows.append(existing)
    team.targets[:] = rows  # delete-orphan removes the targets left out
    session.flush()


def _closed(team_id: str, start: datetime, end: datetime) -> Any:
    return (
        (Deal.team_id == team_id)
        & Deal.status.in_(OUTCOMES)
        & (Deal.closed_at >= start)
        & (Deal.closed_at < end)
    )


def created_by_source(
    session: Session, team_id: str, start: datetime, end: datetime
) -> dict[str | None, int]:
    """Deals created in [start, end), per source."""
    rows = session.execute(
        select(Deal.source, func.count())
        .where(Deal.team_id == team_id, Deal.created_at >= start, Deal.created_at < end)
        .group_by(Deal.source)
    )
    return {source: n for source, n in rows}


def won_by_owner(session: Session, team_id: str, start: datetime, end: datetime) -> list[OwnerRow]:
    """Deals won in [start, end) per owner and currency."""
    rows = session.execute(
        select(Deal.owner_id, Deal.currency, func.sum(Deal.amount_cents))
        .where(_closed(team_id, start, end), Deal.status == WON)
        .group_by(Deal.owner_id, Deal.currency)
    )
    return [OwnerRow(owner, "", cur, cents) for owner, cur, cents in rows]


def open_by_owner(session: Session, deals: Subquery, first: date, last: date) -> list[OwnerRow]:
    """Deals of `deals` (open at a moment) closing in [first, last], per owner, stage, currency."""
    rows = session.execute(
        select(Deal.owner_id, deals.c.stage, Deal.currency, func.sum(Deal.amount_cents))
        .join(deals, deals.c.deal_id == Deal.id)
        .where(Deal.close_date >= first, Deal.close_date <= last)
        .group_by(Deal.owner_id, deals.c.stage, Deal.currency)
    )
    return [OwnerRow(owner, stage, cur, cents) for owner, stage, cur, cents in rows]


def merge_sources(session: Session, team_id: str, used: Iterable[str | None]) -> None:
    """Add the sources deals use to the team's list when it lacks them."""
    team = session.get(Team, team_id)
    assert team is not None
    current = list(DEFAULT_SOURCES if team.sources is None else team.sources)
    missing = [s for s in dict.fromkeys(used) if s is not None and s not in current]
    if missing:
        team.sources = current + missing
        session.flush()


def write_planning(session: Session, team_id: str, plan: PlanningPlan) -> list[LostReason]:
    """Set what an imported document lists (the rest stays); the team's reasons after it."""
    team = session.get(Team, team_id, options=TEAM_LOADS)
    assert team is not None
    session.refresh(team)  # the import's bulk update of the row went behind the ORM
    if plan.sources is not None:
        team.sources = list(plan.sources)
    if plan.lost_reasons is not None:
        team.lost_reasons = [r.model_dump() for r in plan.lost_reasons]
    if plan.targets is not None:
        # Old rows go before new ones come: they may share an (owner, period) key.
        team.targets.clear()
        session.flush()
        team.targets.extend(target_rows(team_id, plan.targets))
    session.flush()
    return [LostReason.model_validate(r) for r in team.lost_reasons or []] or default_reasons()
