"""covering indexes for the open pipeline, the closed cohort, slipped deals and past stages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Every column `stats`, the forecast, its range and the digest read of the open deals and of
a window's closed or created deals is now in the index that finds them, so none reads a deal
row (docs/PERFORMANCE.md); slipped deals are read from their own index instead of a scan of
every team's close-date changes. A deal's stage changes are indexed in (at, id) order, so its
last change up to a moment (the pipeline of a past moment) is read without a sort per deal.
The column lists are written out: a migration stays as it was when later code changes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = ["number", "last_activity_at", "stage", "currency", "amount_cents", "close_date"]
_OPEN += ["next_step_due", "owner_id"]
_CLOSED = ["status", "currency", "amount_cents", "created_at", "stage", "owner_id", "source"]
_CLOSED += ["lost_reason"]
_CREATED = ["source", "currency", "amount_cents"]


def _replace(name: str, columns: list[str]) -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(name)
        batch_op.create_index(name, columns, unique=False)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_deal_at")
        batch_op.create_index("ix_stage_changes_deal_at", ["deal_id", "at", "id", "to_stage"])
    _replace("ix_deals_team_status_activity", ["team_id", "status", *_OPEN])
    _replace("ix_deals_team_closed_at", ["team_id", "closed_at", *_CLOSED])
    _replace("ix_deals_team_created_at", ["team_id", "created_at", *_CREATED])
    with op.batch_alter_table("close_date_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_close_date_changes_team",
            ["team_id", "deal_id", "old_date", "new_date"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("close_date_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_close_date_changes_team")
    _replace("ix_deals_team_created_at", ["team_id", "created_at"])
    _replace("ix_deals_team_closed_at", ["team_id", "closed_at"])
    _replace("ix_deals_team_status_activity", ["team_id", "status", "last_activity_at"])
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_deal_at")
        batch_op.create_index("ix_stage_changes_deal_at", ["deal_id", "at", "to_stage"])
