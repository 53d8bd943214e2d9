"""Engine, sessions and the one transaction scope every request and job uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

_WRITE_OPTION = "pipebot_write"
_BUSY_OPTION = "pipebot_busy_ms"
BUSY_TIMEOUT_MS = 15000


def is_sqlite(url: str) -> bool:
    """True for SQLite URLs."""
    return url.startswith("sqlite")


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` for writes.

    A deferred BEGIN that reads then writes fails with "database is locked" when another
    thread writes first; taking the write lock up front makes writers queue instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        busy = options.get(_BUSY_OPTION)
        # A transaction in a hurry waits less for the write lock; the next one waits as usual.
        if busy is not None or conn.info.get(_BUSY_OPTION):
            conn.exec_driver_sql(f"PRAGMA busy_timeout={busy or BUSY_TIMEOUT_MS}")
            conn.info[_BUSY_OPTION] = busy is not None
        write = options.get(_WRITE_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine and its session factories; `session_scope()` is the only way to write."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # Enough connections for every thread that may hold one at once (the scheduler's 16
        # delivery workers, Bolt's listener threads, modal submissions), so none waits for one.
        kwargs: dict[str, Any] = {"echo": echo, "pool_size": 10, "max_overflow": 30}
        if is_sqlite(url):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
            if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite://"):
                raise ValueError("pipebot needs a SQLite file, not an in-memory database")
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if is_sqlite(url):
            _configure_sqlite(self.engine)
        self._writer = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: False}),
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def dialect(self) -> str:
        """The backend's name: `sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def session_scope(self, *, lock_timeout: float | None = None) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any error.

        `lock_timeout` (seconds, SQLite only) bounds the wait for the database's write lock,
        15 s otherwise: past it the transaction fails with "database is locked".
        """
        with self._writer() as session, session.begin():
            if lock_timeout is not None and is_sqlite(self.url):
                session.connection(execution_options={_BUSY_OPTION: int(lock_timeout * 1000)})
            yield session

    @contextmanager
    def read_scope(self) -> Iterator[Session]:
        """A read-only transaction that never takes SQLite's write lock."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
