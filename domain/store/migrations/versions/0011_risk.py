"""risk: contracts carry a risk level too; customers, leads and contracts say why

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("risk", sa.String(10), nullable=False, server_default="low"))
        batch.add_column(sa.Column("risk_note", sa.Text(), nullable=True))
    for table in ("customers", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("risk_note", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("customers", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("risk_note")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_column("risk_note")
        batch.drop_column("risk")
