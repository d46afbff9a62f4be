"""indexes for what every tick runs and for the retention purge

- due_items (kind, org_id): the recurring jobs' check, every tick, for the departments that lack a job;
- due_items (state, fired_at): fired items past their retention;
- outbox (status, sent_at): sent messages past their retention.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_due_items_kind_org", "due_items", ["kind", "org_id"])
    op.create_index("ix_due_items_state_fired_at", "due_items", ["state", "fired_at"])
    op.create_index("ix_outbox_status_sent_at", "outbox", ["status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_sent_at", "outbox")
    op.drop_index("ix_due_items_state_fired_at", "due_items")
    op.drop_index("ix_due_items_kind_org", "due_items")
