"""Benchmark the scheduler: 1,000 teams due at the same minute, and a 100,000-deal digest.

Run by hand (it is not part of the test suite):

    .venv/bin/python bench/bench_scheduler.py [--backend sqlite|postgresql|both]
        [--teams 1000] [--workers 16,32] [--no-digest] [--digest-only]

Reminders: a fresh, migrated database (SQLite file under bench/out/, or a throwaway
PostgreSQL schema) gets `--teams` teams, bulk-inserted, each with its own channel, the
default stages and schedule (reminders `09:00 mon-fri` in the channel, digest `mon 09:00`)
and a handful of stale deals; every `--big-every`-th team has `--big-deals` stale deals, so
its reminder spills into a thread reply that the Pacer must space by 1 s. The fake Slack runs
in its own process and enforces Slack's 1 message/second per channel on its real clock
(RateLimit, token bucket of `--burst`), and answers HTTP 429 + Retry-After: 1 to the first
attempt of one post in `--fail-every` (chosen by a hash of the post, no side effect).

Then, for each `--workers`, one `Runner(db, client, max_workers=W).tick()` at Thursday
09:00:30 UTC (all teams due, no digest due) with a real Pacer and the bot's real WebClient
(its RateLimitErrorRetryHandler sleeps Retry-After and retries), in a child process of its
own so its peak RSS is the tick's; a second pass with tracemalloc on gives the peak of the
Python allocations. Between passes the ledger and the fake are emptied. Checks: every
expected reminder is a `sent` ledger row and exactly one top-level message in its channel,
with the expected thread replies.

Digest: on bench_metrics' 100,000-deal team (its SQLite file in bench/out/ when it holds
that team, else generated again; a new PostgreSQL schema, generated and dropped), times
`collect_digest`, `build_digest` and `render_digest_chart` separately.

Writes docs/PERFORMANCE.md, sections "Scheduler: 1,000 teams at once" and "Digest build,
100,000 deals" (figures kept per backend in bench/out/bench_scheduler_results.json).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any
from zoneinfo import ZoneInfo

import bench_metrics
from bench_metrics import machine, update_doc
from benchlib import (
    OUT,
    PG_BASE,
    TOKEN,
    FakeProcess,
    Throwaway,
    load1,
    peak_rss_mib,
    pg_db,
    rss_mib,
    sqlite_db,
)
from sqlalchemy import delete, func, insert, select

from bot.app import build_client
from bot.settings import Settings
from pipeline.stages import DEFAULT_STAGES
from pipeline.types import DealStatus
from scheduler import jobs
from scheduler.due import latest_daily
from scheduler.ledger import Status
from scheduler.runner import Run, Runner
from scheduler.sender import Pacer
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Deal, Delivery, Stage, Team

RESULTS = OUT / "bench_scheduler_results.json"
TICK_TITLE = "Scheduler: 1,000 teams at once"
DIGEST_TITLE = "Digest build, 100,000 deals"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
OWNERS = ("U0REP01", "U0REP02", "U0REP03")
CHILD_TIMEOUT_S = 1800.0
DIGEST_REPEAT = 3


def due_time(today: date) -> datetime:
    """Thursday 09:00:30 UTC on or before `today`: reminders due, Monday's digest past grace."""
    thursday = today - timedelta(days=(today.weekday() - 3) % 7)
    return datetime(thursday.year, thursday.month, thursday.day, 9, 0, 30, tzinfo=UTC)


def team_id(n: int) -> str:
    return f"T{n:07d}"


def channel_id(n: int) -> str:
    return f"C{n:07d}"


# --- data ------------------------------------------------------------------------------------


def populate(db: Database, args: argparse.Namespace, due: datetime) -> dict[str, int]:
    """Bulk-insert the teams, their stages and their deals; the counts inserted."""
    teams = []
    stages = []
    deals = []
    deal_id = 0
    stale_total = 0
    for n in range(1, args.teams + 1):
        tid = team_id(n)
        teams.append(
            {
                "id": tid,
                "timezone": "UTC",
                "currency": "USD",
                "next_number": 1,
                "channel_id": channel_id(n),
                "admins": ["U0ALICE"],
                "reminders": "09:00 mon-fri",
                "reminder_mode": "channel",
                "digest": "mon 09:00",
                "created_at": due - timedelta(days=400),
            }
        )
        for position, spec in enumerate(DEFAULT_STAGES):
            stages.append(
                {
                    "team_id": tid,
                    "key": spec.key,
                    "name": spec.name,
                    "position": position,
                    "probability": spec.probability,
                    "stale_days": spec.stale_days,
                }
            )
        stale = args.big_deals if args.big_every and n % args.big_every == 0 else args.deals
        stale_total += stale
        for number in range(1, stale + args.fresh + 1):
            deal_id += 1
            quiet = timedelta(days=20 + number) if number <= stale else timedelta(days=1)
            spec = DEFAULT_STAGES[number % len(DEFAULT_STAGES)]
            at = due - quiet
            deals.append(
                {
                    "id": deal_id,
                    "team_id": tid,
                    "number": number,
                    "name": f"Account {n}-{number} Holdings",
                    "amount_cents": 1_000_000 * number,
                    "currency": "USD",
                    "owner_id": OWNERS[number % len(OWNERS)],
                    "stage": spec.key,
                    "status": DealStatus.OPEN.value,
                    "created_at": at - timedelta(days=10),
                    "created_by": OWNERS[0],
                    "closed_at": None,
                    "close_date": None,
                    "next_step_text": None,
                    "next_step_due": None,
                    "lost_reason": None,
                    "source": None,
                    "last_activity_at": at,
                    "snoozed_until": None,
                    "updated_at": at,
                    "updated_by": OWNERS[0],
                }
            )
        teams[-1]["next_number"] = stale + args.fresh + 1
    with db.session_scope() as s:
        s.execute(insert(Team), teams)
        s.execute(insert(Stage), stages)
    for i in range(0, len(deals), 10_000):
        with db.session_scope() as s:
            s.execute(insert(Deal), deals[i : i + 10_000])
    return {"teams": len(teams), "deals": len(deals), "stale": stale_total}


def expected_threads(db: Database, due: datetime, args: argparse.Namespace) -> dict[str, int]:
    """Thread replies the reminder of a small and of a big team carries (built, not sent)."""
    runner = Runner(db, build_client(settings("http://127.0.0.1:9/api/")), clock=lambda: due)
    out = {}
    for label, n in (("small", 1), ("big", args.big_every or 1)):
        team = runner.teams(team_id(n))[0]
        schedule = team.schedule()
        assert schedule is not None
        assert schedule.reminders is not None
        due_run = latest_daily(due, ZoneInfo(team.timezone), schedule.reminders)
        assert due_run is not None, "reminders not due at the chosen time"
        posts = runner.posts_for(Run(team, jobs.REMINDERS, due_run), due)
        assert len(posts) == 1, posts
        out[label] = len(posts[0].thread)
    return out


def settings(api_url: str) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        slack_bot_token=TOKEN,
        slack_signing_secret="unused",
        slack_api_url=api_url,
        _env_file=None,
    )


# --- the tick, in a child process ------------------------------------------------------------


def tick_child(
    url: str, api_url: str, due_iso: str, workers: int, trace: bool, conn: Connection
) -> None:
    """Run one tick and send back what happened (runs in a spawned process)."""
    due = datetime.fromisoformat(due_iso)
    db = Database(url)
    runner = Runner(
        db, build_client(settings(api_url)), clock=lambda: due, max_workers=workers, pacer=Pacer()
    )
    # VmHWM/VmRSS, not ru_maxrss: Linux carries ru_maxrss over fork + exec, so a spawned
    # child would report the parent's peak.
    rss_before = rss_mib(os.getpid())
    if trace:
        tracemalloc.start()
    started_epoch = time.time()
    started = time.perf_counter()
    cpu = time.process_time()
    outcomes = runner.tick()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024 if trace else math.nan
    if trace:
        tracemalloc.stop()
    db.dispose()
    conn.send(
        {
            "elapsed": elapsed,
            "cpu": cpu,
            "started_epoch": started_epoch,
            "outcomes": dict(Counter(o.value for o in outcomes)),
            "rss_before_mib": rss_before,
            "rss_peak_mib": peak_rss_mib(os.getpid()),
            "tracemalloc_peak_mib": peak,
        }
    )
    conn.close()


def run_tick(url: str, api_url: str, due: datetime, workers: int, trace: bool) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=tick_child, args=(url, api_url, due.isoformat(), workers, trace, child)
    )
    process.start()
    child.close()
    try:
        if not parent.poll(CHILD_TIMEOUT_S):
            raise RuntimeError("the tick did not finish in time")
        result: dict[str, Any] = parent.recv()
    finally:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
    return result


def check(
    db: Database, fake: Any, args: argparse.Namespace, threads: dict[str, int]
) -> dict[str, Any]:
    """Compare the ledger and the fake's channels with what should have been posted."""
    # A post's follow-ups (thread replies) have ledger rows of their own: `target/replyN`.
    follow_up = Delivery.target.like("%/%")
    with db.read_scope() as s:
        ledger = dict(
            s.execute(
                select(Delivery.status, func.count())
                .where(Delivery.kind == jobs.REMINDERS, ~follow_up)
                .group_by(Delivery.status)
            ).all()
        )
        follow_ups = dict(
            s.execute(
                select(Delivery.status, func.count())
                .where(Delivery.kind == jobs.REMINDERS, follow_up)
                .group_by(Delivery.status)
            ).all()
        )
        runs = s.execute(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.kind == f"{jobs.REMINDERS}-run")
        ).scalar_one()
        other = s.execute(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.kind.not_in([jobs.REMINDERS, f"{jobs.REMINDERS}-run"]))
        ).scalar_one()
    channels = [channel_id(n) for n in range(1, args.teams + 1)]
    posted = fake.top_level(channels)
    lost_fake = doubled = wrong_thread = 0
    shapes: Counter[str] = Counter()
    for n, channel in enumerate(channels, start=1):
        messages = posted[channel]
        if not messages:
            lost_fake += 1
        if len(messages) > 1:
            doubled += 1
        big = bool(args.big_every) and n % args.big_every == 0
        want = threads["big" if big else "small"]
        for _ts, _key, replies in messages[:1]:
            if replies != want:
                wrong_thread += 1
        shapes[f"{len(messages)} message(s), {messages[0][2] if messages else 0} thread repl."] += 1
    expected = args.teams
    sent = int(ledger.get(Status.SENT.value, 0))
    return {
        "expected": expected,
        "ledger": {str(k): int(v) for k, v in ledger.items()},
        "follow_ups": {str(k): int(v) for k, v in follow_ups.items()},
        "run_marks": runs,
        "other_rows": other,
        "lost_ledger": expected - sent,
        "lost_fake": lost_fake,
        "doubled": doubled,
        "wrong_thread": wrong_thread,
        "shapes": dict(shapes),
    }


def reset(db: Database, fake: Any) -> None:
    with db.session_scope() as s:
        s.execute(delete(Delivery))
    fake.reset()


def run_backend(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """All the ticks on one fresh database."""
    db_info: Throwaway = (
        sqlite_db(OUT / "bench_scheduler.db")
        if name == "sqlite"
        else pg_db(args.pg_url, "bench_sched")
    )
    result: dict[str, Any] = {"backend": name, "ticks": []}
    due = due_time(datetime.now(UTC).date())
    result["due"] = due.isoformat()
    try:
        upgrade(db_info.url)
        db = Database(db_info.url)
        try:
            start = time.perf_counter()
            result["data"] = populate(db, args, due)
            result["populate_s"] = time.perf_counter() - start
            print(f"  populated in {result['populate_s']:.1f} s: {result['data']}", flush=True)
            threads = expected_threads(db, due, args)
            result["threads"] = threads
            channels = [channel_id(n) for n in range(1, args.teams + 1)]
            with FakeProcess(
                rate_limit=True,
                burst=args.burst,
                per_second=1.0,
                fail_every=args.fail_every,
                channels=channels,
            ) as fake:
                api_url = fake.base_url()
                passes = [(w, False) for w in args.workers]
                if args.tracemalloc:
                    passes.append((args.workers[0], True))
                for workers, trace in passes:
                    reset(db, fake)
                    load = load1()
                    tick = run_tick(db_info.url, api_url, due, workers, trace)
                    counts = fake.counts()
                    tick.update(
                        workers=workers,
                        tracemalloc=trace,
                        load=load,
                        calls=counts,
                        checks=check(db, fake, args, threads),
                        violations=len(fake.violations()),
                    )
                    tick["last_post_s"] = last_post(fake, tick["started_epoch"])
                    result["ticks"].append(tick)
                    print_tick(tick)
        finally:
            db.dispose()
    finally:
        db_info.cleanup()
    return result


def last_post(fake: Any, started_epoch: float) -> float:
    """Seconds from the tick's start to the fake's last accepted chat.postMessage."""
    return float(fake.last_call_at("chat.postMessage")) - started_epoch


def print_tick(t: dict[str, Any]) -> None:
    c = t["checks"]
    print(
        f"  workers {t['workers']:>2}{' (tracemalloc)' if t['tracemalloc'] else ''}: "
        f"{t['elapsed']:.1f} s (last post at {t['last_post_s']:.1f} s), cpu {t['cpu']:.1f} s, "
        f"outcomes {t['outcomes']}, rss {t['rss_before_mib']:.0f} -> {t['rss_peak_mib']:.0f} MiB"
        + (f", tracemalloc peak {t['tracemalloc_peak_mib']:.1f} MiB" if t["tracemalloc"] else "")
        + f", load {t['load']:.2f}\n    checks {json.dumps(c)}\n    calls {t['calls']}",
        flush=True,
    )


# --- digest ----------------------------------------------------------------------------------


def digest_backend(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time the three steps of the digest of bench_metrics' 100,000-deal team."""
    from pipeline.digest import collect_digest
    from storage.reports import reports_in
    from views.charts import render_digest_chart
    from views.digest import build_digest

    result: dict[str, Any] = {"backend": name}
    url, cleanup, result["source"] = bench_team_db(name, args.pg_url)
    db = Database(url)
    try:
        with db.read_scope() as s:
            result["deals"] = s.execute(
                select(func.count()).select_from(Deal).where(Deal.team_id == bench_metrics.TEAM)
            ).scalar_one()
        now = datetime.now(UTC)
        result["load"] = load1()
        collect: list[float] = []
        build: list[float] = []
        render: list[float] = []
        sizes: dict[str, int] = {}
        for attempt in range(DIGEST_REPEAT + 1):  # the first is a warm-up
            start = time.perf_counter()
            with db.read_scope() as s:
                data = collect_digest(reports_in(s, bench_metrics.TEAM), now=now)
            t1 = time.perf_counter()
            message = build_digest(data)
            t2 = time.perf_counter()
            png = render_digest_chart(data)
            t3 = time.perf_counter()
            if attempt:
                collect.append(t1 - start)
                build.append(t2 - t1)
                render.append(t3 - t2)
            sizes = {
                "blocks": len(message.blocks),
                "thread": len(message.thread),
                "png_bytes": len(png),
            }
        result.update(
            collect=timing(collect), build=timing(build), render=timing(render), sizes=sizes
        )
        print(
            f"  digest: collect {fmt(result['collect'])}, build {fmt(result['build'])}, "
            f"render {fmt(result['render'])}; {sizes}; load {result['load']:.2f}",
            flush=True,
        )
    finally:
        db.dispose()
        if cleanup is not None:
            cleanup()
    return result


def bench_team_db(name: str, pg_url: str) -> tuple[str, Callable[[], None] | None, str]:
    """A database holding bench_metrics' 100,000-deal team: its URL, how to drop it (None:
    kept) and where it came from. SQLite reuses bench/out/bench_metrics.db when it holds the
    team; otherwise the team is generated and loaded into a throwaway database."""
    path = OUT / "bench_metrics.db"
    if name == "sqlite" and path.exists() and holds_bench_team(f"sqlite:///{path}"):
        return f"sqlite:///{path}", None, "bench/out/bench_metrics.db, as bench_metrics.py left it"
    throwaway = (
        sqlite_db(OUT / "bench_digest.db") if name == "sqlite" else pg_db(pg_url, "bench_digest")
    )
    build_metrics_db(throwaway.url)
    return (
        throwaway.url,
        throwaway.cleanup,
        "generated and loaded with bench_metrics.generate / load",
    )


def holds_bench_team(url: str) -> bool:
    db = Database(url)
    try:
        with db.read_scope() as s:
            n = s.execute(
                select(func.count()).select_from(Deal).where(Deal.team_id == bench_metrics.TEAM)
            ).scalar_one()
        return int(n) == 100_000
    except Exception:
        return False
    finally:
        db.dispose()


def build_metrics_db(url: str) -> None:
    """bench_metrics' team, generated and bulk-loaded (default sizes)."""
    from pipeline.service import TeamDefaults
    from storage.services import service_in

    upgrade(url)
    db = Database(url)
    try:
        with db.session_scope() as s:
            service = service_in(
                s,
                bench_metrics.TEAM,
                defaults=TeamDefaults(
                    timezone=bench_metrics.TIMEZONE, currency=bench_metrics.CURRENCY
                ),
            )
            keys = [stage.key for stage in service.stages()]
            service.set_rate(bench_metrics.RATED[0], bench_metrics.RATED[1])
        now = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
        start = time.perf_counter()
        data = bench_metrics.generate(20261127, 100_000, 1_000_000, 300_000, keys, now)
        bench_metrics.load(db, data)
        bench_metrics.analyze(db)
        print(f"  built the 100,000-deal team in {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        db.dispose()


def timing(runs: Sequence[float]) -> dict[str, Any]:
    return {"best": min(runs), "median": statistics.median(runs), "runs": list(runs)}


def fmt(t: dict[str, Any]) -> str:
    return f"{_s(t['best'])} / {_s(t['median'])}"


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- the report ------------------------------------------------------------------------------


def tick_section(results: Sequence[dict[str, Any]], info: dict[str, str], command: str) -> str:
    first = results[0]
    d = first["data"]
    populated = ", ".join(f"{NAMES[r['backend']]} {r['populate_s']:.1f} s" for r in results)
    lines = [
        f"## {TICK_TITLE}",
        "",
        f"Measured {max(r['info']['date'] for r in results)} by `bench/bench_scheduler.py`:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {info['nproc']} vCPU ({info['cpu']}), {info['ram']} RAM, {info['os']}; "
        f"Python {info['python']}, SQLAlchemy {info['sqlalchemy']}, SQLite {info['sqlite']}, "
        "PostgreSQL local on the same machine.",
        "",
        f"Data: {d['teams']:,} teams (UTC, default schedule: reminders `09:00 mon-fri` in the "
        f"team's own channel, digest `mon 09:00`), {d['deals']:,} open deals of which "
        f"{d['stale']:,} stale: {first['args']['deals']} per team, {first['args']['big_deals']} "
        f"in every {first['args']['big_every']}th team (its reminder has "
        f"{first['threads']['big']} thread reply, paced 1 s after the main post); bulk-inserted "
        f"in {populated}. "
        "One `Runner.tick()` at Thursday 09:00:30 UTC (every team's reminder due, no digest "
        "due), with the real `Pacer` (1 post/s per channel) and the bot's `WebClient` "
        "(`RateLimitErrorRetryHandler`: sleeps Retry-After plus up to 1 s, retries up to 3 "
        "times), in a child process of its own; the fake Slack in another process enforces "
        f"1 message/s per channel (token bucket, burst {first['args']['burst']}, on its real "
        f"clock) and answers HTTP 429 + `Retry-After: 1` to the first attempt of 1 post in "
        f"{first['args']['fail_every']} (a hash of the post chooses; nothing posted). Ledger "
        "and fake emptied between rows. The tracemalloc rows only give the peak of Python "
        "allocations: tracing makes the tick 2–3× slower.",
        "",
        "| backend | max_workers | time until all posted (tick returned) | last post at | "
        "tick CPU | posts lost (ledger / fake) | posts doubled | thread replies wrong | 429s "
        "(injected + rate limit) | outcomes | RSS of the tick's process (before the tick → peak) | "
        "tracemalloc peak | load |",
        "|---|---:|---:|---:|---:|:-:|:-:|:-:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        for t in r["ticks"]:
            c = t["checks"]
            calls = t["calls"]
            total_429 = calls.get("chat.postMessage HTTP 429", 0)
            injected = calls.get("injected_429", 0)
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(t["outcomes"].items()))
            lines.append(
                f"| {NAMES[r['backend']]} | {t['workers']}"
                f"{' (tracemalloc on)' if t['tracemalloc'] else ''} | {t['elapsed']:.1f} s | "
                f"{t['last_post_s']:.1f} s | {t['cpu']:.1f} s | "
                f"{c['lost_ledger']} / {c['lost_fake']} | {c['doubled']} | {c['wrong_thread']} | "
                f"{total_429} ({injected} + {total_429 - injected}) | {outcomes} | "
                f"{t['rss_before_mib']:.0f} → {t['rss_peak_mib']:.0f} MiB | "
                + (f"{t['tracemalloc_peak_mib']:.1f} MiB" if t["tracemalloc"] else "—")
                + f" | {t['load']:.2f} |"
            )
    lines.append("")
    return "\n".join(lines)


def digest_section(results: Sequence[dict[str, Any]], info: dict[str, str], command: str) -> str:
    lines = [
        f"## {DIGEST_TITLE}",
        "",
        f"Measured {max(r['info']['date'] for r in results)} by `bench/bench_scheduler.py`:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: as above. Data: bench_metrics' team of {results[0]['deals']:,} deals "
        "(1,000,000 stage_changes, 300,000 activities; see the metrics section). "
        f"One warm-up, then {DIGEST_REPEAT} runs; best / median. `collect_digest` runs "
        "`metrics.compute()` twice (as_of now and as_of 7 days back, the history path) plus "
        "the week's movement queries, in one read transaction.",
        "",
        "| step | " + " | ".join(NAMES[r["backend"]] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for key, label in (
        ("collect", "`collect_digest` (database)"),
        ("build", "`build_digest` (Block Kit)"),
        ("render", "`render_digest_chart` (matplotlib PNG)"),
    ):
        lines.append(f"| {label} | " + " | ".join(fmt(r[key]) for r in results) + " |")
    lines.append(
        "| total (medians) | "
        + " | ".join(
            _s(r["collect"]["median"] + r["build"]["median"] + r["render"]["median"])
            for r in results
        )
        + " |"
    )
    lines += [
        "",
        "Sources: "
        + "; ".join(f"{NAMES[r['backend']]}: {r['source']}" for r in results)
        + ". Message: "
        + ", ".join(
            f"{NAMES[r['backend']]} {r['sizes']['blocks']} blocks + {r['sizes']['thread']} "
            f"thread replies, PNG {r['sizes']['png_bytes'] / 1024:.0f} KiB"
            for r in results
        )
        + ". 1-minute load average at the start: "
        + ", ".join(f"{NAMES[r['backend']]} {r['load']:.2f}" for r in results)
        + ".",
        "",
    ]
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--workers", default="16,32", help="comma-separated max_workers")
    parser.add_argument("--deals", type=int, default=5, help="stale deals per team")
    parser.add_argument("--fresh", type=int, default=3, help="deals per team that are not stale")
    parser.add_argument("--big-every", type=int, default=10, help="0: no big teams")
    parser.add_argument("--big-deals", type=int, default=30, help="stale deals of a big team")
    parser.add_argument("--fail-every", type=int, default=10, help="429 on 1 post in N; 0: none")
    parser.add_argument("--burst", type=int, default=1, help="fake's token bucket size")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    parser.add_argument("--no-digest", dest="digest", action="store_false")
    parser.add_argument("--digest-only", action="store_true")
    parser.add_argument("--pg-url", default=PG_BASE)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in backends:
        if not args.digest_only:
            print(f"\n=== ticks, {name}", flush=True)
            tick = run_backend(name, args)
            tick["args"] = {
                k: getattr(args, k)
                for k in ("deals", "big_every", "big_deals", "fail_every", "burst")
            }
            if args.no_doc:  # an experiment: kept aside, the doc's figures stay
                label = " ".join(argv if argv is not None else sys.argv[1:])
                saved.setdefault("extra", {})[f"{name}: {label}"] = {**tick, "info": info}
            else:
                saved.setdefault("ticks", {})[name] = {**tick, "info": info}
        if args.digest or args.digest_only:
            print(f"\n=== digest, {name}", flush=True)
            digest = {**digest_backend(name, args), "info": info}
            if not args.no_doc:
                saved.setdefault("digest", {})[name] = digest
        RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    if args.no_doc:
        return 0
    for key, title, render in (
        ("ticks", TICK_TITLE, tick_section),
        ("digest", DIGEST_TITLE, digest_section),
    ):
        stored = saved.get(key, {})
        merged = [stored[b] for b in ("sqlite", "postgresql") if b in stored]
        if not merged:
            continue
        command = ".venv/bin/python bench/bench_scheduler.py --backend " + (
            "both" if len(merged) == 2 else merged[0]["backend"]
        )
        update_doc(title, render(merged, info, command))
    print("\nupdated docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
