"""members who left and their successors

A member who leaves the department (离职) is made inactive; when they left and who took over what was
open are kept with them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_members_successor_id_members"), "members", ["successor_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint(op.f("fk_members_successor_id_members"), type_="foreignkey")
        batch.drop_column("successor_id")
        batch.drop_column("left_at")
