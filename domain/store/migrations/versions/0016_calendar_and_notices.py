"""calendar knowledge, merged notices and unassessed risk

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

Notices to one person that fall due together are sent as one message: each keeps its outbox row, marked
`merged` and pointing to the message that carried it. A record's risk starts as `unassessed` rather than low
(a yellow warning nobody gave): the records whose low risk was only that default — no reason given, and no
risk ever set for them in the access log — become unassessed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_RECORDS = (("customers", "customer", "C"), ("leads", "lead", "L"), ("contracts", "contract", "K"))


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbox_merged_into_id_outbox", "outbox", ["merged_into_id"], ["id"])
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("risk", existing_type=sa.String(10), server_default="unassessed")
    for table, entity, prefix in _RECORDS:
        op.execute(sa.text(
            f"UPDATE {table} SET risk = 'unassessed' WHERE risk = 'low' AND risk_note IS NULL AND NOT EXISTS ("
            f"SELECT 1 FROM audit_log a WHERE a.org_id = {table}.org_id AND a.entity = '{entity}' "
            f"AND a.entity_ref = '{prefix}' || {table}.number AND a.detail LIKE '%risk%')"))


def downgrade() -> None:
    for table, _entity, _prefix in _RECORDS:
        op.execute(sa.text(f"UPDATE {table} SET risk = 'low' WHERE risk = 'unassessed'"))
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("risk", existing_type=sa.String(10), server_default="low")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_merged_into_id_outbox", type_="foreignkey")
        batch.drop_column("merged_into_id")
