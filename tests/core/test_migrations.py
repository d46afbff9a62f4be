"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from domain.store.engine import alembic_config, current_revision, make_engine
from domain.store.models import Base


def _ours(name: str | None, type_: str, parent_names: dict) -> bool:
    """slack_* tables belong to slack_sdk's installation and state stores, not to our models."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return not (table or "").startswith("slack_")


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    opts = {"compare_type": True, "include_name": _ours}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations must form one chain, not {heads}"
    assert current_revision(engine) == heads[0]
    engine.dispose()
    assert diff == []
