"""Queries the local demo workspace asks before it seeds the demo team."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Deal


def has_deals(session: Session, team_id: str) -> bool:
    """True when the team has at least one deal."""
    count = session.scalar(select(func.count()).select_from(Deal).where(Deal.team_id == team_id))
    return bool(count)
