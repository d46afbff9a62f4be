"""weekly meeting: updates, minutes, action items; outbox attachments

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_meeting_updates_org_id_organisations")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_meeting_updates_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_updates")),
        sa.UniqueConstraint("org_id", "week", "member_id", name=op.f("uq_meeting_updates_org_id")),
    )
    op.create_table(
        "meeting_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_meeting_minutes_org_id_organisations")),
        sa.ForeignKeyConstraint(["author_id"], ["members.id"], name=op.f("fk_meeting_minutes_author_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_minutes")),
    )
    op.create_index("ix_meeting_minutes_org_week", "meeting_minutes", ["org_id", "week"])
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_action_items_org_id_organisations")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_action_items_owner_id_members")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"],
                                name=op.f("fk_action_items_created_by_id_members")),
        sa.ForeignKeyConstraint(["done_by_id"], ["members.id"], name=op.f("fk_action_items_done_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index("ix_action_items_org_status", "action_items", ["org_id", "status"])
    op.create_table(
        "outbox_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attachments")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_attachments_key")),
    )


def downgrade() -> None:
    op.drop_table("outbox_attachments")
    op.drop_index("ix_action_items_org_status", table_name="action_items")
    op.drop_table("action_items")
    op.drop_index("ix_meeting_minutes_org_week", table_name="meeting_minutes")
    op.drop_table("meeting_minutes")
    op.drop_table("meeting_updates")
