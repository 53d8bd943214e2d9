"""planning: lead sources, loss reasons and targets

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Existing teams get the default lists. A lost deal's free-text reason becomes the reason it
names (key or name, any case) or `other` with the text kept as its detail; a deal's free-text
source becomes a key, added to its team's list when it is not there yet.
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the application's defaults do.
SOURCES = ["inbound", "outbound", "referral", "partner", "event"]
REASONS = [
    {"key": "price", "name": "Price"},
    {"key": "competitor", "name": "Competitor"},
    {"key": "no_budget", "name": "No budget"},
    {"key": "no_decision", "name": "No decision"},
    {"key": "timing", "name": "Timing"},
    {"key": "lost_contact", "name": "Lost contact"},
    {"key": "other", "name": "Other"},
]
_KEY = re.compile(r"[^a-z0-9]+")

teams = sa.table(
    "teams",
    sa.column("id", sa.String),
    sa.column("sources", sa.JSON),
    sa.column("lost_reasons", sa.JSON),
)
deals = sa.table(
    "deals",
    sa.column("id", sa.Integer),
    sa.column("team_id", sa.String),
    sa.column("status", sa.String),
    sa.column("lost_reason", sa.Text),
    sa.column("lost_detail", sa.Text),
    sa.column("source", sa.String),
)


def _key(text: str) -> str:
    return _KEY.sub("_", text.strip().lower()).strip("_")[:40]


def _convert_deals(conn: Any) -> dict[str, list[str]]:
    """Rewrite reasons and sources as keys; the sources each team must gain."""
    reason_keys = {r["key"] for r in REASONS}
    added: dict[str, list[str]] = {}
    rows = conn.execute(
        sa.select(
            deals.c.id, deals.c.team_id, deals.c.status, deals.c.lost_reason, deals.c.source
        ).where(sa.or_(deals.c.lost_reason.is_not(None), deals.c.source.is_not(None)))
    ).all()
    for deal_id, team_id, status, reason, source in rows:
        values: dict[str, Any] = {}
        if reason is not None:
            key = _key(reason)
            if status != "lost":
                values.update(lost_reason=None)
            elif key in reason_keys:
                values.update(lost_reason=key)
            else:
                values.update(lost_reason="other", lost_detail=reason.strip() or None)
        if source is not None:
            slug = _key(source) or None
            values.update(source=slug)
            if slug and slug not in SOURCES and slug not in added.setdefault(team_id, []):
                added[team_id].append(slug)
        conn.execute(sa.update(deals).where(deals.c.id == deal_id).values(**values))
    return added


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_targets_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint(
            "team_id", "owner_id", "period", name=op.f("uq_targets_team_id_owner_id_period")
        ),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sources", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("lost_reasons", sa.JSON(), nullable=True))
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lost_detail", sa.Text(), nullable=True))

    conn = op.get_bind()
    added = _convert_deals(conn)
    for (team_id,) in conn.execute(sa.select(teams.c.id)).all():
        conn.execute(
            sa.update(teams)
            .where(teams.c.id == team_id)
            .values(sources=SOURCES + added.get(team_id, []), lost_reasons=REASONS)
        )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.alter_column("sources", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("lost_reasons", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    """Revert this revision (reasons keep their keys; details and targets are dropped)."""
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_column("lost_detail")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("lost_reasons")
        batch_op.drop_column("sources")
    op.drop_table("targets")
