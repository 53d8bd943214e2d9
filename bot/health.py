"""Readiness: named checks that say whether this process can do its work, and why not.

`/healthz` only says the process answers and the database too; `/readyz` runs every check here
(the database answers, its schema is the one this code needs, the inbox is not piling up) and
answers 503 with the failing checks' reasons, so a load balancer sends no requests to a
replica that would only fail them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import telemetry
from storage.db import Database
from storage.migrate import needs_upgrade

logger = logging.getLogger("pipebot.health")


@dataclass(frozen=True)
class Check:
    """One named readiness check: `probe()` returns None when all is well, else the reason.

    `on_scrape` checks also run when `/metrics` is read, to refresh the gauges they set.
    """

    name: str
    probe: Callable[[], str | None]
    on_scrape: bool = False


@dataclass(frozen=True)
class Backlog:
    """How much work waits: how many items, and how old the oldest is (seconds)."""

    count: int
    oldest_seconds: float


def database_check(db: Database) -> Check:
    """The database answers a trivial query."""
    return Check("database", lambda: None if db.ping() else "the database does not answer")


def migrations_check(db: Database) -> Check:
    """The schema is the newest this code ships (`pipebot db upgrade` brings it there)."""

    def probe() -> str | None:
        try:
            behind = needs_upgrade(db.engine)
        except Exception as exc:
            return f"cannot read the schema version: {type(exc).__name__}"
        return "the schema is behind: run `pipebot db upgrade`" if behind else None

    return Check("migrations", probe)


def backlog_check(measure: Callable[[], Backlog], *, limit: int, name: str = "inbox") -> Check:
    """Work waiting stays below `limit` items (READYZ_MAX_BACKLOG); sets the inbox gauges."""

    def probe() -> str | None:
        backlog = measure()
        telemetry.INBOX_BACKLOG.set(backlog.count)
        telemetry.INBOX_OLDEST_SECONDS.set(backlog.oldest_seconds)
        if backlog.count >= limit:
            return (
                f"{backlog.count} requests wait (limit {limit}), "
                f"the oldest for {backlog.oldest_seconds:.0f} s"
            )
        return None

    return Check(name, probe, on_scrape=True)


def default_checks(db: Database) -> list[Check]:
    """The checks every deployment has; the inbox's backlog check is added beside them."""
    return [database_check(db), migrations_check(db)]


def run_checks(checks: Iterable[Check]) -> dict[str, str | None]:
    """Each check's name and its reason for failing (None: passed), in order."""
    results: dict[str, str | None] = {}
    for check in checks:
        try:
            reason = check.probe()
        except Exception as exc:  # a broken check is a failed check, never a 500
            logger.warning("readiness check %s raised: %s", check.name, exc)
            reason = f"the check failed: {type(exc).__name__}"
        telemetry.READY.labels(check.name).set(0 if reason else 1)
        results[check.name] = reason
    return results
