"""forecast snapshots: what each weekly digest forecast, for forecast accuracy

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "forecast_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("won_cents", sa.BigInteger(), nullable=False),
        sa.Column("forecast_cents", sa.BigInteger(), nullable=False),
        sa.Column("calibrated_cents", sa.BigInteger(), nullable=False),
        sa.Column("p10_cents", sa.BigInteger(), nullable=False),
        sa.Column("p50_cents", sa.BigInteger(), nullable=False),
        sa.Column("p90_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_forecast_snapshots_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_snapshots")),
        sa.UniqueConstraint(
            "team_id",
            "period",
            "digest",
            name=op.f("uq_forecast_snapshots_team_id_period_digest"),
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("forecast_snapshots")
