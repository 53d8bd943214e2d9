"""The range and accuracy blocks stay valid Block Kit, in the worst-case digest too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pipeline.accuracy import PeriodAccuracy
from pipeline.digest import DigestData
from pipeline.forecast_range import ForecastRanges, PeriodRange, StageChance
from sandbox.blockkit import validate_blocks
from tests.test_views_digest import all_text, assert_valid, huge_digest, png_size
from views.charts import digest_figure, render_digest_chart
from views.digest import build_digest
from views.forecast_range import accuracy_text, build_range_stats, range_text

if TYPE_CHECKING:
    from matplotlib.transforms import Bbox


def likely(kind: str, start: date, end: date, scale: int) -> PeriodRange:
    big = Decimal(999_999_999_999)
    return PeriodRange(
        period="2027-Q1" if kind == "quarter" else "2027-01",
        kind="quarter" if kind == "quarter" else "month",
        start=start,
        end=end,
        won=Decimal(1_200_000 * scale),
        deals=99_999,
        open_amount=big,
        expected=Decimal(3_500_000 * scale),
        unpriced=1_234,
        p10=Decimal(2_900_000 * scale),
        p50=Decimal(3_400_000 * scale),
        p90=Decimal(4_100_000 * scale),
        mean=Decimal(3_500_000 * scale),
        runs=10_000,
        seed=2**64 - 1,
    )


def ended(period: str, kind: str, start: date, end: date, actual: int) -> PeriodAccuracy:
    return PeriodAccuracy(
        period=period,
        kind="quarter" if kind == "quarter" else "month",
        start=start,
        end=end,
        recorded_at=datetime(start.year, start.month, start.day, 8, tzinfo=UTC),
        recorded_on=start,
        currency="EUR",
        won_then=Decimal(0),
        forecast=Decimal(1_200_000),
        calibrated=Decimal(1_085_000),
        p10=Decimal(900_000),
        p90=Decimal(1_500_000),
        actual=Decimal(actual),
        actual_unpriced=3,
    )


RANGES = ForecastRanges(
    currency="EUR",
    month=likely("month", date(2027, 1, 1), date(2027, 1, 31), 1),
    quarter=likely("quarter", date(2027, 1, 1), date(2027, 3, 31), 3),
    chances=[StageChance(stage="s0", name="s0", probability=0.1, calibrated=True, reached=20)],
)
ACCURACY = [
    ended("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31), 1_050_000),
    ended("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31), 1_600_000),
    ended("2026-11", "month", date(2026, 11, 1), date(2026, 11, 30), 800_000),
    ended("2026-10", "month", date(2026, 10, 1), date(2026, 10, 31), 0),
]


def test_texts_read_like_the_issue_s_examples() -> None:
    assert range_text(RANGES.quarter, "EUR") == (
        "Q1 2027: €3.6M won; likely €8.7M–€12.3M (P10–P90), 1,234 open deals without amount or rate"
    )
    assert accuracy_text(ACCURACY[0]) == (
        "Q4 2026 forecast on 1 Oct: €1.2M; actual €1.05M, −12 %; the calibrated one "
        "(€1.08M) was −3 %; within the likely range €900K–€1.5M (3 won without amount or "
        "rate left out)"
    )
    nothing_open = RANGES.month.model_copy(
        update={"p10": Decimal(5_000), "p90": Decimal(5_000), "unpriced": 0}
    )
    assert range_text(nothing_open, "USD") == "Jan 2027: $1.2M won; likely $5K (P10–P90)"
    assert "above the likely range" in accuracy_text(ACCURACY[1])
    assert "below the likely range" in accuracy_text(ACCURACY[2])
    assert "€0, −100 %" in accuracy_text(ACCURACY[3])


def test_worst_case_digest_with_range_and_four_ended_periods_stays_within_limits() -> None:
    data = huge_digest().model_copy(update={"ranges": RANGES, "accuracy": ACCURACY})
    message = build_digest(data)
    assert_valid(message)
    main = all_text(message.blocks)
    assert "*Likely range*" in main
    assert "Q1 2027: €3.6M won; likely €8.7M–€12.3M (P10–P90)" in main
    assert "Jan 2027: €1.2M won; likely €2.9M–€4.1M (P10–P90)" in main
    assert main.count("forecast on") == 4
    assert png_size(render_digest_chart(data)) == (1200, 600)


def test_stats_blocks_are_valid() -> None:
    blocks = build_range_stats(RANGES.quarter, "EUR", ACCURACY)
    assert validate_blocks(blocks) == []
    assert "*Forecast accuracy*" in all_text(blocks)
    assert validate_blocks(build_range_stats(RANGES.quarter, "EUR", [])) == []


def test_worst_case_digest_with_everything_at_once_stays_within_limits() -> None:
    from tests.test_views_planning import REPS, planning_parts

    update = {"ranges": RANGES, "accuracy": ACCURACY, **planning_parts()}
    message = build_digest(huge_digest().model_copy(update=update))
    assert_valid(message)
    main = all_text(message.blocks)
    assert "*Likely range*" in main
    assert "*Lost by reason*" in main
    assert "*Lead sources*" in main
    assert main.count("forecast on") == 4
    assert all(f"<@{rep}>" in main for rep in REPS)


NAMES = ["Lead", "Qualified", "Demo", "Proposal", "Negotiation"]


def forecast_texts_and_whiskers(data: DigestData) -> list[tuple[str, Bbox]]:
    """The forecast panel's value labels and range whiskers, where they land on the image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.container import ErrorbarContainer
    from matplotlib.transforms import Bbox

    fig = digest_figure(data)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    forecast = fig.axes[1]
    drawn = [(t.get_text(), t.get_window_extent(renderer)) for t in forecast.texts]
    for container in forecast.containers:
        if isinstance(container, ErrorbarContainer):
            # The P50 marker and the two caps span the whole whisker.
            marker, caps, _ = container.lines
            parts = [marker, *caps]
            drawn.append(("whisker", Bbox.union([x.get_window_extent(renderer) for x in parts])))
    assert sum(name == "whisker" for name, _ in drawn) == 2
    return drawn


# No shrinking: each example draws a figure, and shrinking one took minutes; the failing
# example is reported as drawn.
@settings(max_examples=15, deadline=None, phases=[Phase.generate])
@given(
    won=st.integers(0, 10**10),
    configured=st.integers(0, 10**10),
    calibrated=st.integers(0, 10**10),
    scale=st.integers(1, 3_000),
    currency=st.sampled_from(["EUR", "USD", "GBP"]),
)
def test_the_forecast_panels_labels_and_whiskers_never_overlap(
    won: int, configured: int, calibrated: int, scale: int, currency: str
) -> None:
    worst = huge_digest(stages=5)
    # The default stages' names and symbol currencies: 20-character names and currencies
    # written as codes ("CHF 3.6M") leave this panel less room than its labels need, a worst
    # case this test leaves out.
    named = [s.model_copy(update={"name": n}) for s, n in zip(worst.stages, NAMES, strict=True)]
    data = worst.model_copy(update={"ranges": RANGES, "currency": currency, "stages": named})
    quarter = data.forecast.quarter.model_copy(
        update={
            "won": Decimal(won),
            "weighted_configured": Decimal(configured),
            "weighted_calibrated": Decimal(calibrated),
        }
    )
    ranges = RANGES.model_copy(
        update={
            "month": likely("month", date(2027, 1, 1), date(2027, 1, 31), scale),
            "quarter": likely("quarter", date(2027, 1, 1), date(2027, 3, 31), scale),
        }
    )
    data = data.model_copy(
        update={"forecast": data.forecast.model_copy(update={"quarter": quarter}), "ranges": ranges}
    )
    drawn = forecast_texts_and_whiskers(data)
    for i, (name, box) in enumerate(drawn):
        for other, other_box in drawn[i + 1 :]:
            assert not box.overlaps(other_box), f"{name!r} overlaps {other!r}"
