"""Forecast accuracy's records: compared with the revenue won, kept once per digest, carried
through export and import, and listed by `stats`, on both backends."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from cli.main import main
from pipeline.accuracy import PeriodAccuracy, Snapshot, accuracy, period_bounds
from pipeline.errors import InvalidInput
from storage import accuracy_queries
from storage.db import Database
from storage.models import Team
from storage.reports import reports_in
from storage.transfer import export_team, import_team
from tests.test_forecast import AS_OF, T, build_fixture

T2 = "TCOPY"


def snap(period: str, recorded: datetime, forecast: int, *, currency: str = "EUR") -> Snapshot:
    bounds = period_bounds(period)
    assert bounds is not None
    return Snapshot(
        period=period,
        start=bounds[0],
        end=bounds[1],
        digest=f"{recorded.isocalendar().year}-W{recorded.isocalendar().week:02d}",
        recorded_at=recorded,
        currency=currency,
        won=Decimal("1000.00"),
        forecast=Decimal(forecast),
        calibrated=Decimal(forecast) + 1,
        p10=Decimal(forecast) - 2,
        p50=Decimal(forecast),
        p90=Decimal(forecast) + 3,
    )


RECORDS = [
    snap("2026-Q3", datetime(2026, 7, 6, 7, tzinfo=UTC), 6_000),
    snap("2026-09", datetime(2026, 9, 7, 7, tzinfo=UTC), 900, currency="USD"),
    snap("2026-10", datetime(2026, 10, 12, 7, tzinfo=UTC), 11_000),
    snap("2026-10", datetime(2026, 10, 5, 7, tzinfo=UTC), 8_000),  # the first of October
    snap("2026-Q4", datetime(2026, 10, 5, 7, tzinfo=UTC), 50_000),
    snap("2026-11", datetime(2026, 11, 2, 8, tzinfo=UTC), 20_000),
]


def record(db: Database, team: str = T, rows: list[Snapshot] = RECORDS) -> int:
    with db.session_scope() as s:
        return accuracy_queries.record(s, team, rows)


def listed(db: Database, team: str = T) -> list[PeriodAccuracy]:
    with db.read_scope() as s:
        return accuracy(reports_in(s, team), as_of=AS_OF)


def test_ended_periods_compare_their_first_record_with_what_was_won(db: Database) -> None:
    """At 27 Nov (Paris): October and Q3 have ended; November and Q4 have not; September's
    record is in dollars, not the team's euros. October's actual is Dollar win ($20,000 at
    0.5 = 10,000); Midnight, won at 00:30 on 1 November in Paris, is November's. Q3's is Old
    win (5,000, won 1 August)."""
    build_fixture(db)
    assert record(db) == 6
    assert record(db) == 0  # a retried digest records nothing new
    rows = listed(db)
    assert [(a.period, a.recorded_on, a.forecast, a.actual) for a in rows] == [
        ("2026-10", date(2026, 10, 5), Decimal("8000.00"), Decimal("10000.00")),
        ("2026-Q3", date(2026, 7, 6), Decimal("6000.00"), Decimal("5000.00")),
    ]
    october = rows[0]
    assert (october.error, october.calibrated_error) == (
        0.25,
        0.2498,
    )  # 2,000 ÷ 8,000; 1,999 ÷ 8,001
    assert (october.p10, october.p90, october.won_then) == (
        Decimal("7998.00"),
        Decimal("8003.00"),
        Decimal("1000.00"),
    )
    assert october.to_json() == {
        "period": "2026-10",
        "recorded_at": "2026-10-05T07:00:00+00:00",
        "forecast": "8000.00",
        "calibrated": "8001.00",
        "p10": "7998.00",
        "p90": "8003.00",
        "actual": "10000.00",
    }
    with db.read_scope() as s:
        assert accuracy(reports_in(s, T), as_of=AS_OF, limit=1) == rows[:1]


def test_forecasts_survive_an_export_and_import(db: Database) -> None:
    build_fixture(db)
    record(db)
    with db.read_scope() as s:
        document = export_team(s, T)
    assert len(document["forecasts"]) == 6
    assert document["forecasts"][0] == {
        "period": "2026-Q3",
        "digest": "2026-W28",
        "recorded_at": "2026-07-06T07:00:00Z",
        "currency": "EUR",
        "won": "1000.00",
        "forecast": "6000.00",
        "calibrated": "6001.00",
        "p10": "5998.00",
        "p50": "6000.00",
        "p90": "6003.00",
    }
    with db.session_scope() as s:
        import_team(s, T2, copy.deepcopy(document))
    with db.read_scope() as s:
        again = export_team(s, T2)
    assert again["forecasts"] == document["forecasts"]
    assert listed(db, T2) == listed(db, T)
    # A file without forecasts (an older export) leaves the records alone.
    del document["forecasts"]
    with db.session_scope() as s:
        import_team(s, T2, document, replace=True)
    assert len(listed(db, T2)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"period": "2026-13"}, 'forecasts[0].period: "2026-13" is not a month or a quarter'),
        ({"digest": "week 3"}, 'forecasts[0].digest: "week 3" is not an ISO week'),
        ({"p90": None}, "forecasts[0].p90: is missing an amount"),
        ({"forecast": "-5"}, 'forecasts[0].forecast: "-5" is not an amount'),
        ({"recorded_at": "2026-10-05"}, "forecasts[0].recorded_at"),
    ],
)
def test_a_bad_forecast_entry_is_refused_and_nothing_is_written(
    db: Database, change: dict[str, Any], message: str
) -> None:
    build_fixture(db)
    record(db)
    with db.read_scope() as s:
        document = export_team(s, T)
    document["forecasts"][0].update(change)
    pattern = message.replace("[", r"\[").replace("]", r"\]")
    with pytest.raises(InvalidInput, match=pattern), db.session_scope() as s:
        import_team(s, T2, document)
    assert not _has_team(db, T2)


def test_a_forecast_given_twice_is_refused(db: Database) -> None:
    build_fixture(db)
    record(db)
    with db.read_scope() as s:
        document = export_team(s, T)
    document["forecasts"].append(document["forecasts"][0])
    also = r"forecasts\[6\]: 2026-Q3 of digest 2026-W28 is also"
    with pytest.raises(InvalidInput, match=also), db.session_scope() as s:
        import_team(s, T2, document)


def _has_team(db: Database, team: str) -> bool:
    with db.read_scope() as s:
        return s.get(Team, team) is not None


def test_stats_json_has_the_range_and_accuracy(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    build_fixture(db)
    record(db)
    args = ["--database-url", db.url, "stats", "--team", T, "--as-of", AS_OF.isoformat()]
    assert main([*args, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data = json.loads(out)
    # The forecast fixture's quarter (tests/test_forecast_range.py has the hand computation).
    assert {k: v for k, v in data["forecast_range"].items() if k != "p90"} == {
        "period": "2026-Q4",
        "p10": "20000.00",
        "p50": "40000.00",
        "mean": "41000.00",
        "runs": 10_000,
    }
    assert [a["period"] for a in data["forecast_accuracy"]] == ["2026-10", "2026-Q3"]
    assert data["forecast_accuracy"][0]["actual"] == "10000.00"
    assert main(args) == 0
    out, _ = capsys.readouterr()
    assert (
        "Forecast range 2026-Q4 (2026-10-01 to 2026-12-31, 10,000 runs): won 20,000.00 EUR" in out
    )
    assert "2 without amount or rate left out" in out
    assert (
        "  2026-10: forecast 8,000.00 on 2026-10-05, calibrated 8,001.00, P10–P90 "
        "7,998.00–8,003.00; actual 10,000.00 EUR (+25% vs forecast, +25% vs calibrated)"
    ) in out
