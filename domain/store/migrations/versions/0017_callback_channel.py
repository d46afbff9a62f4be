"""callbacks: the channel a callback was made through (phone, WeChat, e-mail, on-site, online)

Roles need no schema change: a member's roles stay the comma-separated keys of `members.roles`, and who may see
and do what is decided in code (domain.team.access), not stored.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("channel", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("channel")
