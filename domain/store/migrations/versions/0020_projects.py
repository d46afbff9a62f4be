"""projects (立项 carried on: plan, milestones, progress, costs, acceptance, archive) and cross-department
requests carried on after their approval (routed, answered, accepted or rectified)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collab_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['members.id'], name=op.f('fk_collab_cases_contact_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_collab_cases_org_id_organisations')),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'],
                            name=op.f('fk_collab_cases_request_id_approval_requests')),
    sa.ForeignKeyConstraint(['requester_id'], ['members.id'], name=op.f('fk_collab_cases_requester_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collab_cases')),
    sa.UniqueConstraint('request_id', name=op.f('uq_collab_cases_request_id'))
    )
    op.create_index(op.f('ix_collab_cases_contact_id'), 'collab_cases', ['contact_id'], unique=False)
    op.create_index('ix_collab_cases_org_state', 'collab_cases', ['org_id', 'state'], unique=False)
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('budget', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('team', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('plan_state', sa.String(length=12), nullable=False),
    sa.Column('plan_request_id', sa.Integer(), nullable=True),
    sa.Column('accept_round', sa.Integer(), nullable=False),
    sa.Column('passed_first', sa.Boolean(), nullable=True),
    sa.Column('risk', sa.String(length=12), nullable=False),
    sa.Column('risk_note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_projects_customer_id_customers')),
    sa.ForeignKeyConstraint(['manager_id'], ['members.id'], name=op.f('fk_projects_manager_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_projects_org_id_organisations')),
    sa.ForeignKeyConstraint(['plan_request_id'], ['approval_requests.id'],
                            name=op.f('fk_projects_plan_request_id_approval_requests')),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'],
                            name=op.f('fk_projects_request_id_approval_requests')),
    sa.ForeignKeyConstraint(['requester_id'], ['members.id'], name=op.f('fk_projects_requester_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('org_id', 'number', name='uq_projects_org_id_number'),
    sa.UniqueConstraint('request_id', name=op.f('uq_projects_request_id'))
    )
    op.create_index(op.f('ix_projects_manager_id'), 'projects', ['manager_id'], unique=False)
    op.create_index('ix_projects_org_state', 'projects', ['org_id', 'state'], unique=False)
    op.create_table('collab_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_collab_steps_actor_id_members')),
    sa.ForeignKeyConstraint(['case_id'], ['collab_cases.id'], name=op.f('fk_collab_steps_case_id_collab_cases')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_collab_steps_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collab_steps'))
    )
    op.create_index(op.f('ix_collab_steps_case_id'), 'collab_steps', ['case_id'], unique=False)
    op.create_table('project_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_project_events_actor_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_project_events_org_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_events_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_events'))
    )
    op.create_index(op.f('ix_project_events_at'), 'project_events', ['at'], unique=False)
    op.create_index(op.f('ix_project_events_project_id'), 'project_events', ['project_id'], unique=False)
    op.create_table('project_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('baseline_due', sa.Date(), nullable=True),
    sa.Column('deliverable', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('filed', sa.Text(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('rev', sa.Integer(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_project_items_org_id_organisations')),
    sa.ForeignKeyConstraint(['owner_id'], ['members.id'], name=op.f('fk_project_items_owner_id_members')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_items_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_items')),
    sa.UniqueConstraint('project_id', 'kind', 'number', name='uq_project_items_project_id')
    )
    op.create_index('ix_project_items_owner_state', 'project_items', ['owner_id', 'state'], unique=False)
    op.create_index(op.f('ix_project_items_project_id'), 'project_items', ['project_id'], unique=False)


def downgrade() -> None:
    for table in ("project_items", "project_events", "collab_steps", "projects", "collab_cases"):
        op.drop_table(table)
