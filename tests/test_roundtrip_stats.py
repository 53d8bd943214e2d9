"""The issue's acceptance path: export, import into a new team, export again, stats --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from storage.db import Database
from tests.test_metrics import T, build_fixture


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_import_export_round_trip_then_stats_json_match_hand_computed_values(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = build_fixture(db)
    url = ("--database-url", db.url)
    exported = run(capsys, *url, "export", "--team", T)
    backup = tmp_path / "backup.json"
    backup.write_text(exported)
    run(capsys, *url, "import", str(backup), "--team", "TCOPY")
    again = json.loads(run(capsys, *url, "export", "--team", "TCOPY"))
    original = json.loads(exported)
    assert again.pop("team") == "TCOPY"
    original.pop("team")
    assert again == original

    out = run(capsys, *url, "stats", "--team", "TCOPY", "--as-of", clock.now.isoformat(), "--json")
    stats = json.loads(out)
    assert stats["team"] == "TCOPY"
    assert stats["currency"] == "EUR"
    assert stats["open"] == {"count": 4, "amount": "45000.00", "weighted": "19000.00"}
    assert stats["unpriced"] == 1
    assert (stats["won_count"], stats["lost_count"], stats["win_rate"]) == (3, 2, 0.6)
    assert stats["avg_won_amount"] == "7500.00"
    assert stats["median_days_to_win"] == 20.0
    assert [
        (f["stage"], f["reached"], f["lost_at"], f["win_rate_from"]) for f in stats["funnel"]
    ] == [
        ("lead", 5, 0, 0.6),
        ("qualified", 5, 1, 0.6),
        ("demo", 4, 0, 0.75),
        ("proposal", 4, 1, 0.75),
        ("negotiation", 3, 0, 1.0),
    ]
    assert [(d["stage"], d["median"], d["mean"]) for d in stats["days_in_stage"]] == [
        ("lead", 4.0, 4.75),
        ("qualified", 2.0, 2.0),
        ("demo", 10.0, 8.0),
        ("proposal", 5.5, 5.5),
        ("negotiation", 14.0, 14.0),
    ]
    assert stats["stale"] == [6]
    assert stats["overdue_next_steps"] == [8]
    assert stats["past_close_date"] == [6]
    assert stats["slipped"] == [6]
