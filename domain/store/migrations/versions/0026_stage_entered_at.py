"""the funnel and the forecast as grouped aggregates over indexed columns

- stage_changes.entered_at: when the lead entered the stage the change leaves (the time of the lead's previous
  change), so the days spent in a stage are read on each row;
- stage_changes.reached_before: the stages the lead had reached before the change, one bit a stage, so the
  stages the leads of a period ever reached are added up from the period's changes alone;
  both filled here once for the history already kept;
- stage_changes (org_id, from_stage, to_stage, reached_before, at, entered_at): the funnel groups a
  department's changes in the index's order and reads nothing else; (org_id, to_stage, at): a period's wins
  and losses;
- stage_changes (lead_id, at) in place of (lead_id): a lead's history in order, and the lookup of its history
  when a new change is written;
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

# the bits of domain.store.models.STAGE_BITS, as they were written
BITS = ("research", "screening", "contact", "needs", "proposal", "negotiation", "followup", "won", "lost")
EARLIER = """FROM stage_changes AS earlier
    WHERE earlier.lead_id = stage_changes.lead_id
      AND (earlier.at < stage_changes.at OR (earlier.at = stage_changes.at AND earlier.id < stage_changes.id))"""
BIT = "CASE earlier.to_stage " + " ".join(f"WHEN '{s}' THEN {1 << i}" for i, s in enumerate(BITS)) + " ELSE 0 END"
BACKFILL = f"""
UPDATE stage_changes SET
    entered_at = (SELECT max(earlier.at) {EARLIER}),
    reached_before = (SELECT coalesce(sum(DISTINCT {BIT}), 0) {EARLIER})
"""


def upgrade() -> None:
    op.add_column("stage_changes", sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stage_changes", sa.Column("reached_before", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_stage_changes_lead_at", "stage_changes", ["lead_id", "at"])
    op.drop_index("ix_stage_changes_lead_id", "stage_changes")
    op.execute(BACKFILL)
    op.create_index("ix_stage_changes_funnel", "stage_changes",
                    ["org_id", "from_stage", "to_stage", "reached_before", "at", "entered_at"])
    op.create_index("ix_stage_changes_closed", "stage_changes", ["org_id", "to_stage", "at"])
    op.create_index("ix_leads_pipeline", "leads", ["org_id", "stage", "owner_id", "currency", "next_date", "value"])
    op.drop_index("ix_leads_org_stage", "leads")


def downgrade() -> None:
    op.create_index("ix_leads_org_stage", "leads", ["org_id", "stage"])
    op.drop_index("ix_leads_pipeline", "leads")
    op.create_index("ix_stage_changes_lead_id", "stage_changes", ["lead_id"])
    op.drop_index("ix_stage_changes_lead_at", "stage_changes")
    op.drop_index("ix_stage_changes_closed", "stage_changes")
    op.drop_index("ix_stage_changes_funnel", "stage_changes")
    with op.batch_alter_table("stage_changes") as batch:
        batch.drop_column("reached_before")
        batch.drop_column("entered_at")
