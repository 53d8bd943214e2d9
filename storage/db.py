"""Engine, sessions and the one transaction scope every request and job uses."""

from __future__ import annotations

import threading
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


def _configure_postgresql(engine: Engine) -> None:
    """No JIT compilation: it cost 20-30 ms a report query and no query runs long enough to
    win that back (docs/PERFORMANCE.md)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        # Committed, or the pool's rollback before first use would undo the SET.
        dbapi_connection.commit()


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


class WriterLock:
    """SQLite's one writer at a time, handed over inside this process without polling.

    SQLite makes a writer that finds the database locked sleep and retry, for up to 100 ms a
    sleep: a request acked while a worker writes waited that long for its inbox row. Here the
    writers of this process queue on a condition instead and wake as soon as the previous one
    commits; an urgent writer (the ack's) goes before those already waiting. Re-entrant, as a
    thread that already writes would otherwise wait for itself.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._owner: int | None = None
        self._depth = 0
        self._urgent = 0

    def acquire(self, timeout: float, *, urgent: bool = False) -> bool:
        """Wait up to `timeout` seconds to become the writer; False if that did not happen."""
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return True
            self._urgent += urgent
            try:
                free = self._changed.wait_for(
                    lambda: self._owner is None and (urgent or self._urgent == 0), timeout
                )
            finally:
                self._urgent -= urgent
            if not free:
                if self._owner is None:
                    self._changed.notify_all()  # a writer that gave way to us may go now
                return False
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        """Stop being the writer (once as often as acquired)."""
        with self._changed:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._changed.notify_all()


class DatabaseBusy(Exception):
    """A write transaction in a hurry could not start in time."""


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
        # SQLite takes one writer at a time: queue this process's writers here (WriterLock).
        self._writers = WriterLock() if is_sqlite(url) else None
        if is_sqlite(url):
            _configure_sqlite(self.engine)
        elif self.engine.dialect.name == "postgresql":
            _configure_postgresql(self.engine)
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
    def session_scope(
        self, *, lock_timeout: float | None = None, urgent: bool = False
    ) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any error.

        On SQLite, `lock_timeout` bounds the wait for the write lock (15 s otherwise; past it
        DatabaseBusy, or "database is locked" when another process holds it), and an `urgent`
        transaction goes before this process's other waiting writers.
        """
        writers = self._writers
        timeout = BUSY_TIMEOUT_MS / 1000 if lock_timeout is None else lock_timeout
        if writers is not None and not writers.acquire(timeout, urgent=urgent):
            raise DatabaseBusy(f"no write lock within {timeout:g} s")
        try:
            with self._writer() as session, session.begin():
                if lock_timeout is not None and writers is not None:
                    options = {_BUSY_OPTION: int(lock_timeout * 1000)}
                    session.connection(execution_options=options)
                yield session
        finally:
            if writers is not None:
                writers.release()

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
