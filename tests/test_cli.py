"""The `pipebot` command line, run in-process against the test databases."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from cli.main import main
from pipeline.money import Money
from pipeline.service import NextStep
from storage.db import Database
from storage.migrate import needs_upgrade
from storage.models import Deal, StageChange
from storage.services import service_in
from storage.transfer import export_csv, export_team
from tests.conftest import PG_URL_ENV, FrozenClock

T = "T0CLI"
T2 = "T0COPY"
ALICE = "U0ALICE"
BOB = "U0BOB"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def build(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        p = service_in(s, T, clock=clock)
        p.set_timezone("Europe/Paris")
        p.set_currency("EUR")
        p.set_rate("USD", Decimal("0.92"))
        p.create("Acme", actor=ALICE, amount=Money(Decimal("50000"), "EUR"))
        p.create("Globex", actor=BOB, amount=Money(Decimal("1200.50"), "USD"), stage="demo")
    clock.advance(days=1)
    with db.session_scope() as s:
        p = service_in(s, T, clock=clock)
        p.move(1, "proposal", actor=ALICE)
        p.log_activity(2, "call", "Spoke with the CFO", actor=BOB)
        p.set_next_step(2, NextStep("send pricing", date(2026, 12, 2)), actor=BOB)
    clock.advance(days=1)
    with db.session_scope() as s:
        service_in(s, T, clock=clock).win(1, actor=ALICE)


def deal_counts(db: Database) -> tuple[int, int]:
    with db.read_scope() as s:
        deals = s.execute(select(func.count()).select_from(Deal)).scalar_one()
        history = s.execute(select(func.count()).select_from(StageChange)).scalar_one()
    return int(deals), int(history)


def assert_one_line_error(code: int, err: str) -> None:
    assert code == 2
    assert err.startswith("pipebot: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.fixture
def built(db: Database, clock: FrozenClock) -> Database:
    build(db, clock)
    return db


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("db", "export", "import", "stats"):
        assert command in out


def test_python_dash_m_bot_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "export", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    assert "--team" in done.stdout


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export")
    assert code == 2
    assert "--team" in err


def test_export_json_to_stdout(built: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--database-url", built.url, "export", "--team", T)
    assert (code, err) == (0, "")
    with built.read_scope() as s:
        assert json.loads(out) == export_team(s, T)


def test_export_csv_to_a_file_by_its_extension(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "deals.csv"
    # The global option also works after the subcommand.
    code, out, _ = run(
        capsys, "export", "--team", T, "-o", str(target), "--database-url", built.url
    )
    assert (code, out) == (0, "")
    with built.read_scope() as s:
        assert target.read_text(encoding="utf-8") == export_csv(s, T)


def test_export_replaces_a_file_whole_and_writes_a_device_in_place(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "backup.json"
    target.write_text("older backup")
    code, _, err = run(
        capsys, "--database-url", built.url, "export", "--team", T, "-o", str(target)
    )
    assert (code, err) == (0, "")
    with built.read_scope() as s:
        assert json.loads(target.read_text(encoding="utf-8")) == export_team(s, T)
    assert not list(tmp_path.glob("*partial*"))
    code, _, err = run(
        capsys, "--database-url", built.url, "export", "--team", T, "-o", "/dev/null"
    )
    assert (code, err) == (0, "")
    assert Path("/dev/null").is_char_device()


def test_export_of_an_unknown_team(built: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--database-url", built.url, "export", "--team", "TNOBODY")
    assert_one_line_error(code, err)
    assert "TNOBODY" in err
    assert out == ""


def test_json_export_then_import_into_another_team(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    backup = tmp_path / "backup.json"
    assert (
        run(capsys, "--database-url", built.url, "export", "--team", T, "-o", str(backup))[0] == 0
    )
    code, out, err = run(capsys, "--database-url", built.url, "import", str(backup), "--team", T2)
    assert (code, err) == (0, "")
    assert out.startswith("Imported 2 deals (#1–#2) with 4 stage changes, 1 activity")
    with built.read_scope() as s:
        first, second = export_team(s, T), export_team(s, T2)
    assert first.pop("team") == T
    assert second.pop("team") == T2
    assert first == second


def test_import_reads_stdin(
    built: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with built.read_scope() as s:
        data = export_team(s, T)
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(data)))
    code, out, _ = run(capsys, "--database-url", built.url, "import", "-", "--team", T2)
    assert code == 0
    assert "Imported 2 deals" in out


def test_import_into_a_team_with_deals_needs_replace(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    backup = tmp_path / "backup.json"
    run(capsys, "--database-url", built.url, "export", "--team", T, "-o", str(backup))
    before = deal_counts(built)
    code, _, err = run(capsys, "--database-url", built.url, "import", str(backup), "--team", T)
    assert_one_line_error(code, err)
    assert "already has deals" in err
    assert "--replace" in err
    assert deal_counts(built) == before
    args = ("--database-url", built.url, "import", str(backup), "--team", T, "--replace")
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "Replaced 2 deals." in out
    assert deal_counts(built) == before


def test_import_csv_needs_an_actor_then_appends(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet = tmp_path / "hubspot.csv"
    sheet.write_text(
        "\ufeffDeal Name,Amount,Deal Stage,Close Date\nStark,12k,Demo,2026-12-20\n"
        "Wayne,$3000,Closed Won,2026-11-20\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "--database-url", built.url, "import", str(sheet), "--team", T)
    assert_one_line_error(code, err)
    assert "--actor" in err
    args = ("--database-url", built.url, "import", str(sheet), "--team", T, "--actor", BOB)
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    assert out.startswith("Imported 2 deals (#3–#4)")
    with built.read_scope() as s:
        deals = export_team(s, T)["deals"]
    stark, wayne = deals[2], deals[3]
    # No currency column: amounts without a symbol are in the team's currency.
    assert (stark["name"], stark["amount"], stark["currency"], stark["stage"]) == (
        "Stark",
        "12000.00",
        "EUR",
        "demo",
    )
    assert (wayne["status"], wayne["currency"], wayne["owner"]) == ("won", "USD", BOB)


BAD_FILES = [
    ("broken.json", '{"format": "pipebot/1",', "broken.json is not valid JSON: "),
    ("list.json", "[1, 2]", "This is not a pipebot export: expected a JSON object"),
    ("deals.csv", "Deal Name,Amount\nAcme,fifty\n", 'row 2, column "Amount": '),
    ("latin1.csv", "Deal Name\nCaf\xe9\n", "latin1.csv is not UTF-8 text"),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_one_line_on_stderr_and_writes_nothing(
    built: Database,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    content: str,
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if "latin1" in name else "utf-8"))
    before = deal_counts(built)
    args = ("--database-url", built.url, "import", str(path), "--team", T2, "--actor", BOB)
    code, out, err = run(capsys, *args)
    assert_one_line_error(code, err)
    assert expected in err
    assert out == ""
    assert deal_counts(built) == before


def test_a_bad_record_names_where_and_shows_an_example(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with built.read_scope() as s:
        data = export_team(s, T)
    data["deals"][0]["history"][1]["at"] = "yesterday"
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = deal_counts(built)
    code, _, err = run(capsys, "--database-url", built.url, "import", str(path), "--team", T2)
    assert_one_line_error(code, err)
    assert err == (
        'pipebot: error: deals[0].history[1].at: "yesterday" is not an ISO-8601 time '
        "(example: 2026-11-27T10:00:00Z)\n"
    )
    assert deal_counts(built) == before


def test_a_missing_file(
    built: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, "--database-url", built.url, "import", str(missing), "--team", T)
    assert_one_line_error(code, err)
    assert f"{missing}: no such file" in err


def test_db_upgrade_creates_a_fresh_sqlite_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out, err = run(capsys, "db", "upgrade", "--database-url", url)
    assert (code, err) == (0, "")
    assert "up to date" in out
    engine = create_engine(url)
    try:
        assert not needs_upgrade(engine)
    finally:
        engine.dispose()


def test_any_command_upgrades_an_empty_sqlite_file_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = run(capsys, "--database-url", url, "export", "--team", T)
    assert_one_line_error(code, err)
    assert "There is no team" in err
    engine = create_engine(url)
    try:
        assert not needs_upgrade(engine)
    finally:
        engine.dispose()


def test_an_unusable_database_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir.db"
    code, _, err = run(capsys, "--database-url", f"sqlite:///{missing_dir}", "export", "--team", T)
    assert_one_line_error(code, err)
    assert "database error" in err


def test_a_postgresql_schema_behind_asks_for_db_upgrade(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL is never upgraded implicitly; SQLite is")
    base = os.environ[PG_URL_ENV]
    schema = f"pipebot_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{schema}"
        code, _, err = run(capsys, "--database-url", url, "export", "--team", T)
        assert_one_line_error(code, err)
        assert "pipebot db upgrade" in err
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_stats_as_json(built: Database, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--database-url", built.url, "stats", "--team", T, "--json")
    code, out, err = run(capsys, *args, "--from", "2026-11-01", "--as-of", "2026-12-01")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["team"] == T
    # Dates are midnight in the team's time zone (Paris, UTC+1 in winter).
    assert data["as_of"].startswith("2026-11-30T23:00:00")
    assert data["from"].startswith("2026-10-31T23:00:00")
    assert data["won_count"] == 1


def test_stats_as_a_table_with_an_iso_time(
    built: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--database-url", built.url, "stats", "--team", T)
    code, out, err = run(capsys, *args, "--as-of", "2026-12-01T09:30:00+01:00")
    assert (code, err) == (0, "")
    assert out.strip()


@pytest.mark.parametrize(
    ("option", "value"), [("--from", "someday"), ("--as-of", "2026-02-30"), ("--to", "31/02")]
)
def test_stats_refuses_a_bad_date(
    built: Database, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code, _, err = run(capsys, "--database-url", built.url, "stats", "--team", T, option, value)
    assert_one_line_error(code, err)
    assert option in err
    assert "example" in err


def test_stats_of_an_unknown_team(built: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--database-url", built.url, "stats", "--team", "TNOBODY")
    assert_one_line_error(code, err)


def test_the_parser_lists_the_scheduler_jobs_without_importing_them() -> None:
    from cli.run import JOB_KINDS
    from scheduler.jobs import KINDS

    assert JOB_KINDS == KINDS


# What no command but `run`, `demo`, a migration or the digest needs (issue 12): their imports
# cost more than the command itself.
UNNEEDED = ("alembic", "apscheduler", "matplotlib", "slack_bolt", "slack_sdk")
LOADED = (
    "import json, sys\n"
    "from cli.main import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(json.dumps(sorted({m.split('.')[0] if not m.startswith(('pipeline.', 'storage.'))\n"
    "    else m for m in sys.modules})))\n"
)


def _loaded(*args: str) -> set[str]:
    """The top packages, and our own modules, that a new `pipebot` process loads for `args`."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, check=True
    )
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(names)


def test_help_loads_neither_the_bot_nor_the_database_layer() -> None:
    loaded = _loaded("--help")
    assert "cli" in loaded
    assert loaded.isdisjoint({*UNNEEDED, "numpy", "sqlalchemy", "storage.models"})


def test_stats_loads_no_bot_scheduler_migrations_chart_or_transfer_code(built: Database) -> None:
    loaded = _loaded("--database-url", built.url, "stats", "--team", T)
    assert {"storage.metric_queries", "pipeline.metrics"} <= loaded
    assert loaded.isdisjoint(UNNEEDED)
    assert not {m for m in loaded if m.startswith(("pipeline.transfer", "storage.transfer"))}
