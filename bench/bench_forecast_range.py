"""Benchmark the forecast range: the simulation alone, and the digest of a 100,000-deal team.

Run by hand (it is not part of the test suite):

    .venv/bin/python bench/bench_forecast_range.py [--backend sqlite|postgresql|both]
        [--sizes 1000,10000,20000,50000,100000] [--no-doc]

Simulation: `simulate()` (10,000 runs) on synthetic deals, amounts and probabilities drawn
once per size; one warm-up then 5 runs, best / median.

Digest: on bench_metrics' 100,000-deal team (bench/out/bench_metrics.db when it holds the
team, else generated again; a new PostgreSQL schema, generated and dropped), one warm-up then
3 runs of: `collect_digest` (which now includes both ranges), and apart from it the range's
own query (`open_amounts`) and `forecast_ranges` (the query and the month's and quarter's
simulations), then `build_digest` and `render_digest_chart`.

Writes the section "Forecast range: the simulation's cost" of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import bench_metrics
from bench_metrics import machine, update_doc
from bench_scheduler import bench_team_db
from benchlib import OUT, PG_BASE, load1

from pipeline.digest import collect_digest
from pipeline.forecast import forecast
from pipeline.forecast_range import RUNS, forecast_ranges, simulate
from pipeline.metrics import compute
from storage.db import Database
from storage.reports import reports_in
from views.charts import render_digest_chart
from views.digest import build_digest

TITLE = "Forecast range: the simulation's cost"
RESULTS = OUT / "bench_forecast_range_results.json"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, Any], Any]:
    """One warm-up, then `repeat` runs: best, median and every run (seconds)."""
    value = fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        runs.append(time.perf_counter() - start)
    return {"best": min(runs), "median": statistics.median(runs), "runs": runs}, value


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def pair(t: dict[str, Any]) -> str:
    return f"{ms(t['best'])} / {ms(t['median'])}"


def simulation(sizes: Sequence[int]) -> list[dict[str, Any]]:
    """`simulate()` alone on synthetic pipelines of each size."""
    rows = []
    for n in sizes:
        rng = random.Random(n)
        cents = [rng.randint(100_000, 20_000_000) for _ in range(n)]
        chances = [rng.choice((10, 25, 40, 60, 80)) / 100 for _ in range(n)]
        load = load1()
        t, _ = timed(lambda c=cents, p=chances: simulate(c, p, seed=20261201), 5)
        rows.append({"deals": n, "time": t, "load": load})
        print(f"  simulate {n:>7,} deals: {pair(t)} (load {load:.2f})", flush=True)
    return rows


def digest(name: str, pg_url: str) -> dict[str, Any]:
    """The digest of bench_metrics' team, with the range's parts timed apart."""
    result: dict[str, Any] = {"backend": name}
    url, cleanup, result["source"] = bench_team_db(name, pg_url)
    db = Database(url)
    now = datetime.now(UTC)
    try:
        with db.read_scope() as s:
            source = reports_in(s, bench_metrics.TEAM)
            metrics = compute(source, as_of=now)
            fc = forecast(source, as_of=now, metrics=metrics)
            result["load"] = load1()
            result["query"], rows = timed(lambda: source.open_amounts(fc.quarter.end), 3)
            result["ranges"], ranges = timed(lambda: forecast_ranges(source, fc, metrics), 3)
        result["open_in_quarter"] = len(rows)
        result["simulated"] = {"month": ranges.month.deals, "quarter": ranges.quarter.deals}

        def collect() -> Any:
            with db.read_scope() as s:
                return collect_digest(reports_in(s, bench_metrics.TEAM), now=now)

        result["collect"], data = timed(collect, 3)
        result["build"], _ = timed(lambda: build_digest(data), 3)
        result["chart"], _ = timed(lambda: render_digest_chart(data), 3)
        q = data.ranges.quarter if data.ranges else None
        result["quarter"] = (
            None
            if q is None
            else {
                "period": q.period,
                "p10": str(q.p10),
                "p50": str(q.p50),
                "p90": str(q.p90),
                "mean": str(q.mean),
                "expected": str(q.expected),
            }
        )
        print(
            f"  {name}: open_amounts {pair(result['query'])}, forecast_ranges "
            f"{pair(result['ranges'])}, collect_digest {pair(result['collect'])}, build "
            f"{pair(result['build'])}, chart {pair(result['chart'])}; "
            f"{result['simulated']}; load {result['load']:.2f}",
            flush=True,
        )
    finally:
        db.dispose()
        if cleanup is not None:
            cleanup()
    return result


def section(saved: dict[str, Any], info: dict[str, str]) -> str:
    sims = saved.get("simulation", [])
    digests = [saved["digest"][b] for b in ("sqlite", "postgresql") if b in saved.get("digest", {})]
    lines = [
        f"## {TITLE}",
        "",
        f"Measured {saved['at']} by `bench/bench_forecast_range.py`:",
        "",
        "```",
        ".venv/bin/python bench/bench_forecast_range.py --backend "
        + ("both" if len(digests) == 2 else digests[0]["backend"] if digests else "sqlite"),
        "```",
        "",
        f"Machine: {info.get('cpu', '?')}, {info.get('ram', '?')}; shared with other sessions "
        "(the 1-minute load average is given with each figure; 2 cores).",
        "",
        f"`simulate()` alone, {RUNS:,} runs, synthetic deals (one warm-up, 5 runs):",
        "",
        "| open deals in the period | best / median | load |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {r['deals']:,} | {pair(r['time'])} | {r['load']:.2f} |" for r in sims]
    if digests:
        head = " | ".join(NAMES[d["backend"]] for d in digests)
        lines += [
            "",
            "The weekly digest of bench_metrics' 100,000-deal team, with both ranges (one "
            "warm-up, 3 runs; best / median):",
            "",
            f"| step | {head} |",
            "|---|" + "---:|" * len(digests),
        ]
        rows = [
            (
                "open deals with a close date up to the quarter's end",
                lambda d: f"{d['open_in_quarter']:,}",
            ),
            (
                "deals simulated: month / quarter",
                lambda d: f"{d['simulated']['month']:,} / {d['simulated']['quarter']:,}",
            ),
            ("`open_amounts` (the range's query)", lambda d: pair(d["query"])),
            ("`forecast_ranges` (query + both simulations)", lambda d: pair(d["ranges"])),
            ("`collect_digest` (everything, ranges included)", lambda d: pair(d["collect"])),
            ("`build_digest` (Block Kit)", lambda d: pair(d["build"])),
            ("`render_digest_chart`", lambda d: pair(d["chart"])),
            ("1-minute load average at the start", lambda d: f"{d['load']:.2f}"),
        ]
        for label, cell in rows:
            lines.append(f"| {label} | " + " | ".join(cell(d) for d in digests) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,20000,50000,100000")
    parser.add_argument("--pg-url", default=PG_BASE)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved["at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("=== simulate()", flush=True)
    saved["simulation"] = simulation([int(n) for n in args.sizes.split(",")])
    for name in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        print(f"=== digest, {name}", flush=True)
        saved.setdefault("digest", {})[name] = digest(name, args.pg_url)
        RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    if not args.no_doc:
        update_doc(TITLE, section(saved, info))
        print("updated docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
