"""due items retried and parked on their own; send limits shared between replicas

- due_items.attempts, due_items.last_error: an item whose firing fails is retried later with a backoff, and
  parked (state 'parked') after repeated failures, without holding back the others;
- send_limits: a platform's overall limit (a bot token's messages a second) as the recent sends of every
  replica, one row a limit, updated under a row lock.

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("due_items") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.String(500), nullable=True))
    op.create_table(
        "send_limits",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("sent", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("send_limits")
    with op.batch_alter_table("due_items") as batch:
        batch.drop_column("last_error")
        batch.drop_column("attempts")
