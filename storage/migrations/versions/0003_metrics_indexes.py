"""covering indexes for the metrics and the digest

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01

Time in stage and the digest's advances read every stage change of a window from
`ix_stage_changes_team_at` alone (no row lookups: 3x faster on 1,000,000 history rows, see
docs/PERFORMANCE.md); the digest's new deals of the week use `ix_deals_team_created_at`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WINDOW = ["team_id", "at", "from_stage", "to_stage", "from_entered_at"]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_team_at")
        batch_op.create_index("ix_stage_changes_team_at", _WINDOW, unique=False)
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_team_created_at", ["team_id", "created_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_team_created_at")
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_team_at")
        batch_op.create_index("ix_stage_changes_team_at", ["team_id", "at"], unique=False)
