"""The forecast range and forecast accuracy, as lines and blocks for the digest and stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from pipeline.accuracy import PeriodAccuracy
from pipeline.forecast import Period
from pipeline.forecast_range import MIN_REACHED, ForecastRanges, PeriodRange
from pipeline.money import Money, format_compact
from views.common import MAX_SECTION, Blocks, clip, dump

RANGE_NOTE = (
    "Likely range: {runs:,} simulated outcomes of the open deals closing in the period, each "
    "winning with its stage's win rate over the last 90 days (the configured probability where "
    f"fewer than {MIN_REACHED} closed deals reached the stage); 8 in 10 land between P10 and P90"
)


def period_name(kind: Period, start: date) -> str:
    """`Q4 2026` or `Nov 2026`."""
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%b %Y}"


def _money(amount: Decimal, currency: str, digits: int = 1) -> str:
    return format_compact(Money(amount, currency), digits=digits)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.0f} %".replace("-", "−")


def _span(low: Decimal, high: Decimal, currency: str, digits: int = 1) -> str:
    """`€590K–€720K`, or one amount where both read the same."""
    a, b = _money(low, currency, digits), _money(high, currency, digits)
    return a if a == b else f"{a}–{b}"


def range_text(r: PeriodRange, currency: str) -> str:
    """`Q1 2027: €410K won; likely €590K–€720K (P10–P90)`."""
    text = (
        f"{period_name(r.kind, r.start)}: {_money(r.won, currency)} won; likely "
        f"{_span(r.p10, r.p90, currency)} (P10–P90)"
    )
    if r.unpriced:
        text += f", {r.unpriced:,} open deal{'s' if r.unpriced != 1 else ''} without amount or rate"
    return text


def range_blocks(ranges: ForecastRanges, *, month: bool = True) -> list[Block]:
    """The likely range of the quarter (and the month): a section and its note."""
    cur = ranges.currency
    shown = [ranges.quarter, ranges.month] if month else [ranges.quarter]
    lines = [f"• {range_text(r, cur)}" for r in shown]
    note = RANGE_NOTE.format(runs=ranges.quarter.runs)
    return [
        SectionBlock(
            text=MarkdownTextObject(text=clip("*Likely range*\n" + "\n".join(lines), MAX_SECTION))
        ),
        ContextBlock(elements=[MarkdownTextObject(text=note)]),
    ]


def _where(a: PeriodAccuracy) -> str:
    if a.actual < a.p10:
        return "below the likely range"
    if a.actual > a.p90:
        return "above the likely range"
    return "within the likely range"


def accuracy_text(a: PeriodAccuracy) -> str:
    """`Q4 2026 forecast on 1 Oct: €1.2M; actual €1.05M, −12 %; the calibrated one was −3 %`."""
    cur = a.currency
    text = (
        f"{period_name(a.kind, a.start)} forecast on {a.recorded_on.day} {a.recorded_on:%b}: "
        f"{_money(a.forecast, cur, 2)}; actual {_money(a.actual, cur, 2)}, {_pct(a.error)}; "
        f"the calibrated one ({_money(a.calibrated, cur, 2)}) was {_pct(a.calibrated_error)}; "
        f"{_where(a)} {_span(a.p10, a.p90, cur, 2)}"
    )
    if a.actual_unpriced:
        text += f" ({a.actual_unpriced} won without amount or rate left out)"
    return text


def accuracy_blocks(rows: Sequence[PeriodAccuracy]) -> list[Block]:
    """How the forecasts made at each ended period's start compare with what was won."""
    if not rows:
        return []
    lines = [f"• {accuracy_text(a)}" for a in rows]
    note = (
        "The forecast recorded by the first digest of the period beside the revenue won in "
        "it; −12 % means the result came in 12 % under the forecast"
    )
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=clip("*Forecast accuracy*\n" + "\n".join(lines), MAX_SECTION)
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text=note)]),
    ]


def build_range_stats(r: PeriodRange, currency: str, ended: Sequence[PeriodAccuracy]) -> Blocks:
    """`/deal stats`' forecast part: this quarter's likely range and the last ended periods."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=f"*Likely range this quarter*\n{range_text(r, currency)}")
        ),
        ContextBlock(elements=[MarkdownTextObject(text=RANGE_NOTE.format(runs=r.runs))]),
        *accuracy_blocks(ended),
    ]
    return dump(blocks)
