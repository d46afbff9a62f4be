"""approvals: policies, requests, decisions, delegations, contracts; tracked outbox posts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_approval_policies_org_id_organisations")),
        sa.ForeignKeyConstraint(["created_by_id"], ["members.id"],
                                name=op.f("fk_approval_policies_created_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_policies")),
        sa.UniqueConstraint("org_id", "version", name=op.f("uq_approval_policies_org_id")),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("escalated_to_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_approval_requests_org_id_organisations")),
        sa.ForeignKeyConstraint(["requester_id"], ["members.id"],
                                name=op.f("fk_approval_requests_requester_id_members")),
        sa.ForeignKeyConstraint(["escalated_to_id"], ["members.id"],
                                name=op.f("fk_approval_requests_escalated_to_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index("ix_approval_requests_org_state", "approval_requests", ["org_id", "state"])
    op.create_index(op.f("ix_approval_requests_requester_id"), "approval_requests", ["requester_id"])
    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["approval_requests.id"],
                                name=op.f("fk_approval_decisions_request_id_approval_requests")),
        sa.ForeignKeyConstraint(["actor_id"], ["members.id"], name=op.f("fk_approval_decisions_actor_id_members")),
        sa.ForeignKeyConstraint(["on_behalf_of_id"], ["members.id"],
                                name=op.f("fk_approval_decisions_on_behalf_of_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_decisions")),
    )
    op.create_index(op.f("ix_approval_decisions_request_id"), "approval_decisions", ["request_id"])
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_delegations_org_id_organisations")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_delegations_member_id_members")),
        sa.ForeignKeyConstraint(["delegate_id"], ["members.id"], name=op.f("fk_delegations_delegate_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_member_id"), "delegations", ["member_id"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment", sa.Text(), nullable=True),
        sa.Column("delivery", sa.Date(), nullable=True),
        sa.Column("term", sa.Date(), nullable=True),
        sa.Column("clauses", sa.Text(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_contracts_org_id_organisations")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_contracts_lead_id_leads")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_contracts_owner_id_members")),
        sa.ForeignKeyConstraint(["request_id"], ["approval_requests.id"],
                                name=op.f("fk_contracts_request_id_approval_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    op.create_index(op.f("ix_contracts_org_id"), "contracts", ["org_id"])
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"])
    op.create_index(op.f("ix_contracts_owner_id"), "contracts", ["owner_id"])
    op.create_index(op.f("ix_contracts_signed_at"), "contracts", ["signed_at"])
    op.create_table(
        "outbox_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_outbox_subjects_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_subjects")),
        sa.UniqueConstraint("org_id", "subject", name=op.f("uq_outbox_subjects_org_id")),
    )
    op.create_table(
        "outbox_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("outbox_key", sa.String(200), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat", sa.String(120), nullable=False),
        sa.Column("message_ref", sa.String(120), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_outbox_posts_org_id_organisations")),
        sa.ForeignKeyConstraint(["recipient_id"], ["members.id"],
                                name=op.f("fk_outbox_posts_recipient_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_posts")),
    )
    op.create_index("ix_outbox_posts_org_subject", "outbox_posts", ["org_id", "subject"])


def downgrade() -> None:
    op.drop_table("outbox_posts")
    op.drop_table("outbox_subjects")
    op.drop_table("contracts")
    op.drop_table("delegations")
    op.drop_table("approval_decisions")
    op.drop_table("approval_requests")
    op.drop_table("approval_policies")
