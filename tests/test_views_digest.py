"""The digest message stays within Slack's limits, and its chart is a real PNG."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from pipeline.digest import (
    Amounts,
    Bottleneck,
    ClosedDeal,
    ClosedDeals,
    DigestData,
    PushedDeal,
    PushedDeals,
    StageSummary,
    StaleDeal,
)
from pipeline.forecast import Forecast, PeriodForecast, StageProbability
from pipeline.metrics import Totals
from sandbox.blockkit import validate_blocks
from storage.db import Database
from storage.reports import reports_in
from tests.test_digest import NOW, build_week, digest
from tests.test_forecast import Builder
from views.charts import render_digest_chart
from views.digest import DigestMessage, build_digest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Every character Slack's mrkdwn or a code block could trip on, in a long name.
NASTY = "Ünïcode & <Sons> `tick` *bold* _it_ ~strike~ 株式会社 "


def long_name(i: int, length: int) -> str:
    return (f"{i} " + NASTY * 10)[:length]


def assert_valid(message: DigestMessage) -> None:
    assert message.text.strip()
    assert len(message.text) < 1000
    assert validate_blocks(message.blocks) == []
    assert 0 < len(message.blocks) <= 50
    for text, blocks in message.thread:
        assert text.strip()
        assert validate_blocks(blocks) == []
        assert 0 < len(blocks) <= 50


def all_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", []) if "text" in e]
    return "\n".join(parts)


def period(kind: str, start: date, end: date, scale: int) -> PeriodForecast:
    return PeriodForecast(
        period="month" if kind == "month" else "quarter",
        start=start,
        end=end,
        won_count=40,
        won=Decimal(1_200_000 * scale),
        open_count=300,
        overdue_count=120,
        open_amount=Decimal(9_000_000 * scale),
        weighted_configured=Decimal(3_100_000 * scale),
        weighted_calibrated=Decimal(2_400_000 * scale),
        forecast_configured=Decimal(4_300_000 * scale),
        forecast_calibrated=Decimal(3_600_000 * scale),
        unpriced=17,
        fallback_stages=[f"s{i}" for i in range(40)],
    )


def huge_digest(stages: int = 40, stale: int = 500) -> DigestData:
    """A worst case: 40 stages of 80-character names, 500 stale deals, 200-character names."""
    names = [long_name(i, 80) for i in range(stages)]
    summaries = [
        StageSummary(
            stage=f"s{i}",
            name=names[i],
            probability=min(100, 2 * i + 5),
            stale_days=7 + i,
            count=500 - 10 * i,
            amount=Decimal(12_345_678 - 250_000 * i),
            weighted=Decimal(1_234_567 - 25_000 * i),
            count_before=490 - 10 * i,
            amount_before=Decimal(12_000_000 - 250_000 * i),
            weighted_before=Decimal(1_200_000 - 25_000 * i),
            count_change=10,
            amount_change=Decimal(345_678),
            weighted_change=Decimal(-34_567),
            reached=1000 - 20 * i,
            lost_at=20,
            conversion_rate=0.98,
            loss_rate=0.02,
            win_rate_from=0.1234,
            median_days=12.5 + i,
            exits=400,
        )
        for i in range(stages)
    ]
    now = NOW
    closed = [
        ClosedDeal(
            number=1000 + i,
            name=long_name(i, 200),
            owner_id=f"U{i:010d}",
            stage=f"s{i}",
            stage_name=names[i % stages],
            amount=Decimal(999_999_999),
            currency="USD",
            converted=Decimal(499_999_999),
            closed_at=now - timedelta(days=1),
            reason=("Went with a competitor & <cheaper> " * 30)[:500],
        )
        for i in range(10)
    ]
    stale_deals = [
        StaleDeal(
            number=5000 + i,
            name=long_name(i, 200),
            owner_id=f"W{i:010d}",
            stage=f"s{i}",
            stage_name=names[i % stages],
            amount=None if i % 3 else Decimal(123_456),
            currency="JPY",
            last_activity_at=now - timedelta(days=400 - i),
            days_quiet=400 - i,
        )
        for i in range(min(10, stale))
    ]
    totals = Totals(count=14_000, amount=Decimal(350_000_000), weighted=Decimal(35_000_000))
    return DigestData(
        team="THUGE",
        currency="EUR",
        timezone="Pacific/Auckland",
        start=now - timedelta(days=7),
        end=now,
        first_day=date(2026, 12, 28),
        last_day=date(2027, 1, 4),
        open=totals,
        open_before=totals,
        unpriced=321,
        unpriced_before=300,
        missing_rates=["CHF", "GBP", "JPY", "SEK", "NOK", "DKK", "PLN"],
        stages=summaries,
        new=Amounts(count=250, amount=Decimal(9_876_543), unpriced=12),
        advances=1234,
        won=ClosedDeals(count=300, amount=Decimal(987_654_321), unpriced=5, deals=closed),
        lost=ClosedDeals(count=280, amount=Decimal(87_654_321), unpriced=4, deals=closed),
        pushed=PushedDeals(
            count=150,
            pushes=400,
            deals=[
                PushedDeal(
                    number=c.number,
                    name=c.name,
                    owner_id=c.owner_id,
                    pushes=3,
                    old_date=date(2026, 12, 1),
                    close_date=None if c.number % 2 else date(2027, 3, 31),
                    amount=c.amount,
                    currency=c.currency,
                )
                for c in closed
            ],
        ),
        forecast=Forecast(
            team="THUGE",
            as_of=now,
            today=date(2027, 1, 4),
            currency="EUR",
            month=period("month", date(2027, 1, 1), date(2027, 1, 31), 1),
            quarter=period("quarter", date(2027, 1, 1), date(2027, 3, 31), 3),
            undated_count=4000,
            undated_amount=Decimal(77_000_000),
            undated_unpriced=50,
            missing_rates=["CHF", "GBP"],
            stages=[
                StageProbability(
                    stage=s.stage, name=s.name, configured=s.probability, calibrated=None
                )
                for s in summaries
            ],
        ),
        window_start=now - timedelta(days=90),
        window_end=now,
        won_count=900,
        lost_count=2100,
        win_rate=0.3,
        avg_days_to_win=47.25,
        avg_won_amount=Decimal(1_097_393),
        bottleneck=Bottleneck(
            stage=f"s{stages - 1}",
            name=names[-1],
            median_days=51.5,
            stale_days=46,
            ratio=1.12,
            exits=400,
        ),
        stale_count=stale,
        stale=stale_deals,
    )


def test_fixture_week_digest_validates_and_reads_well(db: Database) -> None:
    build_week(db)
    message = build_digest(digest(db))
    assert_valid(message)
    assert message.text == (
        "Weekly pipeline: €40K open (€16.7K weighted), 1 won for €5K, 1 lost · "
        "forecast this month €13K"
    )
    main = all_text(message.blocks)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly pipeline · 20–27 Nov 2026", "emoji": True},
    }
    assert "€20.2K" in main  # the quarter's configured forecast
    assert "Bottleneck: Demo" in main
    assert "<@U0BOB>" in main  # Sleepy's owner, stale
    assert "no rate for GBP" in main
    [movement, stages] = message.thread
    assert "Competitor — went with Globex" in all_text(movement[1])
    assert "$10K (€5K)" in all_text(movement[1])
    assert "Conversion by stage" in all_text(stages[1])


def test_huge_team_digest_stays_within_limits() -> None:
    message = build_digest(huge_digest())
    assert_valid(message)
    main = all_text(message.blocks)
    assert "Weekly pipeline · 28 Dec 2026 – 4 Jan 2027" in main
    assert "and 495 more: `/deal list stale`" in main
    assert "&lt;Sons&gt;" in main
    assert "<Sons>" not in main
    texts = [all_text(blocks) for _, blocks in message.thread]
    assert any("and 490 more: `/deal list stale`" in t for t in texts)
    assert any("… and 290 more" in t for t in texts)  # won beyond the top 10


def test_escaping_that_overflows_the_stage_table_moves_it_to_the_thread() -> None:
    data = huge_digest()
    # Every character escapes to 4 or 5: 40 rows no longer fit one section.
    stages = [s.model_copy(update={"name": "<&>" * 26}) for s in data.stages]
    message = build_digest(data.model_copy(update={"stages": stages}))
    assert_valid(message)
    assert "more rows" in all_text(message.blocks)
    [table] = [b for text, b in message.thread if text.startswith("Conversion")]
    assert "Open pipeline by stage" in all_text(table)
    assert "more rows" not in all_text(table)


@pytest.mark.parametrize("stages", [1, 8, 40])
def test_any_number_of_stages_fits(stages: int) -> None:
    assert_valid(build_digest(huge_digest(stages=stages, stale=stages)))


def test_quiet_team_digest_validates(db: Database) -> None:
    Builder(db, "TQUIET").setup()
    with db.read_scope() as s:
        from pipeline.digest import collect_digest

        data = collect_digest(reports_in(s, "TQUIET"), now=NOW)
    message = build_digest(data)
    assert_valid(message)
    assert message.text == (
        "Weekly pipeline: €0 open (€0 weighted), 0 won, 0 lost · forecast this month €0"
    )
    assert message.thread[0][0] == "Conversion by stage over the last 90 days"
    assert "No stale deals" in all_text(message.blocks)


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_chart_is_a_1200_by_600_png(db: Database) -> None:
    build_week(db)
    assert png_size(render_digest_chart(digest(db))) == (1200, 600)


@pytest.mark.parametrize("stages", [1, 40])
def test_chart_renders_huge_and_tiny_pipelines(stages: int) -> None:
    assert png_size(render_digest_chart(huge_digest(stages=stages))) == (1200, 600)


def test_chart_renders_an_empty_pipeline(db: Database) -> None:
    Builder(db, "TQUIET").setup()
    with db.read_scope() as s:
        from pipeline.digest import collect_digest

        data = collect_digest(reports_in(s, "TQUIET"), now=datetime(2026, 11, 27, tzinfo=UTC))
    assert png_size(render_digest_chart(data)) == (1200, 600)
