"""the funnel and the forecast as grouped aggregates over indexed columns

- stage_changes.entered_at: when the lead entered the stage the change leaves (the time of the lead's previous
  change), filled here once for the history already kept, so the days spent in a stage are read on each row;
- stage_changes (lead_id, at) in place of (lead_id): a lead's history in order, and the lookup of its latest
  change when a new one is written;
- leads (org_id, stage, owner_id, currency, next_date, value) in place of (org_id, stage): the forecast sums
  the open pipeline per owner and stage from the index alone.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE stage_changes SET entered_at = (
    SELECT max(earlier.at) FROM stage_changes AS earlier
    WHERE earlier.lead_id = stage_changes.lead_id
      AND (earlier.at < stage_changes.at OR (earlier.at = stage_changes.at AND earlier.id < stage_changes.id)))
WHERE from_stage IS NOT NULL
"""


def upgrade() -> None:
    op.add_column("stage_changes", sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_stage_changes_lead_at", "stage_changes", ["lead_id", "at"])
    op.drop_index("ix_stage_changes_lead_id", "stage_changes")
    op.execute(BACKFILL)
    op.create_index("ix_leads_pipeline", "leads", ["org_id", "stage", "owner_id", "currency", "next_date", "value"])
    op.drop_index("ix_leads_org_stage", "leads")


def downgrade() -> None:
    op.create_index("ix_leads_org_stage", "leads", ["org_id", "stage"])
    op.drop_index("ix_leads_pipeline", "leads")
    op.create_index("ix_stage_changes_lead_id", "stage_changes", ["lead_id"])
    op.drop_index("ix_stage_changes_lead_at", "stage_changes")
    with op.batch_alter_table("stage_changes") as batch:
        batch.drop_column("entered_at")
