"""complaints and their timeline

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("wants", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolve_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=True),
        sa.Column("escalated", sa.String(length=40), nullable=True),
        sa.Column("acked", sa.String(length=40), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_complaints_org_id_organisations")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_complaints_customer_id_customers")),
        sa.ForeignKeyConstraint(["assignee_id"], ["members.id"], name=op.f("fk_complaints_assignee_id_members")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"], name=op.f("fk_complaints_created_by_id_members")),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], name=op.f("fk_complaints_callback_id_callbacks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.create_index("ix_complaints_org_status", ["org_id", "status"], unique=False)
        batch.create_index(batch.f("ix_complaints_customer_id"), ["customer_id"], unique=False)
        batch.create_index(batch.f("ix_complaints_assignee_id"), ["assignee_id"], unique=False)
        batch.create_index(batch.f("ix_complaints_created_at"), ["created_at"], unique=False)
    op.create_table(
        "complaint_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_complaint_steps_org_id_organisations")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_steps_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["actor_id"], ["members.id"], name=op.f("fk_complaint_steps_actor_id_members")),
        sa.ForeignKeyConstraint(["target_id"], ["members.id"], name=op.f("fk_complaint_steps_target_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_steps")),
    )
    with op.batch_alter_table("complaint_steps") as batch:
        batch.create_index(batch.f("ix_complaint_steps_complaint_id"), ["complaint_id"], unique=False)
        batch.create_index(batch.f("ix_complaint_steps_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("complaint_steps")
    op.drop_table("complaints")
