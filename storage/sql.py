"""Portable SQL pieces the two backends spell differently."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.roles import ExpressionElementRole


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds, for two timestamp columns."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(
        self, later: ExpressionElementRole[Any], earlier: ExpressionElementRole[Any]
    ) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def materialized_ctes(session: Session) -> bool:
    """Whether the backend reads `WITH … AS MATERIALIZED`: PostgreSQL 12+, SQLite 3.35+."""
    dialect = session.connection().dialect
    version = tuple(dialect.server_version_info or ())
    return version >= ((12,) if dialect.name == "postgresql" else (3, 35))


def insert_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    return insert_new(session, model, values) is not None


def insert_new(session: Session, model: type[Any], values: dict[str, Any]) -> Any:
    """Insert a row unless a unique key of it exists: its primary key, or None when it did.

    Uses RETURNING because PostgreSQL reports rowcount -1 for ON CONFLICT DO NOTHING.
    """
    # The backend's own module (postgresql or sqlite), loaded by the first insert: importing
    # both up front costs start-up time to every command that only reads.
    dialect = importlib.import_module(f"sqlalchemy.dialects.{session.get_bind().dialect.name}")
    insert = dialect.insert
    pk = model.__table__.primary_key.columns
    stmt = insert(model).values(**values).on_conflict_do_nothing().returning(*pk)
    return session.execute(stmt).scalar()
