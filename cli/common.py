"""What every `pipebot` command shares: settings, the database, input and output, errors.

Settings, SQLAlchemy and Alembic are imported where they are first needed: `pipebot --help`
and the short commands start without them (start-up times in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a block with the garbage collector paused; it is as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def loading() -> Iterator[None]:
    """Import a command's modules with the garbage collector paused, then freeze them."""
    # The 400,000 objects SQLAlchemy, pydantic and numpy make while they load live until the
    # process ends: collecting among them while they are made, and rescanning them in every
    # later full collection, was a tenth of `pipebot stats` (docs/PERFORMANCE.md).
    with collector_paused():
        yield
    gc.freeze()


class CliError(Exception):
    """A problem outside the domain: a missing file, unreadable input, no usable database."""

    def __init__(self, message: str, *, example: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.example = example


def load_settings() -> Settings:
    """The settings from the environment; an invalid one is a CliError naming it."""
    from pydantic import ValidationError

    from bot.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        raise CliError(f"invalid setting {where}: {first['msg']}") from None


def database_url(args: argparse.Namespace) -> str:
    """The database URL from --database-url, else the DATABASE_URL setting."""
    # Absent when not given at all: the option's default is SUPPRESS (see build_parser).
    url: str | None = getattr(args, "database_url", None)
    if url is None:
        return load_settings().database_url
    # The same spelling fix Settings applies to DATABASE_URL: hosts hand out postgres:// URLs.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_database(args: argparse.Namespace) -> Database:
    """The database, with its schema brought up to date (SQLite) or checked (PostgreSQL)."""
    from storage import migrate
    from storage.db import Database, is_sqlite

    url = database_url(args)
    try:
        db = Database(url)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        behind = migrate.needs_upgrade(db.engine)
        if behind and is_sqlite(url):
            # A local file upgrades itself; a shared server is upgraded on purpose.
            migrate.upgrade(url)
    except BaseException:
        db.dispose()
        raise
    if behind and not is_sqlite(url):
        db.dispose()
        raise CliError(
            "The database schema is missing or out of date; upgrade it first.",
            example="pipebot db upgrade",
        )
    return db


def read_input(name: str) -> str:
    """A file's text (`-`: standard input); unreadable input is a CliError."""
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        # utf-8-sig: spreadsheets often start their CSV files with a byte-order mark.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{name} is a directory, not a file") from None
    except UnicodeDecodeError:
        raise CliError(
            f"{name} is not UTF-8 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None


def write_output(text: str | Iterable[str], name: str | None) -> None:
    """Write text, or its pieces as they come, to a file, or standard output for None or `-`.

    A file appears whole or not at all: the pieces go to a temporary file beside it, renamed
    over it at the end.
    """
    pieces = [text] if isinstance(text, str) else text
    if name is None or name == "-":
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    target = Path(name)
    if target.exists() and not target.is_file():
        # A device or a pipe (/dev/stdout, a FIFO) is written in place, never replaced.
        partial = target
    else:
        partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as file:
            for piece in pieces:
                file.write(piece)
        if partial != target:
            os.replace(partial, target)
    except BaseException as exc:
        if partial != target:
            partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CliError(f"cannot write {name}: {exc.strerror or exc}") from None
        raise
