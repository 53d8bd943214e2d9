"""Benchmark `pipeline.metrics.compute` and the scheduler's stale scan on a large team.

Run by hand (it is not part of the test suite):

    .venv/bin/python bench/bench_metrics.py [--backend sqlite|postgresql|both]
        [--deals 100000] [--history 1000000]

It builds a fresh, migrated database (a SQLite file under bench/out/, and/or a throwaway
schema in PostgreSQL, dropped at the end), fills one team with a deterministic, realistic
pipeline (two years of deals moving through the default stages, activities, close-date
slips, three currencies), runs ANALYZE, then times:

* `compute()` at as_of = now (the default path, read from the deals table);
* `compute()` at as_of = 30 days ago (the history path, rebuilt from stage_changes);
* the stale scan alone, as the scheduler runs it with `stale_condition`.

Each timing is one warm-up then 5 runs (best and median). It also times each part of
`compute()`, writes the query plans of every statement `compute()` issues to
bench/out/explain_<backend>_<as_of>.txt, and updates its section of docs/PERFORMANCE.md
(other sections are kept; the figures of each backend are kept in bench/out/ so a run of one
backend updates its column only).

Other options: --keep keeps the PostgreSQL schema and --reuse [SCHEMA] times an existing
bench database again without rebuilding it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection

from pipeline import metrics
from pipeline.dates import today_in
from pipeline.service import TeamDefaults
from pipeline.types import LOST, OUTCOMES, WON, DealStatus
from storage import cohort_queries, metric_queries
from storage.conditions import stale_condition
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Activity, Base, CloseDateChange, Deal, StageChange, Team
from storage.reports import reports_in
from storage.services import service_in

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "PERFORMANCE.md"
RESULTS = OUT / "bench_metrics_results.json"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

TEAM = "TBENCH01"
TIMEZONE = "America/New_York"
CURRENCY = "USD"
RATED = ("EUR", Decimal("1.08"))  # converted into USD
UNRATED = "GBP"  # no rate: counted as unpriced
DAY = 86400.0
HISTORY_DAYS = 730
BATCH = 10_000
REPEAT = 5
TARGET_S = 1.0
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

OWNERS = [f"U0REP{i:02d}" for i in range(1, 31)]
COMPANIES = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka",
    "Tyrell", "Cyberdyne", "Soylent", "Aperture", "Massive", "Northwind", "Contoso", "Fabrikam",
    "Pied Piper", "Gringotts", "Oscorp", "Monarch", "Dunder", "Prestige", "Sterling",
)  # fmt: skip
SUFFIXES = ("Corp", "Labs", "GmbH", "SA", "Ltd", "Group", "Systems", "Health", "Logistics")
SOURCES = ("webinar", "referral", "outbound", "inbound", "partner", "event")
LOST_REASONS = ("price", "went with a competitor", "no budget", "timing", "no decision")
ACTIVITY_TEXTS = (
    "Spoke with their CFO about the budget",
    "Sent the proposal and pricing sheet",
    "Demo with the operations team",
    "Follow-up email after the call",
    "Meeting with procurement",
    "Left a voicemail",
)
KINDS = ("call", "email", "meeting", "note")

T = TypeVar("T")


# --- machine ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """Where the figures were measured."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": __import__("sqlalchemy").__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- data generation ----------------------------------------------------------------------


@dataclass
class Plan:
    """One deal's whole life, generated in memory before anything is inserted."""

    status: str
    created: float  # epoch seconds
    end: float  # closed_at for a closed deal, the last touch for an open one
    tokens: list[str] = field(default_factory=list)  # to_stage of each stage_changes row
    times: list[float] = field(default_factory=list)
    activities: list[float] = field(default_factory=list)
    number: int = 0


@dataclass
class Data:
    """The rows to insert, and a few counts to report."""

    deals: list[dict[str, Any]]
    stage_changes: list[tuple[float, int, str | None, str, str, float | None]]
    activities: list[tuple[float, int, str, str, str]]
    close_date_changes: list[tuple[float, int, date | None, date | None, str]]
    counts: dict[str, int]


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(round(value, 6), UTC)


def _segment(rng: random.Random, keys: Sequence[str], start: int, outcome: str | None) -> list[str]:
    """Stage entries from `start` until `outcome` (won/lost) or, for None, a few moves."""
    n = len(keys)
    p = start
    tokens = [keys[p]]

    def step() -> None:
        nonlocal p
        r = rng.random()
        if r < 0.12 and p > 0:
            p -= 1  # backwards
        elif r < 0.24 and p + 2 < n:
            p += 2  # skips a stage
        elif p + 1 < n:
            p += 1
        else:
            p -= 1
        tokens.append(keys[p])

    if outcome is None:
        for _ in range(rng.choices((0, 1, 2, 3), (30, 30, 25, 15))[0]):
            step()
        return tokens
    while True:
        if len(tokens) > 12:
            break
        if outcome == LOST and rng.random() < 0.3:
            break
        if outcome == WON and p >= n - 2 and (p == n - 1 or rng.random() < 0.4):
            break
        step()
    tokens.append(outcome)
    return tokens


def _start(rng: random.Random) -> int:
    return rng.choices((0, 1, 2), (70, 20, 10))[0]


def generate(
    seed: int, n_deals: int, n_history: int, n_activities: int, keys: Sequence[str], now: float
) -> Data:
    """A deterministic (for a given `now`) pipeline of `n_deals` deals."""
    rng = random.Random(seed)
    n_keys = len(keys)
    oldest = now - HISTORY_DAYS * DAY
    plans: list[Plan] = []
    reopened = 0
    for _ in range(n_deals):
        r = rng.random()
        status = WON if r < 0.35 else LOST if r < 0.80 else DealStatus.OPEN.value
        if status == DealStatus.OPEN.value:
            # Open deals: most recent, some forgotten ones; quiet for a while, some longer
            # than their stage's stale threshold.
            if rng.random() < 0.7:
                quiet = rng.expovariate(1 / 9) * DAY
                age = quiet + rng.expovariate(1 / 45) * DAY + 3600
            else:
                quiet = rng.expovariate(1 / 30) * DAY
                age = quiet + rng.uniform(0, HISTORY_DAYS) * DAY + 3600
            quiet = min(quiet, 300 * DAY)
            age = min(age, HISTORY_DAYS * DAY)
            end = now - quiet
            created = now - age
        else:
            # Closed over two years, the team's deal flow doubling over that time (density
            # 1 + t/T); won deals take longer.
            grown = math.sqrt(1 + 3 * rng.random()) - 1
            close_age = max(HISTORY_DAYS * DAY * (1 - grown), 3600.0)
            end = now - close_age
            lifetime = rng.lognormvariate(math.log(45 if status == WON else 25), 0.7) * DAY
            created = max(end - lifetime, oldest + rng.random() * DAY)
            if created >= end:
                created = end - rng.uniform(600, DAY)
        plan = Plan(status=status, created=created, end=end)
        outcome = None if status == DealStatus.OPEN.value else status
        if rng.random() < 0.03:
            # Reopened: closed once, then reopened in the stage it closed from (or another).
            reopened += 1
            first = _segment(rng, keys, _start(rng), LOST if rng.random() < 0.75 else WON)
            closed_from = keys.index(first[-2])
            again = closed_from if rng.random() < 0.8 else rng.randrange(n_keys)
            plan.tokens = first + _segment(rng, keys, again, outcome)
        else:
            plan.tokens = _segment(rng, keys, _start(rng), outcome)
        plans.append(plan)

    # Pad (or trim) the histories to the requested number of stage_changes rows: extra
    # back-and-forth moves, more of them in long-lived deals.
    total = sum(len(p.tokens) for p in plans)
    extra = n_history - total
    if extra > 0:
        weights = [min((p.end - p.created) / DAY, 90) + 1 for p in plans]
        for index, count in Counter(rng.choices(range(n_deals), weights, k=extra)).items():
            tokens = plans[index].tokens
            is_open = plans[index].status == DealStatus.OPEN.value
            for _ in range(count):
                spots = [
                    j
                    for j in range(1, len(tokens) + (1 if is_open else 0))
                    if tokens[j - 1] not in OUTCOMES
                ]
                j = rng.choice(spots)
                nxt = tokens[j] if j < len(tokens) else None
                tokens.insert(j, rng.choice([k for k in keys if k not in (tokens[j - 1], nxt)]))
    elif extra < 0:
        for plan in rng.sample(plans, len(plans)):
            tokens = plan.tokens
            j = 1
            while extra < 0 and j < len(tokens) - 1:
                before, here, after = tokens[j - 1], tokens[j], tokens[j + 1]
                if OUTCOMES.isdisjoint((before, here)) and before != after:
                    del tokens[j]
                    extra += 1
                else:
                    j += 1
            if extra == 0:
                break

    # Activities, more on long-lived deals; an open deal's last touch is one of them.
    weights = [min((p.end - p.created) / DAY, 90) + 1 for p in plans]
    for index, count in Counter(rng.choices(range(n_deals), weights, k=n_activities)).items():
        plan = plans[index]
        plan.activities = [rng.uniform(plan.created, plan.end) for _ in range(count)]
        if plan.status == DealStatus.OPEN.value:
            plan.activities[-1] = plan.end

    # Stage-change times: creation first, then the moves, the outcome at closed_at.
    for plan in plans:
        n = len(plan.tokens)
        if plan.status != DealStatus.OPEN.value:
            middle = sorted(rng.uniform(plan.created, plan.end) for _ in range(n - 2))
            plan.times = [plan.created, *middle, plan.end]
        elif plan.activities or n == 1:
            if not plan.activities:
                plan.created = plan.end  # created, then nothing happened
            middle = sorted(rng.uniform(plan.created, plan.end) for _ in range(n - 1))
            plan.times = [plan.created, *middle]
        else:
            middle = sorted(rng.uniform(plan.created, plan.end) for _ in range(n - 2))
            plan.times = [plan.created, *middle, plan.end]

    # Numbers in creation order, as the bot allocates them.
    plans.sort(key=lambda p: p.created)
    today = _ts(now).date()
    deals: list[dict[str, Any]] = []
    changes: list[tuple[float, int, str | None, str, str, float | None]] = []
    activities: list[tuple[float, int, str, str, str]] = []
    close_changes: list[tuple[float, int, date | None, date | None, str]] = []
    for number, plan in enumerate(plans, start=1):
        plan.number = number
        owner = rng.choice(OWNERS)
        is_open = plan.status == DealStatus.OPEN.value
        previous: tuple[str, float] | None = None
        for token, at in zip(plan.tokens, plan.times, strict=True):
            by = owner if rng.random() < 0.9 else rng.choice(OWNERS)
            changes.append(
                (
                    at,
                    number,
                    previous[0] if previous else None,
                    token,
                    by,
                    previous[1] if previous else None,
                )
            )
            previous = (token, at)
        for at in plan.activities:
            activities.append((at, number, rng.choice(KINDS), rng.choice(ACTIVITY_TEXTS), owner))
        last_at = max(plan.times[-1], max(plan.activities, default=plan.created))

        # Expected close date, pushed back now and then (the slippage record).
        close_date: date | None = None
        updated = last_at
        if rng.random() < (0.7 if is_open else 0.5):
            close_date = _ts(plan.created).date() + timedelta(days=rng.randint(14, 90))
            set_later = rng.random() < 0.1
            pushes = rng.choices((0, 1, 2, 3, 4), (62, 20, 10, 5, 3))[0]
            moments = sorted(rng.uniform(plan.created, plan.end) for _ in range(pushes + set_later))
            old: date | None = None if set_later else close_date
            for k, at in enumerate(moments):
                if k == 0 and set_later:
                    new: date | None = close_date
                elif rng.random() < 0.85:
                    new = (old or close_date) + timedelta(days=rng.randint(7, 45))
                else:
                    new = (old or close_date) - timedelta(days=rng.randint(3, 14))
                close_changes.append((at, number, old, new, owner))
                old = new
            close_date = old
            updated = max(updated, *moments) if moments else updated

        step_text: str | None = None
        step_due: date | None = None
        if rng.random() < (0.55 if is_open else 0.2):
            step_text = "Send the revised proposal"
            step_due = (
                today + timedelta(days=rng.randint(-15, 30))
                if is_open
                else _ts(plan.end).date() + timedelta(days=rng.randint(-10, 10))
            )
        currency = rng.choices((CURRENCY, RATED[0], UNRATED), (70, 20, 10))[0]
        amount = (
            None
            if rng.random() < 0.05
            else int(rng.lognormvariate(math.log(1_200_000), 1.0) // 100 * 100)
        )
        stage = plan.tokens[-1] if is_open else plan.tokens[-2]
        deals.append(
            {
                "id": number,
                "team_id": TEAM,
                "number": number,
                "name": f"{rng.choice(COMPANIES)} {rng.choice(SUFFIXES)} {number}",
                "amount_cents": amount,
                "currency": currency,
                "owner_id": owner,
                "stage": stage,
                "status": plan.status,
                "created_at": _ts(plan.created),
                "created_by": owner,
                "closed_at": None if is_open else _ts(plan.end),
                "close_date": close_date,
                "next_step_text": step_text,
                "next_step_due": step_due,
                "lost_reason": rng.choice(LOST_REASONS) if plan.status == LOST else None,
                "source": rng.choice(SOURCES) if rng.random() < 0.5 else None,
                "last_activity_at": _ts(last_at),
                "snoozed_until": (
                    today + timedelta(days=rng.randint(1, 20))
                    if is_open and rng.random() < 0.02
                    else None
                ),
                "updated_at": _ts(updated),
                "updated_by": owner,
                # `version` is the mapper's version_id_col: the ORM bulk insert sets it to 1.
            }
        )
    changes.sort(key=lambda row: row[0])
    activities.sort(key=lambda row: row[0])
    close_changes.sort(key=lambda row: row[0])
    counts = {
        "deals": len(deals),
        "stage_changes": len(changes),
        "activities": len(activities),
        "close_date_changes": len(close_changes),
        "open": sum(1 for d in deals if d["status"] == DealStatus.OPEN.value),
        "won": sum(1 for d in deals if d["status"] == WON),
        "lost": sum(1 for d in deals if d["status"] == LOST),
        "reopened": reopened,
    }
    return Data(deals, changes, activities, close_changes, counts)


def _batches(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i : i + BATCH]


def load(db: Database, data: Data) -> None:
    """Bulk-insert the generated rows, in batches of BATCH, ids in time order."""
    with db.session_scope() as s:
        s.execute(update(Team).where(Team.id == TEAM).values(next_number=len(data.deals) + 1))
    for chunk in _batches(data.deals):
        with db.session_scope() as s:
            s.execute(insert(Deal), list(chunk))
    offset = 0
    rows: list[dict[str, Any]]
    for sc_chunk in _batches(data.stage_changes):
        rows = [
            {
                "id": offset + i,
                "team_id": TEAM,
                "deal_id": deal_id,
                "from_stage": frm,
                "to_stage": to,
                "at": _ts(at),
                "by": by,
                "from_entered_at": None if entered is None else _ts(entered),
            }
            for i, (at, deal_id, frm, to, by, entered) in enumerate(sc_chunk, start=1)
        ]
        offset += len(rows)
        with db.session_scope() as s:
            s.execute(insert(StageChange), rows)
    offset = 0
    for a_chunk in _batches(data.activities):
        rows = [
            {
                "id": offset + i,
                "team_id": TEAM,
                "deal_id": deal_id,
                "kind": kind,
                "text": body,
                "at": _ts(at),
                "by": by,
                "link": None,
            }
            for i, (at, deal_id, kind, body, by) in enumerate(a_chunk, start=1)
        ]
        offset += len(rows)
        with db.session_scope() as s:
            s.execute(insert(Activity), rows)
    offset = 0
    for c_chunk in _batches(data.close_date_changes):
        rows = [
            {
                "id": offset + i,
                "team_id": TEAM,
                "deal_id": deal_id,
                "old_date": old,
                "new_date": new,
                "at": _ts(at),
                "by": by,
            }
            for i, (at, deal_id, old, new, by) in enumerate(c_chunk, start=1)
        ]
        offset += len(rows)
        with db.session_scope() as s:
            s.execute(insert(CloseDateChange), rows)
    if db.dialect == "postgresql":
        with db.session_scope() as s:
            for table in ("deals", "stage_changes", "activities", "close_date_changes"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )


# --- databases ----------------------------------------------------------------------------


@dataclass
class Backend:
    """A fresh database for one run, and how to clean it up."""

    name: str
    url: str
    cleanup: Callable[[], None]
    label: str


def sqlite_backend(reuse: bool) -> Backend:
    """A SQLite file under bench/out/, recreated unless reused."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bench_metrics.db"
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Backend("sqlite", f"sqlite:///{path}", lambda: None, str(path.relative_to(ROOT)))


def pg_backend(base: str, schema: str | None, keep: bool) -> Backend:
    """A new schema in the PostgreSQL database (or an existing one, reused), dropped at the end."""
    name = schema or f"bench_metrics_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    if schema is None:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))

    def drop() -> None:
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        else:
            print(f"kept PostgreSQL schema {name}")
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return Backend("postgresql", f"{base}{sep}options=-csearch_path%3D{name}", drop, name)


def server_version(db: Database) -> str:
    """The backend's version string."""
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            return str(conn.execute(text("select sqlite_version()")).scalar_one())
        return str(conn.execute(text("show server_version")).scalar_one())


def pg_settings(db: Database) -> str:
    """The PostgreSQL settings that matter for these queries."""
    names = ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")
    with db.engine.connect() as conn:
        return ", ".join(f"{n} {conn.execute(text(f'show {n}')).scalar_one()}" for n in names)


def analyze(db: Database) -> None:
    """Fresh planner statistics; on PostgreSQL also VACUUM, as autovacuum would have."""
    if db.dialect == "sqlite":
        # Outside SQLAlchemy's transaction: a checkpoint cannot run inside one.
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in Base.metadata.sorted_tables:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table.name}"')


def db_size(db: Database) -> int:
    """Bytes used by the database (PostgreSQL: tables, indexes and TOAST of the schema)."""
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages) * int(size)
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).scalar_one()
        )


# --- timing -------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall-clock seconds of each run after the warm-up, and CPU seconds of this process.

    On SQLite, which runs inside this process, the CPU time is the whole cost and barely
    moves when other jobs load the machine; on PostgreSQL it is the client's share only.
    """

    runs: list[float]
    cpu: list[float]

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "median": self.median,
            "cpu_median": self.cpu_median,
            "runs": self.runs,
        }

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def measure(fn: Callable[[], object], repeat: int = REPEAT) -> Timing:
    """One warm-up, then `repeat` timed runs."""
    fn()
    runs = []
    cpu = []
    for _ in range(repeat):
        start = time.perf_counter()
        start_cpu = time.process_time()
        fn()
        cpu.append(time.process_time() - start_cpu)
        runs.append(time.perf_counter() - start)
    return Timing(runs, cpu)


def stale_scan(db: Database, as_of: datetime) -> Callable[[], list[int]]:
    """The scheduler's stale scan, stages loaded once outside the timed part."""
    with db.read_scope() as s:
        team = metric_queries.require_team(s, TEAM)
    stages = team.stages
    today = today_in(team.timezone, as_of)
    stmt = select(Deal.number).where(
        Deal.team_id == TEAM,
        Deal.status == DealStatus.OPEN.value,
        stale_condition(
            Deal.stage.expression, Deal.last_activity_at.expression, stages, as_of, today
        ),
    )

    def run() -> list[int]:
        with db.read_scope() as s:
            return list(s.scalars(stmt))

    return run


def compute_run(db: Database, as_of: datetime) -> Callable[[], metrics.Metrics]:
    """One `compute()` in its own read transaction, as the CLI and the jobs call it."""

    def run() -> metrics.Metrics:
        with db.read_scope() as s:
            return metrics.compute(reports_in(s, TEAM), as_of=as_of)

    return run


# The public query functions `SqlReports` calls; each is timed and its statements labelled.
PARTS = (
    ("team settings", metric_queries, "require_team"),
    (
        "open set (read once: totals, stale, overdue, past close, slipped)",
        metric_queries,
        "open_deals",
    ),
    ("closed window, grouped (cohort)", cohort_queries, "closed_groups"),
    ("lost deals, grouped (funnel)", cohort_queries, "lost_groups"),
    ("days to win", metric_queries, "win_seconds"),
    ("days_in_stage", metric_queries, "stage_exits"),
)


@contextmanager
def instrumented(db: Database) -> Iterator[tuple[dict[str, float], list[tuple[str, str, Any]]]]:
    """Time each part of compute() (top-level calls only) and capture its SQL statements."""
    totals: dict[str, float] = {}
    statements: list[tuple[str, str, Any]] = []
    stack: list[str] = []
    saved: list[tuple[Any, str, Any]] = []

    def wrap(label: str, fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> T:
            stack.append(label)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                stack.pop()
                if not stack:
                    totals[label] = totals.get(label, 0.0) + elapsed

        return timed

    def on_execute(
        _conn: Connection, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool
    ) -> None:
        if stack and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((stack[0], statement, params))

    for label, module, attr in PARTS:
        original = getattr(module, attr)
        saved.append((module, attr, original))
        setattr(module, attr, wrap(label, original))
    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield totals, statements
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
        for module, attr, original in saved:
            setattr(module, attr, original)


def breakdown(
    db: Database, as_of: datetime, explain_to: Path
) -> tuple[dict[str, float], list[tuple[str, float, int]]]:
    """Median seconds per part of compute(), and each statement timed alone, plans saved."""
    runs: list[dict[str, float]] = []
    statements: list[tuple[str, str, Any]] = []
    for _ in range(3):
        with instrumented(db) as (totals, captured):
            start = time.perf_counter()
            compute_run(db, as_of)()
            totals["total"] = time.perf_counter() - start
        runs.append(totals)
        statements = captured
    parts = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}

    per_statement: list[tuple[str, float, int]] = []
    lines: list[str] = []
    with db.engine.connect() as conn:
        for n, (label, sql, params) in enumerate(statements, start=1):
            best = math.inf
            rows = 0
            for _ in range(3):
                start = time.perf_counter()
                rows = len(conn.exec_driver_sql(sql, params).fetchall())
                best = min(best, time.perf_counter() - start)
            per_statement.append((label, best, rows))
            if db.dialect == "sqlite":
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
                plan_text = "\n".join(f"{r[0]:>4} {r[1]:>4} {r[3]}" for r in plan)
            else:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
                plan_text = "\n".join(r[0] for r in plan)
            lines += [
                f"-- [{n}] {label}: best {best * 1000:.1f} ms, {rows} rows",
                sql,
                f"-- params: {params!r}",
                plan_text,
                "",
            ]
        conn.rollback()
    explain_to.write_text("\n".join(lines))
    return parts, per_statement


# --- the run ------------------------------------------------------------------------------


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _fmt_size(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MiB"


def run_backend(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    """Build, load, analyze and time one backend; the figures as a JSON-able dict."""
    result: dict[str, Any] = {"backend": backend.name}
    print(f"\n=== {backend.name} ({backend.label})")
    if args.reuse is None:
        upgrade(backend.url)
    db = Database(backend.url)
    try:
        result["version"] = server_version(db)
        if db.dialect == "postgresql":
            result["settings"] = pg_settings(db)
        if args.reuse is None:
            start = time.perf_counter()
            with db.session_scope() as s:
                service = service_in(
                    s, TEAM, defaults=TeamDefaults(timezone=TIMEZONE, currency=CURRENCY)
                )
                keys = [stage.key for stage in service.stages()]
                service.set_rate(RATED[0], RATED[1])
            now = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
            data = generate(args.seed, args.deals, args.history, args.activities, keys, now)
            generated = time.perf_counter() - start
            print(f"generated in {generated:.1f} s: {data.counts}")
            load(db, data)
            result["generate_s"] = generated
            result["load_s"] = time.perf_counter() - start - generated
            result["counts"] = data.counts
            print(f"loaded in {result['load_s']:.1f} s")
            start = time.perf_counter()
            analyze(db)
            result["analyze_s"] = time.perf_counter() - start
            print(f"analyzed in {result['analyze_s']:.1f} s")
        result["size"] = db_size(db)

        as_of = datetime.now(UTC)
        back = as_of - timedelta(days=30)
        window = as_of - metrics.DEFAULT_WINDOW
        with db.read_scope() as s:
            result["window_exits"] = s.execute(
                select(func.count())
                .select_from(StageChange)
                .where(StageChange.at >= window, StageChange.at < as_of)
            ).scalar_one()
            result["cohort"] = s.execute(
                select(func.count())
                .select_from(Deal)
                .where(Deal.closed_at >= window, Deal.closed_at < as_of)
            ).scalar_one()
        with db.read_scope() as s:
            source = reports_in(s, TEAM)
            now_metrics = metrics.compute(source, as_of=as_of)
            back_metrics = metrics.compute(source, as_of=back)
        result["open_now"] = now_metrics.open.count
        result["stale_now"] = len(now_metrics.stale)
        result["open_back"] = back_metrics.open.count
        result["stale_back"] = len(back_metrics.stale)
        scan = stale_scan(db, as_of)
        result["stale_scan_rows"] = len(scan())

        result["load_average"] = os.getloadavg()[0]
        timings = {
            "compute_now": measure(compute_run(db, as_of)),
            "compute_30d_back": measure(compute_run(db, back), repeat=args.repeat_back),
            "stale_scan": measure(scan),
        }
        for key, timing in timings.items():
            result[key] = timing.as_dict()
            print(
                f"{key:<18} best {_fmt_s(timing.best):>9}  median {_fmt_s(timing.median):>9}"
                f"  cpu {_fmt_s(timing.cpu_median):>9}"
            )

        for label, when in (("now", as_of), ("30d_back", back)):
            parts, statements = breakdown(db, when, OUT / f"explain_{backend.name}_{label}.txt")
            result[f"parts_{label}"] = parts
            result[f"statements_{label}"] = statements
            print(f"compute() parts, as_of {label} (median of 3):")
            for part, seconds in parts.items():
                print(f"  {part:<36} {_fmt_s(seconds):>9}")
            print("  statements (each alone, best of 3):")
            for n, (part, seconds, rows) in enumerate(statements, start=1):
                print(f"  [{n:>2}] {part:<34} {_fmt_s(seconds):>9} {rows:>7} rows")

    finally:
        db.dispose()
    return result


ROWS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("Data generation (Python)", lambda r: _fmt_s(r["generate_s"]) if "generate_s" in r else "—"),
    ("Bulk load", lambda r: _fmt_s(r["load_s"]) if "load_s" in r else "—"),
    ("ANALYZE", lambda r: _fmt_s(r["analyze_s"]) if "analyze_s" in r else "—"),
    ("Database size", lambda r: _fmt_size(r["size"])),
    (
        "`compute()`, as_of now: best / median",
        lambda r: f"{_fmt_s(r['compute_now']['best'])} / {_fmt_s(r['compute_now']['median'])}",
    ),
    (
        "`compute()`, as_of 30 days back: best / median",
        lambda r: (
            f"{_fmt_s(r['compute_30d_back']['best'])} / {_fmt_s(r['compute_30d_back']['median'])}"
        ),
    ),
    (
        "`compute()`, as_of now: CPU time of the bench process (median)",
        lambda r: (
            _fmt_s(r["compute_now"]["cpu_median"])
            + (" (client side only)" if r["backend"] == "postgresql" else "")
        ),
    ),
    (
        "Stale scan alone: best / median",
        lambda r: f"{_fmt_s(r['stale_scan']['best'])} / {_fmt_s(r['stale_scan']['median'])}",
    ),
)


def table(results: Sequence[dict[str, Any]]) -> list[str]:
    """The figures as a Markdown table, one column per backend."""
    lines = [
        "| | " + " | ".join(NAMES[r["backend"]] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    return lines


def parts_table(results: Sequence[dict[str, Any]], key: str) -> list[str]:
    """Median time of each part of compute(), one column per backend."""
    labels = [label for label in results[0][key]]
    lines = [
        "| part of `compute()` | " + " | ".join(NAMES[r["backend"]] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for label in labels:
        cells = [_fmt_s(r[key].get(label, 0.0)) for r in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def section(
    title: str, results: Sequence[dict[str, Any]], info: dict[str, str], command: str
) -> str:
    """The docs/PERFORMANCE.md section for these results."""
    versions = [f"Python {info['python']}", f"SQLAlchemy {info['sqlalchemy']}"]
    settings = ""
    for r in results:
        if r["backend"] == "sqlite":
            versions.append(f"SQLite {r['version']}")
        else:
            versions.append(f"PostgreSQL {r['version']} (local, same machine)")
            settings = f" PostgreSQL settings: {r['settings']}."
    counts = next((r["counts"] for r in results if "counts" in r), None)
    verdicts = []
    for r in results:
        ok_compute = r["compute_now"]["median"] < TARGET_S
        ok_scan = r["stale_scan"]["median"] < TARGET_S
        verdicts.append(
            f"{NAMES[r['backend']]}: `compute()` now "
            f"{'met' if ok_compute else '**missed**'} ({_fmt_s(r['compute_now']['median'])}), "
            f"stale scan {'met' if ok_scan else '**missed**'} "
            f"({_fmt_s(r['stale_scan']['median'])})"
        )
    out = [
        f"## {title}",
        "",
        f"Measured {info['date']} by `bench/bench_metrics.py`:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {info['nproc']} vCPU ({info['cpu']}), {info['ram']} RAM, {info['os']}; "
        + ", ".join(versions)
        + "."
        + settings,
        "",
    ]
    if counts:
        out += [
            f"Data: one team, {counts['deals']:,} deals ({counts['open']:,} open, "
            f"{counts['won']:,} won, {counts['lost']:,} lost, {counts['reopened']:,} reopened "
            f"once), {counts['stage_changes']:,} stage_changes rows over two years, "
            f"{counts['activities']:,} activities, {counts['close_date_changes']:,} "
            "close_date_changes; amounts in USD, EUR (with a rate) and GBP (without). "
            "Default 5 stages. Bulk-loaded in id = time order, then ANALYZE (PostgreSQL: "
            "`VACUUM (ANALYZE)`, the state autovacuum leaves).",
            "",
        ]
    first = results[0]
    out += [
        f"Timings: one warm-up, then {len(first['compute_now']['runs'])} runs"
        + (
            f" ({len(first['compute_30d_back']['runs'])} for as_of 30 days back)"
            if len(first["compute_30d_back"]["runs"]) != len(first["compute_now"]["runs"])
            else ""
        )
        + ", each `compute()` in its own read "
        "transaction; the stale scan is `select(Deal.number).where(team, status == 'open', "
        "stale_condition(...))` with the stages loaded beforehand. "
        f"`compute()` at now found {first['open_now']:,} open deals, {first['stale_now']:,} "
        f"stale; its 90-day window holds {first['window_exits']:,} stage_changes rows and "
        f"{first['cohort']:,} closed deals. 1-minute load average when the timings started: "
        + ", ".join(f"{NAMES[r['backend']]} {r['load_average']:.1f}" for r in results)
        + " (the machine is shared: other jobs ran during the measurements).",
        "",
        *table(results),
        "",
        f"Target: under {TARGET_S:.0f} s (median) for `compute()` as_of now and for the stale "
        "scan. " + "; ".join(verdicts) + ".",
        "",
        "Where `compute()` spends its time, as_of now (median of 3 runs):",
        "",
        *parts_table(results, "parts_now"),
        "",
        "As_of 30 days back:",
        "",
        *parts_table(results, "parts_30d_back"),
        "",
    ]
    return "\n".join(out)


def update_doc(title: str, body: str) -> None:
    """Replace the section called `title` in docs/PERFORMANCE.md (or append it)."""
    header = "# Performance\n\nFigures measured by the scripts in `bench/`.\n"
    current = DOC.read_text() if DOC.exists() else header
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: body + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + body + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(updated.rstrip("\n") + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run each backend, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000, help="stage_changes rows")
    parser.add_argument("--activities", type=int, default=None, help="default: 3 per deal")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--pg-url", default=PG_BASE)
    parser.add_argument("--repeat-back", type=int, default=REPEAT, help="runs of the 30-day path")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument(
        "--reuse",
        metavar="PG_SCHEMA",
        nargs="?",
        const="",
        default=None,
        help="time an existing database instead of building one (SQLite: bench/out file; "
        "PostgreSQL: the schema given, kept)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    if args.activities is None:
        args.activities = 3 * args.deals
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.reuse == "" and "postgresql" in backends:
        parser.error("--reuse needs the PostgreSQL schema name for PostgreSQL")

    info = machine()
    title = f"Metrics and stale scan ({args.deals:,} deals, {args.history:,} history rows)"
    results: list[dict[str, Any]] = []
    for name in backends:
        if name == "sqlite":
            backend = sqlite_backend(reuse=args.reuse is not None)
        else:
            backend = pg_backend(
                args.pg_url, args.reuse or None, keep=args.keep or bool(args.reuse)
            )
        try:
            results.append(run_backend(backend, args))
        finally:
            backend.cleanup()

    print(f"\n{title}\n")
    print("\n".join(table(results)))
    if args.no_doc or args.reuse is not None:
        return 0

    # Merge with the other backend's latest figures for the same size, then rewrite the doc.
    OUT.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored = saved.setdefault(title, {})
    for r in results:
        stored[r["backend"]] = {**r, "info": info}
    RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    merged = [stored[b] for b in ("sqlite", "postgresql") if b in stored]
    default = args.deals == 100_000 and args.history == 1_000_000
    command = ".venv/bin/python bench/bench_metrics.py --backend " + (
        "both" if len(merged) == 2 else merged[0]["backend"]
    )
    if not default:
        command += f" --deals {args.deals} --history {args.history}"
    update_doc(title, section(title, merged, info, command))
    print(f"\nupdated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
