"""Issue 12's targets, end to end through `pipebot`, on a 100,000-deal team: one command.

    .venv/bin/python bench/bench_scale.py [--backend sqlite|postgresql|both] [--code DIR]
        [--label NAME] [--repeat 3] [--no-1m] [--no-rss]

It generates (once, cached in bench/out/) two `pipebot/1` files of one team of 100,000 deals
in three currencies: the issue's team (317,534 stage changes, 142,492 activities) and the
1,000,000-history variant of `bench_metrics.py` (300,000 activities). For each backend it makes
a fresh database, imports each file with `pipebot import` (timed: the import target) plus a
one-deal team, and times, each as a new process, median of --repeat:

* `pipebot --help`; `pipebot stats --json` on the one-deal team (the small-team target);
* `pipebot stats --json` of the big team as of now and as of 30 days before the data's last
  event, minus the same command on the one-deal team run just before it (start-up cancels
  out; the median of these differences);
* the weekly digest of the big team (collect, Block Kit, chart), in one process, after a
  warm-up; `pipebot export` (time and peak RSS);
* `pipebot run --http --no-scheduler` against the fake Slack: resident memory idle, and the
  peak while it builds and posts `/deal digest send` for the big team.

Beside each target it measures the floor under it (`bench_floor.py`): the stack's own start-up,
`import numpy` and the forecast range's simulation, and on SQLite the window's stage exits
fetched with the bare `sqlite3` module; a second table prints them. Every timed process runs
pipebot's modules from compiled bytecode, as an installed package does.

`--code DIR` runs another checkout's code (e.g. `git archive main | tar -x -C DIR`) with the
same data and the same measurement: every timed process gets DIR as its working directory and
PYTHONPATH. PostgreSQL is VACUUM ANALYZEd after the imports, as autovacuum would. The results
go to bench/out/bench_scale_<label>.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PYTHON = sys.executable
ONE = "TONEDEAL1"
PAST = timedelta(days=30)
DATASETS = {
    # name: (deals, stage changes, activities)
    "100k": (100_000, 317_534, 142_492),
    "1m": (100_000, 1_000_000, 300_000),
}
TARGETS = {
    "help": 0.250,
    "small_stats": 0.500,
    "stats_now": 0.300,
    "stats_past": 1.000,
    "stats_now_1m": 0.300,
    "stats_past_1m": 1.000,
    "digest": 1.5,
    "import": 20.0,
    "rss_idle": 150.0,
    "rss_digest": 300.0,
}


# --- data -------------------------------------------------------------------------------------


def _document(name: str, fraction: int) -> tuple[Path, Path, datetime]:
    """The big team's file and the one-deal team's file of a data set, generated once."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"scale_{name}" + (f"_div{fraction}" if fraction > 1 else "")
    big, one, meta = (OUT / f"{stem}{s}" for s in (".json", "_one.json", "_meta.json"))
    if big.exists() and one.exists() and meta.exists():
        return big, one, datetime.fromisoformat(json.loads(meta.read_text())["now"])
    from bench_metrics import generate

    from pipeline.stages import DEFAULT_STAGES
    from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID, DEFAULT_USER

    deals, history, activities = (n // fraction for n in DATASETS[name])
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    data = generate(
        12, deals, history, activities, [s.key for s in DEFAULT_STAGES], now.timestamp()
    )
    exports = _exports(data)
    team = _team(DEFAULT_TEAM_ID, data.counts["deals"] + 1, DEFAULT_USER, DEFAULT_CHANNEL)
    _write(big, team, exports)
    as_of = now - PAST
    # The one-deal team: a deal touched after the past moment, so both paths run there too.
    pick = max(
        (e for e in exports if e.deal["created_at"] < as_of),
        key=lambda e: e.deal["last_activity_at"],
    )
    _write(one, _team(ONE, pick.deal["number"] + 1, DEFAULT_USER, None), [pick])
    meta.write_text(json.dumps({"now": now.isoformat(), "counts": data.counts}))
    print(f"generated {name} in {time.perf_counter() - started:.0f} s: {data.counts}", flush=True)
    return big, one, now


def _exports(data: Any) -> list[Any]:
    from pipeline.transfer.plan import (
        ActivityRecord,
        CloseDateChangeRecord,
        DealExport,
        StageChangeRecord,
    )

    def ts(value: float) -> datetime:
        return datetime.fromtimestamp(round(value, 6), UTC)

    history: dict[int, list[Any]] = defaultdict(list)
    for at, number, _frm, to, by, _entered in data.stage_changes:
        history[number].append(StageChangeRecord(to, ts(at), by))
    acts: dict[int, list[Any]] = defaultdict(list)
    for at, number, kind, body, by in data.activities:
        acts[number].append(ActivityRecord(kind, body, ts(at), by, None))
    changes: dict[int, list[Any]] = defaultdict(list)
    for at, number, old, new, by in data.close_date_changes:
        changes[number].append(CloseDateChangeRecord(old, new, ts(at), by))
    return [
        DealExport(d, history[d["number"]], acts[d["number"]], changes[d["number"]])
        for d in data.deals
    ]


def _team(team_id: str, next_number: int, admin: str, channel: str | None) -> Any:
    from bench_metrics import CURRENCY, RATED, TIMEZONE

    from pipeline.stages import DEFAULT_STAGES
    from pipeline.transfer.plan import StageRecord, TeamRecord

    return TeamRecord(
        id=team_id,
        timezone=TIMEZONE,
        currency=CURRENCY,
        rates={RATED[0]: RATED[1]},
        stages=[StageRecord(s.key, s.name, s.probability, s.stale_days) for s in DEFAULT_STAGES],
        admins=[admin],
        channel_id=channel,
        next_number=next_number,
        reminders="09:00 mon-fri",
        reminder_mode="channel",
        digest="mon 09:00",
    )


def _write(path: Path, team: Any, exports: Sequence[Any]) -> None:
    from pipeline.transfer.json_export import team_document

    path.write_text(json.dumps(team_document(team, exports), ensure_ascii=False))


# --- processes --------------------------------------------------------------------------------


@dataclass
class Ran:
    """One finished process: wall time, output, peak resident memory."""

    seconds: float
    out: str
    peak_mib: float


def _env(code: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(code)
    env.update(extra or {})
    return env


GNU_TIME = Path("/usr/bin/time")


def run(code: Path, args: Sequence[str], env: dict[str, str] | None = None) -> Ran:
    """`python -m cli ARGS` (or `python ARGS` for a script path) in `code`; fails loudly.

    The peak memory comes from GNU time when it is there: Linux carries a forking parent's
    high-water mark into the child's own figure, and this process holds the generated data.
    """
    import tempfile

    argv = [PYTHON, *args] if args[0].endswith(".py") else [PYTHON, "-m", "cli", *args]
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / name for name in ("out", "err", "rss")]
        if GNU_TIME.exists():
            argv = [str(GNU_TIME), "-f", "%M", "-o", str(paths[2]), *argv]
        with paths[0].open("wb") as out, paths[1].open("wb") as err:
            started = time.perf_counter()
            process = subprocess.run(argv, cwd=code, env=env or _env(code), stdout=out, stderr=err)
            seconds = time.perf_counter() - started
        text, errors = (p.read_text() for p in paths[:2])
        peak = int(paths[2].read_text().split()[-1]) / 1024 if GNU_TIME.exists() else math.nan
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}): {errors[-2000:]}")
    return Ran(seconds, text, peak)


def compile_bytecode(code: Path) -> None:
    """Compile the code's packages to bytecode first, as installing it with pip does.

    Otherwise, where PYTHONDONTWRITEBYTECODE is set (as on this workplace's machines), every
    timed process would compile pipebot's own modules from source again (~50 ms).
    """
    packages = [str(p.parent) for p in sorted(code.glob("*/__init__.py"))]
    command = [PYTHON, "-m", "compileall", "-q", *packages]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def median_of(repeat: int, fn: Callable[[], float]) -> float:
    """Median of `repeat` calls of `fn` (each returns seconds)."""
    return statistics.median(fn() for _ in range(repeat))


# --- databases --------------------------------------------------------------------------------


@dataclass
class Db:
    """A fresh database for one data set and how to drop it."""

    url: str
    drop: Callable[[], None]


def fresh_db(backend: str, name: str, base: str) -> Db:
    """A new SQLite file under bench/out/, or a new PostgreSQL schema."""
    from benchlib import pg_db, sqlite_db

    made = (
        sqlite_db(OUT / f"bench_scale_{name}.db")
        if backend == "sqlite"
        else pg_db(base, f"bench_scale_{name}")
    )
    return Db(made.url, made.cleanup)


def vacuum_analyze(url: str) -> None:
    """PostgreSQL only: the planner statistics autovacuum would leave after the import."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


# --- measurements -----------------------------------------------------------------------------


def stats_times(code: Path, url: str, team: str, past: datetime, repeat: int) -> dict[str, Any]:
    """`stats --json` of `team` and of the one-deal team, now and as of `past`, run in turns.

    Each round runs the four commands one after the other, so that a big team's run and the
    small team's run it is compared with see the machine in the same state; the figures are
    the medians over the rounds of each time and of each round's difference.
    """
    db = ["--database-url", url]
    as_of = ["--as-of", past.isoformat()]
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        for moment, extra in (("now", []), ("past", as_of)):
            small = run(code, ["stats", "--team", ONE, "--json", *extra, *db]).seconds
            big = run(code, ["stats", "--team", team, "--json", *extra, *db]).seconds
            times["small_" + moment].append(small)
            times[moment].append(big)
            times["delta_" + moment].append(big - small)
    out: dict[str, Any] = {key: statistics.median(values) for key, values in times.items()}
    out["past_result"] = json.loads(run(code, ["stats", "--team", team, "--json", *as_of, *db]).out)
    return out


def digest_child(url: str, team: str, repeat: int) -> None:
    """In a child process: time collect / build / chart of the team's digest, print JSON."""
    from pipeline.digest import collect_digest
    from storage.db import Database
    from storage.reports import reports_in
    from views.charts import render_digest_chart
    from views.digest import build_digest

    # As `pipebot run` does once it has loaded its modules (cli/run.py).
    gc.collect()
    gc.freeze()
    db = Database(url)
    parts: dict[str, list[float]] = {"collect": [], "blocks": [], "chart": []}
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        with db.read_scope() as session:
            data = collect_digest(reports_in(session, team), now=datetime.now(UTC))
        t1 = time.perf_counter()
        build_digest(data)
        t2 = time.perf_counter()
        render_digest_chart(data)
        t3 = time.perf_counter()
        if i:  # the first is the warm-up
            for key, took in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                parts[key].append(took)
    db.dispose()
    print(json.dumps({k: statistics.median(v) for k, v in parts.items()}))


def rss_of(pid: int, field: str) -> float:
    """VmRSS / VmHWM of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_rss(code: Path, url: str) -> dict[str, float]:
    """`pipebot run` against the fake Slack: RSS idle, then the peak while posting the digest."""
    from bench_ack import command_body, start_server
    from benchlib import SECRET, TOKEN, FakeProcess

    from sandbox.payloads.signing import FORM, sign
    from sandbox.slack_api import DEFAULT_USER

    with FakeProcess(rate_limit=False) as fake:
        env = {
            "PYTHONPATH": str(code),
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url(),
        }
        argv = ["-m", "cli", "run", "--http", "--no-scheduler", "--host", "127.0.0.1"]
        server = start_server(argv, env, OUT / "bench_scale_run.log", cwd=code)
        pid = server.process.pid
        try:
            time.sleep(3)
            idle = rss_of(pid, "VmRSS")
            trigger, response_url = fake.issue(1, DEFAULT_USER)[0]
            body = command_body("digest send", trigger, response_url)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            started = time.perf_counter()
            headers = sign(body, SECRET, int(time.time()), content_type=FORM)
            conn.request("POST", "/slack/events", body, headers)
            conn.getresponse().read()
            deadline = time.monotonic() + 300
            while fake.progress()[2] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            took = time.perf_counter() - started
            posted, replies, _ = fake.progress()
            peak, after = rss_of(pid, "VmHWM"), rss_of(pid, "VmRSS")
        finally:
            server.stop()
    return {
        "idle": idle,
        "peak": peak,
        "after": after,
        "seconds": took,
        "posted": posted,
        "replies": replies,
    }


def backend_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement on one backend."""
    code, repeat = args.code, args.repeat
    res: dict[str, Any] = {"backend": backend}
    res["help"] = median_of(repeat, lambda: run(code, ["--help"]).seconds)
    for name in ["100k"] + ([] if args.no_1m else ["1m"]):
        big, one, now = _document(name, args.fraction)
        db = fresh_db(backend, name, args.pg_url)
        suffix = "" if name == "100k" else "_1m"
        try:
            dbarg = ["--database-url", db.url]
            run(code, ["db", "upgrade", *dbarg])
            from sandbox.slack_api import DEFAULT_TEAM_ID

            imported = run(code, ["import", str(big), "--team", DEFAULT_TEAM_ID, *dbarg])
            res["import" + suffix] = imported.seconds
            res["import_peak_mib" + suffix] = imported.peak_mib
            print(
                f"  {backend} {name}: {imported.out.strip()} in {imported.seconds:.1f} s",
                flush=True,
            )
            run(code, ["import", str(one), "--team", ONE, *dbarg])
            vacuum_analyze(db.url)
            past = now - PAST
            large = stats_times(code, db.url, DEFAULT_TEAM_ID, past, repeat)
            res["small_stats" + suffix] = large["small_now"]
            res["stats_now" + suffix] = large["delta_now"]
            res["stats_past" + suffix] = large["delta_past"]
            res["stats_now_raw" + suffix] = large["now"]
            res["stats_past_raw" + suffix] = large["past"]
            res["past_result" + suffix] = large["past_result"]
            print(f"  {backend} {name}: stats {_fmt(res, suffix)}", flush=True)
            from bench_floor import floors

            res["floors" + suffix] = floors(db.url, DEFAULT_TEAM_ID, repeat)
            print(f"  {backend} {name}: floors {res['floors' + suffix]}", flush=True)
            if name == "100k":
                measure_big_only(code, db.url, DEFAULT_TEAM_ID, res, args)
        finally:
            db.drop()
    return res


def measure_big_only(
    code: Path, url: str, team: str, res: dict[str, Any], args: argparse.Namespace
) -> None:
    """Digest, export and `pipebot run` memory, on the 100,000-deal team."""
    child = run(
        code, [str(Path(__file__).resolve()), "--digest-child", url, team, str(args.repeat)]
    )
    parts = json.loads(child.out.strip().splitlines()[-1])
    res["digest_parts"] = parts
    res["digest"] = sum(parts.values())
    res["digest_peak_mib"] = child.peak_mib
    target = OUT / "bench_scale_export.json"
    exported = run(code, ["export", "--team", team, "-o", str(target), "--database-url", url])
    res["export"] = exported.seconds
    res["export_peak_mib"] = exported.peak_mib
    target.unlink(missing_ok=True)
    print(f"  digest {parts}, export {exported.seconds:.1f} s", flush=True)
    if not args.no_rss:
        rss = run_rss(code, url)
        res["rss_idle"], res["rss_digest"], res["rss"] = rss["idle"], rss["peak"], rss
        print(f"  pipebot run: {rss}", flush=True)


def _fmt(res: dict[str, Any], suffix: str) -> str:
    keys = ("small_stats", "stats_now", "stats_past")
    return ", ".join(f"{k} {res.get(k + suffix, float('nan')) * 1000:.0f} ms" for k in keys)


# --- report -----------------------------------------------------------------------------------

ROWS = (
    ("import", "import of 100,000 deals (`pipebot import`, JSON)", "s"),
    ("import_1m", "import of the 1,000,000-history variant", "s"),
    ("stats_now", "`stats` as of now (minus one-deal team)", "ms"),
    ("stats_past", "`stats` as of 30 days back (minus one-deal team)", "ms"),
    ("stats_now_1m", "`stats` as of now, 1,000,000 history rows", "ms"),
    ("stats_past_1m", "`stats` 30 days back, 1,000,000 history rows", "ms"),
    ("digest", "weekly digest: collect + blocks + chart", "ms"),
    ("help", "`pipebot --help`", "ms"),
    ("small_stats", "`pipebot stats` on the one-deal team, in all", "ms"),
    ("export", "`pipebot export` JSON of 100,000 deals", "s"),
    ("export_peak_mib", "`pipebot export`: peak RSS", "MiB"),
    ("rss_idle", "`pipebot run` RSS idle", "MiB"),
    ("rss_digest", "`pipebot run` peak RSS, `/deal digest send` of that team", "MiB"),
)


def _cell(value: float | None, unit: str, target: float | None) -> str:
    if value is None:
        return "—"
    shown = {"s": f"{value:.1f} s", "ms": f"{value * 1000:,.0f} ms", "MiB": f"{value:.0f} MiB"}[
        unit
    ]
    if target is None:
        return shown
    return shown + ("" if value <= target else " (**missed**)")


FLOORS = (
    ("", "stack", "the stack's start-up (SQLAlchemy + ORM + pydantic + driver + `SELECT 1`)"),
    ("", "numpy", "`import numpy` (the forecast range's)"),
    ("", "simulation", "the range's simulation of the quarter (10,000 runs)"),
    ("", "sql", "the SQL of one `stats` of that team through the bare driver"),
    ("_1m", "sql", "the same with 1,000,000 history rows"),
    ("", "exits_to_python", "the 90-day stage exits to Python and their medians (bare sqlite3)"),
    ("_1m", "exits_to_python", "the same with 1,000,000 history rows"),
)


def _header(results: Sequence[dict[str, Any]], *first: str) -> list[str]:
    """A markdown table's two header lines: the `first` columns, then one a backend."""
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    columns = [*first, *(names[r["backend"]] for r in results)]
    return ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]


def floor_table(results: Sequence[dict[str, Any]]) -> str:
    """The markdown table of the floors (bench_floor.py), one column per backend."""
    lines = _header(results, "floor")
    for suffix, key, label in FLOORS:
        cells = [r.get("floors" + suffix, {}).get(key) for r in results]
        shown = ["—" if c is None else f"{c * 1000:,.0f} ms" for c in cells]
        lines.append(f"| {label} | " + " | ".join(shown) + " |")
    for label, above in ABOVE:
        shown = []
        for r in results:
            value = above(r)
            shown.append("—" if value is None or math.isnan(value) else f"{value * 1000:,.0f} ms")
        lines.append(f"| {label} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def _above(target: str, suffix: str, *floors: str) -> Callable[[dict[str, Any]], float | None]:
    def left(r: dict[str, Any]) -> float | None:
        found = r.get("floors" + suffix, {})
        if target + suffix not in r or any(f not in found for f in floors):
            return None
        return float(r[target + suffix] - sum(found[f] for f in floors))

    return left


# What each missed target spends above the floors under it: the part that is pipebot's own.
ABOVE = (
    ("one-deal team's `stats` minus the stack's start-up", _above("small_stats", "", "stack")),
    (
        "`stats` as of now minus numpy, the simulation and the bare SQL",
        _above("stats_now", "", "numpy", "simulation", "sql"),
    ),
    (
        "the same, 1,000,000 history rows",
        _above("stats_now", "_1m", "numpy", "simulation", "sql"),
    ),
)


def table(results: Sequence[dict[str, Any]]) -> str:
    """The markdown table of every target, one column per backend."""
    lines = _header(results, "", "target")
    for key, label, unit in ROWS:
        target = TARGETS.get(key)
        shown = "—" if target is None else "≤ " + _cell(target, unit, None)
        cells = [_cell(r.get(key), unit, target) for r in results]
        lines.append(f"| {label} | {shown} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, measure each backend, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code runs")
    parser.add_argument("--label", default="after")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-1m", action="store_true", help="skip the 1,000,000-history set")
    parser.add_argument("--no-rss", action="store_true", help="skip `pipebot run` memory")
    parser.add_argument("--pg-url", default=os.environ.get("PIPEBOT_TEST_DATABASE_URL", PG_BASE))
    parser.add_argument("--fraction", type=int, default=1, help="1/N of the data (smoke test)")
    parser.add_argument("--digest-child", nargs=3, metavar=("URL", "TEAM", "REPEAT"))
    args = parser.parse_args(argv)
    if args.digest_child:
        url, team, repeat = args.digest_child
        digest_child(url, team, int(repeat))
        return 0
    args.code = args.code.resolve()
    compile_bytecode(args.code)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = datetime.now(UTC)
    load = os.getloadavg()
    results = []
    for backend in backends:
        results.append(backend_run(backend, args))
    info = {
        "label": args.label,
        "code": str(args.code),
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "load_at_start": load,
        "load_at_end": os.getloadavg(),
    }
    report = table(results) + "\n\n" + floor_table(results)
    print(json.dumps(info))
    print(report)
    pasts = [json.dumps(r.get("past_result"), sort_keys=True) for r in results]
    print("past results equal across backends:", len(set(pasts)) == 1)
    earlier = OUT / "bench_scale_before.json"
    if args.label != "before" and earlier.exists():
        # Same data, same moment: the code before the change must have said exactly the same.
        before = {r["backend"]: r for r in json.loads(earlier.read_text())["results"]}
        for r in results:
            then = before.get(r["backend"], {})
            for key in ("past_result", "past_result_1m"):
                if key in r and key in then:
                    print(f"{r['backend']} {key} equal to the before run:", r[key] == then[key])
    (OUT / f"bench_scale_{args.label}.json").write_text(
        json.dumps({"info": info, "results": results, "table": report}, indent=1, default=str)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
