"""appraisals (绩效考核): one review per member and period

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("self_due", sa.Date(), nullable=False),
        sa.Column("closes", sa.Date(), nullable=False),
        sa.Column("self_comment", sa.Text(), nullable=True),
        sa.Column("self_total", sa.Numeric(6, 1), nullable=True),
        sa.Column("scorer_id", sa.Integer(), nullable=True),
        sa.Column("scorer_comment", sa.Text(), nullable=True),
        sa.Column("total", sa.Numeric(6, 1), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_until", sa.Date(), nullable=True),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("ruling", sa.String(length=12), nullable=True),
        sa.Column("ruling_note", sa.Text(), nullable=True),
        sa.Column("ruled_by_id", sa.Integer(), nullable=True),
        sa.Column("ruled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_reviews_org_id_organisations")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_reviews_member_id_members")),
        sa.ForeignKeyConstraint(["scorer_id"], ["members.id"], name=op.f("fk_reviews_scorer_id_members")),
        sa.ForeignKeyConstraint(["approver_id"], ["members.id"], name=op.f("fk_reviews_approver_id_members")),
        sa.ForeignKeyConstraint(["ruled_by_id"], ["members.id"], name=op.f("fk_reviews_ruled_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("org_id", "member_id", "period", name=op.f("uq_reviews_org_id")),
    )
    op.create_index(op.f("ix_reviews_org_id"), "reviews", ["org_id"])
    op.create_index(op.f("ix_reviews_member_id"), "reviews", ["member_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reviews_member_id"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_org_id"), table_name="reviews")
    op.drop_table("reviews")
