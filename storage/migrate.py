"""Alembic migrations, run programmatically (`pipebot db upgrade`, and on first start).

Alembic is imported only to upgrade: checking whether the schema is current compares the
`alembic_version` table with `HEADS` directly, so every `pipebot` command does not pay
Alembic's import (about 0.1 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
# The newest migration (Alembic's head). A new migration changes it, and
# tests/test_migrations.py checks it against the files: no command parses them to start
# (7 ms of `ast` for nine files).
HEADS = frozenset({"0009"})


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on a password containing '%'.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def needs_upgrade(engine: Engine) -> bool:
    """True when the schema is missing or behind the newest migration."""
    if not inspect(engine).has_table(VERSION_TABLE):
        return True
    with engine.connect() as conn:
        current = set(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    return current != HEADS
