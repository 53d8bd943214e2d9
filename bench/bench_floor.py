"""The floors under issue 12's targets: what the chosen stack costs before pipebot does anything.

    .venv/bin/python bench/bench_floor.py --database-url URL --team T [--repeat 5]

Each figure is the median of --repeat runs, measured the way `bench_scale.py` measures the
targets they sit under:

* `stack`: a process that imports SQLAlchemy (core and ORM) and pydantic, opens the engine,
  runs `SELECT 1` and validates one pydantic model, with the collector paused as
  `pipebot stats` runs: the least any `pipebot stats` can take on this stack, to set beside
  "`stats` on the one-deal team ≤ 500 ms".
* `numpy` and `simulation`: `import numpy`, then the forecast range's simulation of the team's
  quarter as `stats` plays it (its open deals with a close date up to the quarter's end,
  10,000 runs): what the range alone adds to "`stats` as of now ≤ 300 ms".
* `sql`: every statement one `stats` of the team runs (captured as it runs them), replayed in
  order on a new connection through the bare driver (`sqlite3`, `psycopg`) and fetched: the
  database's own share, with no SQLAlchemy and no Python above the driver, as a new process
  meets it (cold connection caches); `sql_warm` is each statement's best of 3 more runs.
* `exits_to_python` (SQLite only): the window's stage exits fetched with the bare `sqlite3`
  module, grouped and their medians taken, as `stats` must on SQLite, which has no median:
  the least the 90-day time in stage costs there.

`bench_scale.py` imports `floors()` and prints them beside its table.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# Run as `python -c`: nothing is imported before it but what the interpreter itself loads.
STACK = """
import gc
gc.disable()
import sys
import pydantic
import sqlalchemy.orm
from sqlalchemy import create_engine, text

engine = create_engine(sys.argv[1])
with engine.connect() as conn:
    conn.execute(text("SELECT 1")).all()


class One(pydantic.BaseModel):
    value: int


One(value=1)
engine.dispose()
"""


def _stack_process(url: str) -> float:
    """The seconds of one new process that loads the stack and runs `SELECT 1`."""
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", STACK, url], cwd=ROOT, check=True)
    return time.perf_counter() - started


def _replay(db: Any, statements: list[tuple[str, Any]]) -> tuple[float, float]:
    """The seconds the bare driver takes to run and fetch the statements on a new connection:
    their first run, with cold caches as a new process meets them, and each at its best of 3
    more runs."""
    db.engine.dispose()  # a connection of its own, not the pooled one that just ran them
    raw = db.engine.raw_connection()
    runs: list[list[float]] = [[] for _ in statements]
    try:
        for _ in range(4):
            for taken, (statement, parameters) in zip(runs, statements, strict=True):
                cursor = raw.cursor()
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                taken.append(time.perf_counter() - started)
                cursor.close()
    finally:
        raw.close()
    return sum(t[0] for t in runs), sum(min(t[1:]) for t in runs)


def _stats_child(url: str, team: str) -> None:
    """In a child: `import numpy`, the bare SQL of one `stats` and one simulation of the team's
    quarter; prints the seconds of each."""
    from sqlalchemy import event

    from pipeline.accuracy import accuracy
    from pipeline.forecast import forecast
    from pipeline.forecast_range import quarter_range, simulate, stage_chances
    from pipeline.metrics import Rates, compute
    from storage.db import Database
    from storage.reports import reports_in

    gc.disable()
    started = time.perf_counter()
    import numpy  # noqa: F401  (first, while nothing has loaded it)

    numpy_seconds = time.perf_counter() - started
    gc.enable()
    db = Database(url)
    now = datetime.now(UTC)
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    # Every query `pipebot stats` runs, as it runs them (cli/main.py's _stats).
    event.listen(db.engine, "before_cursor_execute", capture)
    with db.read_scope() as session:
        source = reports_in(session, team)
        metrics = compute(source, as_of=now)
        quarter_range(source, as_of=now, metrics=metrics)
        accuracy(source, as_of=now)
    event.remove(db.engine, "before_cursor_execute", capture)
    sql, sql_warm = _replay(db, statements)
    with db.read_scope() as session:
        source = reports_in(session, team)
        quarter_end = forecast(source, as_of=now, metrics=metrics).quarter.end
        rows = source.open_amounts(quarter_end)
        chances = {
            c.stage: c.probability for c in stage_chances(source.team.stages, metrics.funnel)
        }
    db.dispose()
    rates = Rates.of(source.team)
    priced = [(row, rates.convert(row.cents, row.currency)) for row in rows if row.cents]
    cents = [int(value * 100) for _, value in priced if value is not None]
    probabilities = [chances.get(row.stage, 0.0) for row, value in priced if value is not None]
    gc.disable()
    started = time.perf_counter()
    simulate(cents, probabilities, seed=12)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "numpy": numpy_seconds,
                "simulation": done - started,
                "deals": len(cents),
                "sql": sql,
                "sql_warm": sql_warm,
                "statements": len(statements),
            }
        )
    )


def exits_to_python(path: str, team: str) -> dict[str, Any]:
    """The 90-day window's stage exits through the bare sqlite3 module: fetch, group, medians."""
    import sqlite3
    from datetime import timedelta

    end = datetime.now(UTC).replace(tzinfo=None)
    start = end - timedelta(days=90)
    conn = sqlite3.connect(path)
    query = (
        "SELECT from_stage, from_seconds FROM stage_changes WHERE team_id = ? AND at >= ?"
        " AND at < ? AND from_seconds IS NOT NULL AND from_stage NOT IN ('won', 'lost')"
    )
    gc.disable()
    started = time.perf_counter()
    rows = conn.execute(query, (team, start.isoformat(" "), end.isoformat(" "))).fetchall()
    fetched = time.perf_counter()
    groups: dict[str, list[float]] = {}
    for key, value in rows:
        groups.setdefault(key, []).append(value)
    for values in groups.values():
        statistics.median(values)
        math.fsum(values)
    done = time.perf_counter()
    gc.enable()
    conn.close()
    return {"exits": len(rows), "exits_fetch": fetched - started, "exits_to_python": done - started}


def _child(args: list[str]) -> dict[str, Any]:
    command = [PYTHON, str(Path(__file__).resolve()), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def floors(url: str, team: str, repeat: int) -> dict[str, Any]:
    """Every floor for one database and team, medians of `repeat` new processes."""
    stack = [_stack_process(url) for _ in range(repeat)]
    children = [_child(["--stats-child", url, team]) for _ in range(repeat)]
    out: dict[str, Any] = {
        "stack": statistics.median(stack),
        "numpy": statistics.median(r["numpy"] for r in children),
        "simulation": statistics.median(r["simulation"] for r in children),
        "range_deals": children[0]["deals"],
        "sql": statistics.median(r["sql"] for r in children),
        "sql_warm": statistics.median(r["sql_warm"] for r in children),
        "statements": children[0]["statements"],
    }
    if url.startswith("sqlite:///"):
        runs = [exits_to_python(url.removeprefix("sqlite:///"), team) for _ in range(repeat)]
        out["exits"] = runs[0]["exits"]
        out["exits_fetch"] = statistics.median(r["exits_fetch"] for r in runs)
        out["exits_to_python"] = statistics.median(r["exits_to_python"] for r in runs)
    return out


def main() -> int:
    """Parse the options and print the floors as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--team")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stats-child", nargs=2, metavar=("URL", "TEAM"))
    args = parser.parse_args()
    if args.stats_child:
        _stats_child(*args.stats_child)
    else:
        print(json.dumps(floors(args.database_url, args.team, args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
