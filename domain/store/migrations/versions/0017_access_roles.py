"""roles and access for the department's groups

No schema change: a member's roles stay the comma-separated keys of `members.roles` (the new roles — technical
support, project staff, R&D, human resources, general administration, internal audit, archives, production,
purchasing, quality inspection, logistics — are longer lists in the same column, at most 20 characters a key as
`approval_decisions.role` holds), and who may see and do what is decided in code (domain.team.access), not stored.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
