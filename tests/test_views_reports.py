"""Report, admin and App Home builders: pure, valid Block Kit, within limits at the extremes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pipeline.metrics import FunnelStep, Metrics, StageDuration, StageTotals, Totals
from pipeline.schemas import DealOut, StageOut, TeamOut
from pipeline.types import DealStatus
from sandbox.blockkit import validate_blocks, validate_view
from views.admin import build_config, build_stages, config_text, stages_text
from views.home import build_home
from views.ids import Action
from views.reports import (
    build_pipeline,
    build_stats,
    funnel_lines,
    pipeline_lines,
    pipeline_text,
    stats_text,
)
from views.tables import cell, code_sections, table_lines

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
TODAY = date(2026, 11, 27)
LONG = "Enterprise procurement & legal <review> with `security` questionnaire, phase"


def stage_outs(n: int, *, long: bool = False) -> list[StageOut]:
    return [
        StageOut(
            key=f"stage_{i}",
            name=(f"{LONG} {i}"[:80] if long else f"Stage {i}"),
            position=i,
            probability=min(100, 2 * i + 5),
            stale_days=7 + i,
        )
        for i in range(n)
    ]


def metrics_for(
    stages: list[StageOut], *, closed: bool = True, unpriced: int = 0, big: bool = False
) -> Metrics:
    amount = Decimal("987654321.55") if big else Decimal("125000.50")
    by_stage = [
        StageTotals(
            stage=s.key,
            name=s.name,
            probability=s.probability,
            count=1000 + i if big else i,
            amount=amount,
            weighted=(amount * s.probability / 100).quantize(Decimal("0.01")),
        )
        for i, s in enumerate(stages)
    ]
    funnel = [
        FunnelStep(
            stage=s.key,
            name=s.name,
            reached=100 - i,
            lost_at=1,
            loss_rate=0.01,
            conversion_rate=0.99,
            win_rate_from=0.5 if i % 2 else 0.05,
        )
        for i, s in enumerate(stages)
    ]
    durations = [
        StageDuration(stage=s.key, name=s.name, exits=i, median=1.5 * i, mean=2.25 * i)
        for i, s in enumerate(stages)
    ]
    total = sum((s.amount for s in by_stage), Decimal(0))
    return Metrics(
        team="T0DEMO",
        as_of=NOW,
        start=NOW - timedelta(days=90),
        end=NOW,
        currency="USD",
        open=Totals(
            count=sum(s.count for s in by_stage),
            amount=total,
            weighted=sum((s.weighted for s in by_stage), Decimal(0)),
        ),
        unpriced=unpriced,
        by_stage=by_stage,
        won_count=9 if closed else 0,
        lost_count=11 if closed else 0,
        win_rate=0.45 if closed else None,
        avg_won_amount=Decimal("12000.40") if closed else None,
        avg_days_to_win=30.5 if closed else None,
        median_days_to_win=23.0 if closed else None,
        funnel=funnel,
        days_in_stage=durations,
        stale=[],
        overdue_next_steps=[],
        past_close_date=[],
        slipped=[],
    )


def deal(number: int, *, owner: str = "U0ALICE", long: bool = False, **extra: Any) -> DealOut:
    values: dict[str, Any] = {
        "number": number,
        "name": (LONG * 3)[:200] if long else f"Deal {number}",
        "amount": Decimal(1000 * number),
        "currency": "USD",
        "owner_id": owner,
        "stage": "stage_1",
        "status": DealStatus.OPEN,
        "created_at": NOW - timedelta(days=30),
        "created_by": owner,
        "closed_at": None,
        "close_date": None,
        "next_step_text": None,
        "next_step_due": None,
        "lost_reason": None,
        "source": None,
        "last_activity_at": NOW - timedelta(days=1),
        "snoozed_until": None,
        "updated_at": NOW - timedelta(days=1),
        "updated_by": owner,
        "version": 1,
    }
    values.update(extra)
    return DealOut(**values)


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def assert_valid(blocks: list[dict[str, Any]]) -> None:
    assert validate_blocks(blocks, "message") == []


# --- tables ---------------------------------------------------------------------------------


def test_table_aligns_columns() -> None:
    lines = table_lines(["Stage", "Deals"], [["Lead", "3"], ["Negotiation", "12"]], align="lr")
    assert lines == ["Stage        Deals", "Lead             3", "Negotiation     12"]


def test_code_sections_split_rows_and_repeat_the_header() -> None:
    lines = ["Head", *[f"row {i:04d} " + "x" * 80 for i in range(200)]]
    sections = code_sections(lines, title="*T*", max_blocks=3)
    assert len(sections) == 3
    for section in sections:
        text = section.to_dict()["text"]["text"]
        assert len(text) <= 3000
        assert "```\nHead\n" in text
        assert text.endswith("```")
    assert sections[-1].to_dict()["text"]["text"].count("more rows") == 1


def test_table_cells_are_escaped_and_cannot_close_the_code_block() -> None:
    stages = [s.model_copy(update={"name": "R&D <beta> ```x```"}) for s in stage_outs(2)]
    body = texts(build_pipeline(metrics_for(stages)))
    assert "R&amp;D &lt;beta&gt; '''x'''" in body
    assert body.count("```") == 2


def test_long_names_keep_both_ends() -> None:
    assert cell("Enterprise procurement and legal review, phase 12", 24) == (
        "Enterprise proc…phase 12"
    )
    assert cell("Lead", 24) == "Lead"
    assert len(cell("x" * 100, 24)) == 24


# --- pipeline and stats -----------------------------------------------------------------------


def test_pipeline_shows_each_stage_and_totals() -> None:
    metrics = metrics_for(stage_outs(5))
    blocks = build_pipeline(metrics)
    assert_valid(blocks)
    body = texts(blocks)
    for i in range(5):
        assert f"Stage {i}" in body
    assert "$625,003" in body  # 5 x 125,000.50, in whole dollars
    assert pipeline_text(metrics) == "Open pipeline: 10 deals, $625,003 ($56,250 weighted)"
    assert pipeline_lines(metrics)[-1].startswith("Total")


def test_pipeline_notes_unpriced_deals() -> None:
    blocks = build_pipeline(metrics_for(stage_outs(2), unpriced=3))
    assert "3 open deals are in a currency with no rate" in texts(blocks)
    assert "/deal config rate" in texts(blocks)


@pytest.mark.parametrize("long", [False, True])
def test_reports_fit_with_forty_stages(long: bool) -> None:
    metrics = metrics_for(stage_outs(40, long=long), big=True, unpriced=2)
    for blocks in (build_pipeline(metrics), build_stats(metrics, "last 90 days")):
        assert_valid(blocks)
        assert len(blocks) <= 50
        body = texts(blocks)
        assert "Stage 39" in body or f"{LONG[:10]}" in body
        assert "more row" not in body  # 40 stages fit without dropping any


def test_stats_show_win_rate_funnel_calibration_and_durations() -> None:
    metrics = metrics_for(stage_outs(4))
    blocks = build_stats(metrics, "last 90 days")
    assert_valid(blocks)
    body = texts(blocks)
    assert "45% (9 won · 11 lost)" in body
    assert "$12,000" in body
    assert "median 23 · mean 30" in body
    assert "*Funnel*" in body
    assert "*Days in stage*" in body
    lines = funnel_lines(metrics)
    assert lines[0].split() == ["Stage", "Reached", "Conv", "Loss", "Win", "from", "Set"]
    # Stage 1: 50% won from there against 7% set, on 99 deals: flagged up.
    assert lines[2].split()[-3:] == ["50%", "7%", "↑"]
    assert stats_text(metrics, "last 90 days") == (
        "Stats, last 90 days: win rate 45% (9 won, 11 lost), average won $12,000, "
        "median 23 days to win."
    )


def test_stats_without_closed_deals_say_so() -> None:
    metrics = metrics_for(stage_outs(3), closed=False)
    blocks = build_stats(metrics, "this month")
    assert_valid(blocks)
    assert "No deal was won or lost in this window" in texts(blocks)
    assert stats_text(metrics, "this month") == "Stats, this month: no deal closed."


# --- admin ----------------------------------------------------------------------------------


@pytest.mark.parametrize("long", [False, True])
def test_stages_view_fits_forty_long_stages(long: bool) -> None:
    stages = stage_outs(40, long=long)
    blocks = build_stages(stages, note=":white_check_mark: " + "x" * 5000)
    assert_valid(blocks)
    body = texts(blocks)
    assert "stage_39" in body
    assert "more row" not in body
    assert len(stages_text(stages)) <= 3000


def team(**extra: Any) -> TeamOut:
    values: dict[str, Any] = {
        "id": "T0DEMO",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "channel_id": "C0SALES",
        "admins": ["U0ALICE", "U0BOB"],
        "stages": stage_outs(3),
        "rates": {"USD": Decimal("0.92"), "GBP": Decimal("1.1700000000")},
    }
    values.update(extra)
    return TeamOut(**values)


def test_config_shows_every_setting_and_the_next_runs() -> None:
    blocks = build_config(team(), now=NOW)
    assert_valid(blocks)
    body = texts(blocks)
    assert "<#C0SALES>" in body
    assert "Europe/Paris" in body
    assert "1 GBP = 1.17 EUR, 1 USD = 0.92 EUR" in body
    assert "09:00 mon-fri" in body
    assert "mon 09:00" in body
    # Next reminder: Monday 30 Nov 09:00 in Paris = 08:00 UTC.
    assert f"<!date^{int(datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp())}^" in body
    assert "<@U0ALICE> <@U0BOB>" in body
    assert "pipebot settings" in config_text(team())


def test_config_with_everything_off_and_unreadable_values() -> None:
    blocks = build_config(
        team(channel_id=None, admins=[], rates={}, reminders="off", digest="sometimes"),
        now=NOW,
    )
    assert_valid(blocks)
    body = texts(blocks)
    assert "not set" in body
    assert "Slack workspace admins and owners" in body
    assert "unreadable: `sometimes`" in body
    assert "next <!date" not in body


def test_config_fits_fifty_admins_and_many_rates() -> None:
    admins = [f"U{i:010d}" for i in range(50)]
    rates = {f"X{i:02d}": Decimal("123456.1234567891") for i in range(100)}
    blocks = build_config(team(admins=admins, rates=rates), now=NOW, note="y" * 4000)
    assert_valid(blocks)


# --- home -----------------------------------------------------------------------------------


def test_home_with_500_long_deals_fits_100_blocks() -> None:
    stages = stage_outs(40, long=True)
    deals = [
        deal(
            n,
            long=True,
            stage=stages[n % 40].key,
            next_step_text=LONG * 5,
            next_step_due=TODAY - timedelta(days=n % 3),
            close_date=TODAY + timedelta(days=n),
        )
        for n in range(1, 501)
    ]
    view = build_home(
        user_id="U0ALICE",
        deals=deals,
        stages=stages,
        metrics=metrics_for(stages, big=True, unpriced=1),
        today=TODAY,
        truncated=True,
    )
    assert validate_view(view) == []
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    body = texts(view["blocks"])
    late = sum(1 for n in range(1, 501) if n % 3)
    assert f"Your overdue next steps* ({late})" in body
    [overdue] = [
        b["text"]["text"] for b in view["blocks"] if "overdue next steps" in str(b.get("text"))
    ]
    shown = overdue.count("\n• ")
    assert overdue.endswith(f"… and {late - shown} more")
    assert 0 < shown <= 15
    assert "/deal list mine" in body
    assert "Team pipeline" in body
    action_blocks = [b for b in view["blocks"] if b["type"] == "actions"]
    assert action_blocks
    assert all(e["action_id"] for b in action_blocks for e in b["elements"])
    assert {e["action_id"] for e in action_blocks[0]["elements"]} >= {Action.ADVANCE, Action.WON}


def test_home_puts_overdue_then_closing_soonest_first() -> None:
    stages = stage_outs(5)
    deals = [
        deal(1, close_date=TODAY + timedelta(days=30)),
        deal(2, close_date=TODAY + timedelta(days=3)),
        deal(3, next_step_text="call", next_step_due=TODAY - timedelta(days=1)),
        deal(4),
    ]
    view = build_home(
        user_id="U0ALICE", deals=deals, stages=stages, metrics=metrics_for(stages), today=TODAY
    )
    assert validate_view(view) == []
    numbers = [b["block_id"].split(":")[1] for b in view["blocks"] if b.get("type") == "actions"]
    assert numbers == ["3", "2", "1", "4"]
    body = texts(view["blocks"])
    assert "you own 4 open deals worth $10,000" in body
    assert "*#3 Deal 3*: call" in body
    assert "Showing" not in body


def test_home_for_someone_without_deals() -> None:
    stages = stage_outs(5)
    view = build_home(
        user_id="U0BOB", deals=[], stages=stages, metrics=metrics_for(stages), today=TODAY
    )
    assert validate_view(view) == []
    body = texts(view["blocks"])
    assert "You own no open deal" in body
    assert "overdue" not in body
