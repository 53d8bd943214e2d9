"""time in stage stored: each stage change's seconds in the stage it leaves

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`stage_changes.from_seconds` is `at - from_entered_at` in seconds, written with each row from
now on, and the window index carries it: time in stage reads it from the index instead of
computing it for every exit (SQLite spent ~50 ms of `stats` in julianday() for the 43,000
exits of a 100,000-deal team; docs/PERFORMANCE.md). Existing rows get it from the very
expression the metric used until now, so their figures stay as they were. The expressions
are written out: a migration stays as it was when later code changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WINDOW = ["team_id", "at", "from_stage", "to_stage", "from_entered_at"]
_SECONDS = {
    "sqlite": "(julianday(at) - julianday(from_entered_at)) * 86400.0",
    "postgresql": "EXTRACT(EPOCH FROM (at - from_entered_at))",
}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_seconds", sa.Float(), nullable=True))
    seconds = _SECONDS[op.get_bind().dialect.name]
    op.execute(
        f"UPDATE stage_changes SET from_seconds = {seconds} WHERE from_entered_at IS NOT NULL"
    )
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_team_at")
        batch_op.create_index("ix_stage_changes_team_at", [*_WINDOW, "from_seconds"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_team_at")
        batch_op.create_index("ix_stage_changes_team_at", _WINDOW)
        batch_op.drop_column("from_seconds")
