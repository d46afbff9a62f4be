"""record references numbered per department

Every record people refer to (C3, L12, V5, CB7, K4, A2, Q1, R6) gets a number counted per department,
so one department's references tell nothing of another's records. Existing records are numbered by id
within their department; each department's last number per kind goes into ref_counters. References
stored as text (a callback's source, the access log's record) are rewritten to the new numbers, and
back to ids on downgrade.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""
import re
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("customers", "leads", "visits", "callbacks", "reviews", "approval_requests", "contracts",
          "action_items", "complaints")

# what a stored reference names: its prefix, and for "A" the access log's entity (an action item or a request)
PREFIXES = {"C": "customers", "L": "leads", "V": "visits", "CB": "callbacks", "K": "contracts", "Q": "complaints",
            "R": "reviews"}
ACTION_ENTITIES = ("action_item", "action")
REF_ENTITIES = ("customer", "lead", "visit", "callback", "contract", "ledger", "complaint", "review", "approval",
                "expense", "leave", "project", "collab", *ACTION_ENTITIES)
REF = re.compile(r"^([A-Z]{1,2})([0-9]{1,9})$")
BATCH = 5000


def _table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Integer), sa.column("org_id", sa.Integer),
                    sa.column("number", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "ref_counters",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_ref_counters_org_id_organisations")),
        sa.PrimaryKeyConstraint("org_id", "kind", name=op.f("pk_ref_counters")),
    )
    conn = op.get_bind()
    counters = sa.table("ref_counters", sa.column("org_id", sa.Integer), sa.column("kind", sa.String),
                        sa.column("last", sa.Integer))
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
        table = _table(name)
        ranked = sa.select(table.c.id, sa.func.row_number().over(partition_by=table.c.org_id, order_by=table.c.id)
                           .label("n")).subquery()
        conn.execute(sa.update(table).values(number=ranked.c.n).where(table.c.id == ranked.c.id))
        with op.batch_alter_table(name) as batch:
            batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
            batch.create_unique_constraint(f"uq_{name}_org_id_number", ["org_id", "number"])
        conn.execute(sa.insert(counters).from_select(
            ["org_id", "kind", "last"],
            sa.select(table.c.org_id, sa.literal(name, sa.String), sa.func.max(table.c.number))
            .group_by(table.c.org_id)))
    _rewrite(conn, to_numbers=True)


def downgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, to_numbers=False)
    for name in reversed(TABLES):
        with op.batch_alter_table(name) as batch:
            batch.drop_constraint(f"uq_{name}_org_id_number", type_="unique")
            batch.drop_column("number")
    op.drop_table("ref_counters")


# --- references stored as text -------------------------------------------------------------------


def _rewrite(conn: sa.Connection, to_numbers: bool) -> None:
    """A callback's source (V5, CB7, Q1) and the access log's record reference, from ids to numbers
    (or back), row by row by primary key, in batches."""
    callbacks = sa.table("callbacks", sa.column("id", sa.Integer), sa.column("org_id", sa.Integer),
                         sa.column("source_ref", sa.String))
    audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("org_id", sa.Integer),
                     sa.column("entity", sa.String), sa.column("entity_ref", sa.String))
    for rows in _batches(conn, sa.select(callbacks.c.id, callbacks.c.org_id, sa.literal("callback"),
                                         callbacks.c.source_ref)
                         .where(callbacks.c.source_ref.is_not(None)), callbacks.c.id):
        changes = _renamed(conn, rows, to_numbers)
        if changes:
            conn.execute(sa.update(callbacks).where(callbacks.c.id == sa.bindparam("row_id"))
                         .values(source_ref=sa.bindparam("new")), changes)
    for rows in _batches(conn, sa.select(audit.c.id, audit.c.org_id, audit.c.entity, audit.c.entity_ref)
                         .where(audit.c.entity.in_(REF_ENTITIES), audit.c.entity_ref.is_not(None)), audit.c.id):
        changes = _renamed(conn, rows, to_numbers)
        if changes:
            conn.execute(sa.update(audit).where(audit.c.id == sa.bindparam("row_id"))
                         .values(entity_ref=sa.bindparam("new")), changes)


def _batches(conn: sa.Connection, query: sa.Select, key: sa.ColumnClause) -> Iterator[list[sa.Row]]:
    after = 0
    while True:
        rows = list(conn.execute(query.where(key > after).order_by(key).limit(BATCH)))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _renamed(conn: sa.Connection, rows: list[sa.Row], to_numbers: bool) -> list[dict[str, object]]:
    """(row id, its org, its entity, its reference) → the changes: the same reference with the record's
    number (or id); references to no record are left as they are."""
    wanted: dict[str, list[tuple[int, int, str, int]]] = {}
    for row_id, org_id, entity, text in rows:
        m = REF.match(text or "")
        if m is None:
            continue
        prefix, ident = m[1], int(m[2])
        target = ("action_items" if entity in ACTION_ENTITIES else "approval_requests") if prefix == "A" \
            else PREFIXES.get(prefix)
        if target is not None:
            wanted.setdefault(target, []).append((row_id, org_id, prefix, ident))
    changes: list[dict[str, object]] = []
    for name, refs in wanted.items():
        table = _table(name)
        if to_numbers:
            found = dict(conn.execute(sa.select(table.c.id, table.c.number)
                                      .where(table.c.id.in_({ident for _r, _o, _p, ident in refs}))).all())
            new = {(org_id, ident): found.get(ident) for _r, org_id, _p, ident in refs}
        else:
            found_back = conn.execute(sa.select(table.c.org_id, table.c.number, table.c.id).where(
                table.c.number.in_({ident for _r, _o, _p, ident in refs}),
                table.c.org_id.in_({org_id for _r, org_id, _p, _i in refs}))).all()
            by_number = {(org_id, number): row_id for org_id, number, row_id in found_back}
            new = {(org_id, ident): by_number.get((org_id, ident)) for _r, org_id, _p, ident in refs}
        for row_id, org_id, prefix, ident in refs:
            value = new[org_id, ident]
            if value is not None and value != ident:
                changes.append({"row_id": row_id, "new": f"{prefix}{value}"})
    return changes
