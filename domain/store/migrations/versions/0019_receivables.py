"""receivables: payment milestones of a contract's terms, invoices (开票), payments (回款) and their allocations

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("share", sa.Numeric(9, 4), nullable=True),
        sa.Column("fixed", sa.Numeric(18, 2), nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("trigger", sa.String(length=12), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("received", sa.Numeric(18, 2), nullable=False),
        sa.Column("invoiced", sa.Numeric(18, 2), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("risk_raised", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("milestones", "org_id", "organisations"),
        _fk("milestones", "contract_id", "contracts"),
        _fk("milestones", "customer_id", "customers"),
        _fk("milestones", "owner_id", "members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        sa.UniqueConstraint("contract_id", "seq", name="uq_milestones_contract_id_seq"),
    )
    with op.batch_alter_table("milestones") as batch:
        batch.create_index("ix_milestones_org_state_due", ["org_id", "state", "due_date", "currency", "owner_id",
                                                           "customer_id", "amount", "received"], unique=False)
        batch.create_index("ix_milestones_org_owner_state", ["org_id", "owner_id", "state"], unique=False)
        batch.create_index(batch.f("ix_milestones_contract_id"), ["contract_id"], unique=False)
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("invoice_no", sa.String(length=60), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("invoices", "org_id", "organisations"),
        _fk("invoices", "contract_id", "contracts"),
        _fk("invoices", "milestone_id", "milestones"),
        _fk("invoices", "request_id", "approval_requests"),
        _fk("invoices", "requested_by_id", "members"),
        _fk("invoices", "issued_by_id", "members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("org_id", "number", name="uq_invoices_org_id_number"),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.create_index("ix_invoices_org_state", ["org_id", "state"], unique=False)
        batch.create_index(batch.f("ix_invoices_contract_id"), ["contract_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("payments", "org_id", "organisations"),
        _fk("payments", "contract_id", "contracts"),
        _fk("payments", "owner_id", "members"),
        _fk("payments", "recorded_by_id", "members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("org_id", "number", name="uq_payments_org_id_number"),
    )
    with op.batch_alter_table("payments") as batch:
        batch.create_index("ix_payments_org_received", ["org_id", "received_on"], unique=False)
        batch.create_index(batch.f("ix_payments_contract_id"), ["contract_id"], unique=False)
    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        _fk("payment_allocations", "payment_id", "payments"),
        _fk("payment_allocations", "milestone_id", "milestones"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocations")),
    )
    with op.batch_alter_table("payment_allocations") as batch:
        batch.create_index(batch.f("ix_payment_allocations_payment_id"), ["payment_id"], unique=False)
        batch.create_index(batch.f("ix_payment_allocations_milestone_id"), ["milestone_id"], unique=False)


def downgrade() -> None:
    op.drop_table("payment_allocations")
    op.drop_table("payments")
    op.drop_table("invoices")
    op.drop_table("milestones")
