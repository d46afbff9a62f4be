"""enrolment codes for new departments and groups

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_organisation_links_org_id_organisations")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"],
                                name=op.f("fk_organisation_links_created_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_links")),
        sa.UniqueConstraint("platform", "external_id", name=op.f("uq_organisation_links_platform")),
    )
    op.create_index(op.f("ix_organisation_links_org_id"), "organisation_links", ["org_id"])
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_in", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_enrolment_codes_org_id_organisations")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"],
                                name=op.f("fk_enrolment_codes_created_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_codes_code_hash")),
    )


def downgrade() -> None:
    op.drop_table("enrolment_codes")
    op.drop_index(op.f("ix_organisation_links_org_id"), table_name="organisation_links")
    op.drop_table("organisation_links")
