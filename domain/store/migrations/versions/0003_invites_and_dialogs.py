"""invites (one-time account-linking codes) and dialogs (short-lived adapter state)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_invites_member_id_members")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"], name=op.f("fk_invites_created_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code", name=op.f("uq_invites_code")),
    )
    op.create_table(
        "dialogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialogs")),
        sa.UniqueConstraint("platform", "key", name=op.f("uq_dialogs_platform")),
    )
    op.create_index(op.f("ix_dialogs_expires_at"), "dialogs", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dialogs_expires_at"), table_name="dialogs")
    op.drop_table("dialogs")
    op.drop_table("invites")
