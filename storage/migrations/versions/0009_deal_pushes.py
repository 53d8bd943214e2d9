"""slipped deals from the deal row: each deal counts its close-date pushes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

`deals.pushes` is how often the deal's close date was moved later (from a date to a later
one), kept with each change from now on and carried by the open-deal index: the slipped
deals (pushed twice or more) are read with the open pipeline instead of from a count over
the team's close-date changes (docs/PERFORMANCE.md). Existing deals get the count of their
recorded pushes. The column lists are written out: a migration stays as it was when later
code changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = ["number", "last_activity_at", "stage", "currency", "amount_cents", "close_date"]
_OPEN += ["next_step_due", "owner_id"]


def _open_index(columns: list[str]) -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_team_status_activity")
        batch_op.create_index("ix_deals_team_status_activity", ["team_id", "status", *columns])


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pushes", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE deals SET pushes = (SELECT count(*) FROM close_date_changes c "
        "WHERE c.deal_id = deals.id AND c.old_date IS NOT NULL AND c.new_date > c.old_date)"
    )
    _open_index([*_OPEN, "pushes"])


def downgrade() -> None:
    """Revert this revision."""
    _open_index(_OPEN)
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_column("pushes")
