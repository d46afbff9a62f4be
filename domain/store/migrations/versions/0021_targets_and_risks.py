"""targets, the risk register and its indicators' states, service requests, callbacks' satisfaction scores

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _org() -> sa.Column:
    return sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False)


def _member(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("members.id"), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("satisfaction_note", sa.Text(), nullable=True))
    op.create_table(
        "targets", _id(), _org(), _member("member_id"),
        sa.Column("team", sa.Boolean(), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=False),
        sa.Column("signed", sa.Numeric(18, 2)), sa.Column("collected", sa.Numeric(18, 2)),
        sa.Column("customers", sa.Integer()),
        _member("set_by_id"), _at("updated_at", False),
        sa.UniqueConstraint("org_id", "member_id", "team", "period", name="uq_targets_subject_period"),
    )
    op.create_index("ix_targets_org_first", "targets", ["org_id", "first"])
    op.create_table(
        "risk_entries", _id(), _org(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(40), nullable=False), _member("record_owner_id", True),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False), sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Numeric(18, 2)), sa.Column("response", sa.String(12), nullable=False),
        _member("owner_id"), sa.Column("due", sa.Date()),
        sa.Column("status", sa.String(12), nullable=False), _member("created_by_id"),
        _at("created_at", False), _at("updated_at", False),
        _at("closed_at"),
        sa.UniqueConstraint("org_id", "number", name="uq_risk_entries_org_id_number"),
    )
    op.create_index("ix_risk_entries_org_status", "risk_entries", ["org_id", "status"])
    op.create_table(
        "risk_followups", _id(), _org(),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("risk_entries.id"), nullable=False),
        _member("actor_id"), sa.Column("note", sa.Text(), nullable=False),
        _at("at", False),
    )
    op.create_index("ix_risk_followups_entry_id", "risk_followups", ["entry_id"])
    op.create_table(
        "risk_signals", _id(), _org(),
        sa.Column("indicator", sa.String(40), nullable=False), sa.Column("subject_id", sa.Integer(), nullable=False),
        _member("owner_id", True), sa.Column("level", sa.String(10)), sa.Column("reason", sa.Text()),
        sa.Column("memo", sa.String(40)), _at("fired_at"), _at("cleared_at"),
        sa.UniqueConstraint("org_id", "indicator", "subject_id", name="uq_risk_signals_subject"),
    )
    op.create_index("ix_risk_signals_org_fired", "risk_signals", ["org_id", "fired_at"])
    op.create_table(
        "service_requests", _id(), _org(),
        sa.Column("number", sa.Integer(), nullable=False), sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("what", sa.Text(), nullable=False), _member("assignee_id"),
        _at("reply_by", False), sa.Column("status", sa.String(12), nullable=False),
        sa.Column("answer", sa.Text()), _at("replied_at"), _member("created_by_id"),
        _at("created_at", False),
        sa.UniqueConstraint("org_id", "number", name="uq_service_requests_org_id_number"),
    )
    op.create_index("ix_service_requests_customer_id", "service_requests", ["customer_id"])
    op.create_index("ix_service_requests_created_at", "service_requests", ["created_at"])
    op.create_index("ix_service_requests_org_status", "service_requests", ["org_id", "status"])
    # the forecast and the funnel read leads by department and stage, and stage history by department and time
    op.create_index("ix_leads_org_stage", "leads", ["org_id", "stage"])
    op.create_index("ix_stage_changes_org_at", "stage_changes", ["org_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_stage_changes_org_at", "stage_changes")
    op.drop_index("ix_leads_org_stage", "leads")
    for table in ("service_requests", "risk_signals", "risk_followups", "risk_entries", "targets"):
        op.drop_table(table)
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("satisfaction_note")
        batch.drop_column("satisfaction")
