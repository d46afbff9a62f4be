"""orders handed down from signed contracts, and their routing steps

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("qty", sa.Numeric(18, 3), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("delivery", sa.Date(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("carrier", sa.String(length=120), nullable=True),
        sa.Column("tracking", sa.String(length=120), nullable=True),
        sa.Column("acceptance", sa.String(length=12), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_orders_org_id_organisations")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_orders_contract_id_contracts")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_orders_owner_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("org_id", "number", name="uq_orders_org_id_number"),
    )
    with op.batch_alter_table("orders") as batch:
        batch.create_index("ix_orders_org_state", ["org_id", "state"], unique=False)
        batch.create_index(batch.f("ix_orders_contract_id"), ["contract_id"], unique=False)
        batch.create_index(batch.f("ix_orders_customer_id"), ["customer_id"], unique=False)
        batch.create_index(batch.f("ix_orders_owner_id"), ["owner_id"], unique=False)
        batch.create_index(batch.f("ix_orders_shipped_at"), ["shipped_at"], unique=False)
        batch.create_index(batch.f("ix_orders_created_at"), ["created_at"], unique=False)
    op.create_table(
        "order_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_order_steps_org_id_organisations")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_steps_order_id_orders")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_order_steps_owner_id_members")),
        sa.ForeignKeyConstraint(["done_by_id"], ["members.id"], name=op.f("fk_order_steps_done_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_steps")),
    )
    with op.batch_alter_table("order_steps") as batch:
        batch.create_index("ix_order_steps_owner_state", ["owner_id", "state"], unique=False)
        batch.create_index(batch.f("ix_order_steps_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_table("order_steps")
    op.drop_table("orders")
