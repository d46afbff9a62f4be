"""an event acknowledged before its work is done is kept until that work is done

- inbound_events.pending: the event as the platform delivered it, recorded before the platform's
  acknowledgement and cleared in the transaction of the work it asks for; one still there after a restart is
  taken up again (Feishu, whose events are answered at once and worked on after).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.add_column(sa.Column("pending", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.drop_column("pending")
