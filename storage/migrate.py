"""Alembic migrations, run programmatically (`pipebot db upgrade`, and on first start).

Alembic is imported only to upgrade: checking whether the schema is current reads the
revision ids of the migration files and the `alembic_version` table directly, so every
`pipebot` command does not pay Alembic's import (about 0.1 s).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


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


def _assigned(tree: ast.Module, name: str) -> object:
    """The literal value a module assigns to `name` (`x = ...` or `x: T = ...`), else None."""
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        if value is not None and any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    return None


def script_heads() -> set[str]:
    """The newest revisions of the migration files (what Alembic calls the heads)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        revision = _assigned(tree, "revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        down = _assigned(tree, "down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
    return revisions - parents


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The heads this code ships, read once: the files cannot change while it runs."""
    return frozenset(script_heads())


def needs_upgrade(engine: Engine) -> bool:
    """True when the schema is missing or behind the newest migration."""
    if not inspect(engine).has_table(VERSION_TABLE):
        return True
    with engine.connect() as conn:
        current = set(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    return current != head_revisions()
