"""Reports: the open pipeline by stage and the win-rate, funnel and cycle-time stats."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from pipeline.metrics import Metrics
from pipeline.money import Money, format_money
from pipeline.planning import LostReason, default_reasons
from views.common import MAX_HEADER, Blocks, clip, dump, esc, when
from views.planning import stats_sections
from views.tables import cell, code_sections, table_lines

NAME_WIDTH = 24
# A calibrated win rate this far from the configured probability is worth a look...
CALIBRATION_GAP = 0.15
# ...once enough deals back it.
CALIBRATION_MIN = 5


def whole(amount: Decimal, currency: str) -> str:
    """An amount rounded to whole units, for tables and summaries."""
    return format_money(Money(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP), currency))


def pct(value: float | None) -> str:
    """A ratio as a whole percentage, or a dash."""
    return "—" if value is None else f"{value * 100:.0f}%"


def days(value: float | None) -> str:
    """A number of days, or a dash."""
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def plural(count: int, word: str) -> str:
    """`1 deal`, `3 deals`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def unpriced_note(metrics: Metrics) -> str | None:
    """Why some open deals are missing from the amounts, and the fix."""
    if not metrics.unpriced:
        return None
    return (
        f":warning: {plural(metrics.unpriced, 'open deal')} "
        f"{'is' if metrics.unpriced == 1 else 'are'} in a currency with no rate to "
        f"{metrics.currency} and left out of the amounts: add one with "
        f"`/deal config rate EUR 1.08`."
    )


def pipeline_lines(metrics: Metrics, *, name_width: int = NAME_WIDTH) -> list[str]:
    """The open pipeline by stage as table lines (header first, total last)."""
    cur = metrics.currency
    rows = [
        [
            cell(s.name, name_width),
            f"{s.probability}%",
            str(s.count),
            whole(s.amount, cur),
            whole(s.weighted, cur),
        ]
        for s in metrics.by_stage
    ]
    total = metrics.open
    rows.append(
        ["Total", "", str(total.count), whole(total.amount, cur), whole(total.weighted, cur)]
    )
    return table_lines(["Stage", "Win", "Deals", "Amount", "Weighted"], rows, align="lrrrr")


def pipeline_text(metrics: Metrics) -> str:
    """The plain-text fallback of the pipeline report."""
    cur, total = metrics.currency, metrics.open
    return (
        f"Open pipeline: {plural(total.count, 'deal')}, {whole(total.amount, cur)} "
        f"({whole(total.weighted, cur)} weighted)"
    )


def build_pipeline(metrics: Metrics) -> Blocks:
    """The open pipeline by stage: count, amount and weighted amount, with totals."""
    cur, total = metrics.currency, metrics.open
    blocks: list[Block] = [
        HeaderBlock(text="Open pipeline"),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Open deals*\n{total.count}"),
                MarkdownTextObject(text=f"*Amount*\n{whole(total.amount, cur)}"),
                MarkdownTextObject(text=f"*Weighted*\n{whole(total.weighted, cur)}"),
            ]
        ),
    ]
    if metrics.by_stage:
        blocks.extend(code_sections(pipeline_lines(metrics), max_blocks=8))
    notes = [f"Amounts in {cur}; weighted = amount × the stage's win probability."]
    note = unpriced_note(metrics)
    if note:
        notes.append(note)
    notes.append("`/deal list <stage>` shows a stage's deals · `/deal stats` for win rates.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" ".join(notes), 2900))]))
    return dump(blocks)


def _calibration(win_from: float | None, probability: int | None, reached: int) -> str:
    if win_from is None or probability is None or reached < CALIBRATION_MIN:
        return ""
    gap = win_from - probability / 100
    if gap >= CALIBRATION_GAP:
        return "↑"
    if gap <= -CALIBRATION_GAP:
        return "↓"
    return ""


def funnel_lines(metrics: Metrics, *, name_width: int = NAME_WIDTH) -> list[str]:
    """The funnel as table lines: reached, conversion, loss and calibrated win rate per stage."""
    configured = {s.stage: s.probability for s in metrics.by_stage}
    rows = []
    for step in metrics.funnel:
        probability = configured.get(step.stage)
        rows.append(
            [
                cell(step.name, name_width),
                str(step.reached),
                pct(step.conversion_rate),
                pct(step.loss_rate),
                pct(step.win_rate_from),
                "—" if probability is None else f"{probability}%",
                _calibration(step.win_rate_from, probability, step.reached),
            ]
        )
    return table_lines(
        ["Stage", "Reached", "Conv", "Loss", "Win from", "Set", ""], rows, align="lrrrrrl"
    )


def duration_lines(metrics: Metrics, *, name_width: int = NAME_WIDTH) -> list[str]:
    """Days spent in each stage (median, mean) over the exits in the window."""
    rows = [
        [cell(d.name, name_width), days(d.median), days(d.mean), str(d.exits)]
        for d in metrics.days_in_stage
    ]
    return table_lines(["Stage", "Median", "Mean", "Exits"], rows, align="lrrr")


def stats_text(metrics: Metrics, label: str) -> str:
    """The plain-text fallback of the stats report."""
    if not metrics.won_count + metrics.lost_count:
        return f"Stats, {label}: no deal closed."
    text = (
        f"Stats, {label}: win rate {pct(metrics.win_rate)} "
        f"({metrics.won_count} won, {metrics.lost_count} lost)"
    )
    if metrics.avg_won_amount is not None:
        text += f", average won {whole(metrics.avg_won_amount, metrics.currency)}"
    if metrics.median_days_to_win is not None:
        text += f", median {days(metrics.median_days_to_win)} days to win"
    return text + "."


def build_stats(
    metrics: Metrics, label: str, reasons: Sequence[LostReason] | None = None
) -> Blocks:
    """Win rate, funnel with calibration, days to win, average won value and days in stage."""
    cur = metrics.currency
    closed = metrics.won_count + metrics.lost_count
    win = (
        f"{pct(metrics.win_rate)} ({metrics.won_count} won · {metrics.lost_count} lost)"
        if closed
        else "— (no deal closed)"
    )
    to_win = (
        f"median {days(metrics.median_days_to_win)} · mean {days(metrics.avg_days_to_win)}"
        if metrics.median_days_to_win is not None
        else "—"
    )
    average = "—" if metrics.avg_won_amount is None else whole(metrics.avg_won_amount, cur)
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"Stats · {label}", MAX_HEADER)),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Win rate*\n{win}"),
                MarkdownTextObject(text=f"*Average won deal*\n{average}"),
                MarkdownTextObject(text=f"*Days to win*\n{to_win}"),
                MarkdownTextObject(
                    text=f"*Open pipeline*\n{plural(metrics.open.count, 'deal')} · "
                    f"{whole(metrics.open.amount, cur)} "
                    f"({whole(metrics.open.weighted, cur)} weighted)"
                ),
            ]
        ),
    ]
    if closed and metrics.funnel:
        blocks.extend(
            code_sections(
                funnel_lines(metrics),
                title="*Funnel* · closed deals of the window, by the furthest stage reached",
                max_blocks=6,
            )
        )
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="*Conv*: share that moved past the stage · *Loss*: share lost "
                        "there · *Win from*: share won after reaching it, next to the "
                        f"probability *Set* for the stage (↑↓: {CALIBRATION_GAP:.0%} apart, "
                        f"{CALIBRATION_MIN}+ deals). Adjust with "
                        "`/deal stages set <stage> <probability>% <days>d`."
                    )
                ]
            )
        )
    else:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="*Funnel*\nNo deal was won or lost in this window, so there is no "
                    "funnel yet. Try a longer one: `/deal stats year`."
                )
            )
        )
    if any(d.exits for d in metrics.days_in_stage):
        blocks.extend(
            code_sections(
                duration_lines(metrics),
                title="*Days in stage* · deals that left a stage in the window",
                max_blocks=6,
            )
        )
    blocks.extend(stats_sections(metrics, default_reasons() if reasons is None else reasons))
    notes = [
        f"{esc(label)}: {when(metrics.start)} – {when(metrics.end)} · amounts in {cur}",
    ]
    note = unpriced_note(metrics)
    if note:
        notes.append(note)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(notes), 2900))]))
    return dump(blocks)
