"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from storage.db import Database
from storage.migrate import needs_upgrade, upgrade
from storage.models import Base


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert not needs_upgrade(db.engine)


def test_upgrade_creates_an_empty_sqlite_file_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = create_engine(url)
    assert needs_upgrade(engine)
    upgrade(url)
    upgrade(url)
    assert not needs_upgrade(engine)
    assert {"deals", "stage_changes", "activities", "teams"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_the_quick_schema_check_knows_the_heads_alembic_reads() -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import HEADS, alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert set(script.get_heads()) == HEADS, "a new migration: update storage.migrate.HEADS"


def test_a_database_one_revision_behind_needs_an_upgrade(tmp_path: Path) -> None:
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert needs_upgrade(engine)
    engine.dispose()
