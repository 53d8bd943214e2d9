"""The weekly digest message: a one-screen summary, with the long lists in its thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from pipeline.digest import ClosedDeals, DigestData, PushedDeals, StaleDeal
from pipeline.forecast import PeriodForecast
from pipeline.money import Money, format_compact
from views import forecast_range
from views.charts import week_range
from views.common import MAX_HEADER, MAX_MESSAGE_BLOCKS, MAX_SECTION, Blocks, clip, dump, esc
from views.common import user as mention
from views.planning import digest_planning
from views.tables import cell, code_sections, table_lines

INLINE = 3  # deals named in the main message per list; the thread has the rest
STALE_INLINE = 5
NAME = 60  # characters of a deal name in a list line
INLINE_NAME = 40  # characters of a deal name in the main message's summary lines
STAGE_CELL = 18  # characters of a stage name in a table
LINE = 1000  # no single list line may crowd out the others in a section
MAX_CONTEXT = 3000


@dataclass(frozen=True)
class DigestMessage:
    """The digest post: fallback text, the main message's blocks, and thread replies."""

    text: str
    blocks: Blocks
    thread: list[tuple[str, Blocks]]


def _money(amount: Decimal, currency: str) -> str:
    return format_compact(Money(amount, currency))


def _deal_money(amount: Decimal | None, currency: str) -> str:
    return "no amount" if amount is None else _money(amount, currency)


def _week_change(amount: Decimal, currency: str) -> str:
    if amount == 0:
        return "unchanged on the week"
    return f"{_change(amount, currency)} on the week"


def _change(amount: Decimal, currency: str) -> str:
    if amount == 0:
        return "—"
    sign = "+" if amount > 0 else "−"
    return sign + _money(abs(amount), currency)


def _count_change(n: int) -> str:
    return "—" if n == 0 else f"{n:+d}".replace("-", "−")


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else word + 's'}"


def _day(d: date) -> str:
    return f"{d.day} {d:%b}"


def _period(p: PeriodForecast) -> str:
    if p.period == "month":
        return f"{p.start:%b %Y}"
    return f"Q{(p.start.month - 1) // 3 + 1} {p.start.year}"


def _title(number: int, name: str, limit: int = NAME) -> str:
    return f"#{number} {esc(clip(name, limit))}"


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(esc(clip(n, 40)) for n in names[:limit])
    rest = len(names) - limit
    return shown + (f" and {rest} more" if rest > 0 else "")


def _context(parts: Sequence[str]) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(parts), MAX_CONTEXT))])


def _packed(lines: Sequence[str], *, title: str, max_blocks: int) -> list[Block]:
    """mrkdwn lines in as few sections as fit, each under Slack's 3000 characters."""
    reserve = 40  # room for an "… and N more" line
    chunks: list[list[str]] = [[title]]
    size = len(title)
    for line in (clip(x, LINE) for x in lines):
        if size + 1 + len(line) > MAX_SECTION - reserve:
            chunks.append([])
            size = -1
        chunks[-1].append(line)
        size += 1 + len(line)
    shown = chunks[:max_blocks]
    hidden = sum(len(c) for c in chunks[max_blocks:])
    if hidden:
        shown[-1].append(f"… and {hidden} more")
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(c))) for c in shown if c]


# --- main message --------------------------------------------------------------------


def _fields(data: DigestData) -> list[MarkdownTextObject]:
    cur = data.currency
    f = data.forecast
    won = data.won
    lost = data.lost
    return [
        MarkdownTextObject(
            text=f"*Open pipeline*\n{_money(data.open.amount, cur)} · "
            f"{_plural(data.open.count, 'deal')}\n"
            f"{_week_change(data.open.amount - data.open_before.amount, cur)}"
        ),
        MarkdownTextObject(
            text=f"*Weighted*\n{_money(data.open.weighted, cur)}\n"
            f"{_week_change(data.open.weighted - data.open_before.weighted, cur)}"
        ),
        MarkdownTextObject(
            text=f"*Won this week*\n{_plural(won.count, 'deal')} · {_money(won.amount, cur)}"
        ),
        MarkdownTextObject(
            text=f"*Lost this week*\n{_plural(lost.count, 'deal')} · {_money(lost.amount, cur)}"
        ),
        MarkdownTextObject(
            text=f"*Forecast {_period(f.month)}*\n{_money(f.month.forecast_configured, cur)}"
            f"\ncalibrated {_money(f.month.forecast_calibrated, cur)}"
        ),
        MarkdownTextObject(
            text=f"*Forecast {_period(f.quarter)}*\n{_money(f.quarter.forecast_configured, cur)}"
            f"\ncalibrated {_money(f.quarter.forecast_calibrated, cur)}"
        ),
    ]


def _money_note(data: DigestData) -> str:
    parts = [f"Amounts in {data.currency}"]
    if data.unpriced:
        parts.append(f"{_plural(data.unpriced, 'open deal')} left out of the amounts")
    if data.missing_rates:
        codes = _names(data.missing_rates)
        parts.append(
            f"no rate for {codes}: `/deal config rate {esc(data.missing_rates[0])} <rate>`"
        )
    return " · ".join(parts)


def _stage_table(data: DigestData) -> list[str]:
    cur = data.currency
    rows = [
        [
            cell(s.name, STAGE_CELL),
            str(s.count),
            _money(s.amount, cur),
            _money(s.weighted, cur),
            _count_change(s.count_change),
            _change(s.amount_change, cur),
        ]
        for s in data.stages
    ]
    return table_lines(
        ["Stage", "Deals", "Amount", "Weighted", "Δ", "Δ amount"], rows, align="lrrrrr"
    )


def _week_lines(data: DigestData) -> list[str]:
    cur = data.currency
    new = data.new
    new_line = f":sparkles: {_plural(new.count, 'new deal')}"
    if new.count:
        new_line += f" · {_money(new.amount, cur)}"
        if new.unpriced:
            new_line += f" (+{new.unpriced} without amount or rate)"
    lines = [new_line, f":arrow_forward: {_plural(data.advances, 'stage advance')}"]
    won, lost = data.won.deals, data.lost.deals
    lines.append(
        _inline(
            f":trophy: {data.won.count:,} won · {_money(data.won.amount, cur)}",
            [
                f"{_title(w.number, w.name, INLINE_NAME)} {_deal_money(w.amount, w.currency)}"
                for w in won
            ],
            data.won.count,
        )
    )
    lines.append(
        _inline(
            f":x: {data.lost.count:,} lost · {_money(data.lost.amount, cur)}",
            [
                f"{_title(x.number, x.name, INLINE_NAME)} at {esc(clip(x.stage_name, 40))}"
                for x in lost
            ],
            data.lost.count,
        )
    )
    lines.append(
        _inline(
            f":calendar: {_plural(data.pushed.count, 'close date')} pushed",
            [
                f"{_title(p.number, p.name, INLINE_NAME)} {_day(p.old_date)} → "
                + (_day(p.close_date) if p.close_date else "no date")
                for p in data.pushed.deals
            ],
            data.pushed.count,
        )
    )
    return [f"• {line}" for line in lines]


def _inline(head: str, items: list[str], total: int) -> str:
    if not items:
        return head
    more = total - min(INLINE, len(items))
    tail = f" and {more} more" if more > 0 else ""
    return f"{head}: {', '.join(items[:INLINE])}{tail}"


def _forecast_table(data: DigestData) -> list[str]:
    cur = data.currency
    rows = [
        [
            _period(p),
            _money(p.won, cur),
            _money(p.weighted_configured, cur),
            _money(p.forecast_configured, cur),
            _money(p.forecast_calibrated, cur),
        ]
        for p in (data.forecast.month, data.forecast.quarter)
    ]
    return table_lines(
        ["Period", "Won", "Open, weighted", "Forecast", "Calibrated"], rows, align="lrrrr"
    )


def _forecast_notes(data: DigestData) -> list[str]:
    f = data.forecast
    cur = data.currency
    notes = [
        "Forecast = won + open deals closing in the period × stage probability; "
        "calibrated uses each stage's win rate over the last 90 days"
    ]
    if f.month.overdue_count:
        notes.append(
            f"{_plural(f.month.overdue_count, 'deal')} past the close date counted in "
            f"{_period(f.month)}"
        )
    if f.undated_count:
        notes.append(
            f"{_plural(f.undated_count, 'open deal')} with no close date "
            f"({_money(f.undated_amount, cur)}) not included"
        )
    fallback = [s.name for s in f.stages if s.stage in set(f.quarter.fallback_stages)]
    if fallback:
        notes.append(
            f"no closed deals yet from {_names(fallback)}: calibrated uses the configured "
            "probability there"
        )
    if f.quarter.unpriced:
        notes.append(f"{_plural(f.quarter.unpriced, 'deal')} without amount or rate left out")
    return notes


def _attention(data: DigestData) -> list[Block]:
    lines = []
    b = data.bottleneck
    if b is not None:
        lines.append(
            f":construction: *Bottleneck: {esc(clip(b.name, 80))}* · deals spend a median "
            f"{_days(b.median_days)} days there, {b.ratio:.1f}× its {b.stale_days}-day stale "
            f"threshold ({_plural(b.exits, 'exit')} in the last 90 days)"
        )
    if data.stale_count:
        lines.append(
            f":hourglass: *{_plural(data.stale_count, 'stale deal')}* "
            f"(quiet past their stage's threshold), oldest first:"
        )
        lines += [f"• {_stale_line(s)}" for s in data.stale[:STALE_INLINE]]
        rest = data.stale_count - min(STALE_INLINE, len(data.stale))
        if rest:
            lines.append(f"… and {rest} more: `/deal list stale`")
    else:
        lines.append(":white_check_mark: No stale deals.")
    return _packed(lines, title="*Needs attention*", max_blocks=2)


def _stale_line(s: StaleDeal) -> str:
    return (
        f"{_title(s.number, s.name)} · {mention(s.owner_id)} · {esc(clip(s.stage_name, 40))} · "
        f"{_deal_money(s.amount, s.currency)} · quiet {_plural(s.days_quiet, 'day')}"
    )


def _footer(data: DigestData) -> str:
    cur = data.currency
    parts = [
        f"Last 90 days: win rate {_pct(data.win_rate)} "
        f"({data.won_count:,} won, {data.lost_count:,} lost)"
    ]
    if data.avg_days_to_win is not None:
        parts.append(f"{_days(data.avg_days_to_win)} days to win on average")
    if data.avg_won_amount is not None:
        parts.append(f"average won deal {_money(data.avg_won_amount, cur)}")
    return " · ".join(parts)


# --- thread replies ------------------------------------------------------------------


def _closed_lines(closed: ClosedDeals, currency: str, *, won: bool) -> list[str]:
    lines = []
    for i, x in enumerate(closed.deals, start=1):
        amount = _deal_money(x.amount, x.currency)
        if x.converted is not None and x.currency != currency:
            amount += f" ({_money(x.converted, currency)})"
        line = f"{i}. {_title(x.number, x.name)} · {amount} · {mention(x.owner_id)}"
        stage = esc(clip(x.stage_name, 40))
        if won:
            line += f" · from {stage}"
        else:
            line += f" · at {stage}"
            if x.reason:
                line += f": _{esc(clip(' '.join(x.reason.split()), 200))}_"
        lines.append(line)
    rest = closed.count - len(closed.deals)
    if rest > 0:
        lines.append(f"… and {rest} more")
    return lines


def _pushed_lines(pushed: PushedDeals) -> list[str]:
    lines = []
    for p in pushed.deals:
        new = _day(p.close_date) if p.close_date else "no date"
        times = f" ({p.pushes}×)" if p.pushes > 1 else ""
        lines.append(
            f"• {_title(p.number, p.name)} · {_deal_money(p.amount, p.currency)} · "
            f"{_day(p.old_date)} → {new}{times} · {mention(p.owner_id)}"
        )
    rest = pushed.count - len(pushed.deals)
    if rest > 0:
        lines.append(f"… and {rest} more")
    return lines


def _movement_reply(data: DigestData) -> tuple[str, Blocks] | None:
    cur = data.currency
    won, lost, pushed = data.won, data.lost, data.pushed
    if not (won.count or lost.count or pushed.count):
        return None
    blocks: list[Block] = []
    if won.count:
        title = f"*:trophy: Won: {_plural(won.count, 'deal')}, {_money(won.amount, cur)}*"
        blocks += _packed(_closed_lines(won, cur, won=True), title=title, max_blocks=4)
    if lost.count:
        title = f"*:x: Lost: {_plural(lost.count, 'deal')}, {_money(lost.amount, cur)}*"
        blocks += _packed(_closed_lines(lost, cur, won=False), title=title, max_blocks=4)
    if pushed.count:
        title = f"*:calendar: Close dates pushed: {_plural(pushed.count, 'deal')}*"
        blocks += _packed(_pushed_lines(pushed), title=title, max_blocks=4)
    text = (
        f"Won and lost this week: {won.count:,} won for {_money(won.amount, cur)}, "
        f"{lost.count:,} lost for {_money(lost.amount, cur)}, "
        f"{_plural(pushed.count, 'close date')} pushed"
    )
    return text, dump(blocks)


def _stages_reply(data: DigestData, *, with_pipeline: bool) -> tuple[str, Blocks] | None:
    if not data.stages:
        return None
    blocks: list[Block] = []
    if with_pipeline:
        blocks += code_sections(_stage_table(data), title="*Open pipeline by stage*", max_blocks=20)
    rows = [
        [
            cell(s.name, STAGE_CELL),
            str(s.reached),
            _pct(s.conversion_rate),
            _pct(s.loss_rate),
            _pct(s.win_rate_from),
            _days(s.median_days),
            str(s.stale_days),
        ]
        for s in data.stages
    ]
    lines = table_lines(
        ["Stage", "Reached", "Conv", "Loss", "Win from", "Median d", "Stale d"],
        rows,
        align="lrrrrrr",
    )
    blocks += code_sections(
        lines, title="*Conversion by stage* (deals closed in the last 90 days)", max_blocks=20
    )
    blocks.append(
        _context(
            [
                "Reached: closed deals that got to the stage",
                "Conv: went on to the next stage",
                "Loss: lost there",
                "Win from: won in the end",
                "Median d: median days spent there",
            ]
        )
    )
    return "Conversion by stage over the last 90 days", dump(blocks)


def _stale_reply(data: DigestData) -> tuple[str, Blocks] | None:
    if len(data.stale) <= STALE_INLINE:
        return None
    lines = [
        f"{i}. {_stale_line(s)} · last activity {_day(s.last_activity_at.date())}"
        for i, s in enumerate(data.stale, start=1)
    ]
    rest = data.stale_count - len(data.stale)
    if rest > 0:
        lines.append(f"… and {rest} more: `/deal list stale`")
    title = f"*:hourglass: Stale deals, oldest activity first ({data.stale_count})*"
    text = f"Stale deals: {_plural(data.stale_count, 'deal')} quiet past their stage's threshold"
    return text, dump(_packed(lines, title=title, max_blocks=10))


def _fallback_text(data: DigestData) -> str:
    cur = data.currency
    won = f"{data.won.count:,} won"
    if data.won.amount:
        won += f" for {_money(data.won.amount, cur)}"
    return (
        f"Weekly pipeline: {_money(data.open.amount, cur)} open "
        f"({_money(data.open.weighted, cur)} weighted), {won}, {data.lost.count:,} lost · "
        f"forecast this month {_money(data.forecast.month.forecast_configured, cur)}"
    )


def build_digest(data: DigestData) -> DigestMessage:
    """The weekly digest: summary, by-stage table, week, forecast, attention; lists in thread."""
    stage_lines = _stage_table(data)
    stage_blocks = code_sections(stage_lines, title="*Open pipeline by stage*", max_blocks=1)
    pipeline_clipped = len(code_sections(stage_lines, max_blocks=MAX_MESSAGE_BLOCKS)) > 1
    header = f"Weekly pipeline · {week_range(data.first_day, data.last_day)}"
    planning_blocks, planning_reply = digest_planning(
        data.targets, data.losses, data.by_source, data.lost_reasons, data.currency
    )
    blocks: list[Block] = [
        HeaderBlock(text=clip(header, MAX_HEADER)),
        SectionBlock(fields=_fields(data)),
        _context([_money_note(data)]),
        DividerBlock(),
        *stage_blocks,
        SectionBlock(
            text=MarkdownTextObject(
                text=clip("*This week*\n" + "\n".join(_week_lines(data)), MAX_SECTION)
            )
        ),
        *code_sections(_forecast_table(data), title="*Forecast*", max_blocks=1),
        _context(_forecast_notes(data)),
        *(forecast_range.range_blocks(data.ranges) if data.ranges else []),
        *forecast_range.accuracy_blocks(data.accuracy),
        *planning_blocks,
        *_attention(data),
    ]
    thread = [
        reply
        for reply in (
            _movement_reply(data),
            _stale_reply(data),
            _stages_reply(data, with_pipeline=pipeline_clipped),
            planning_reply,
        )
        if reply is not None
    ]
    footer = _footer(data)
    if thread:
        footer += " · Details in the thread"
    blocks.append(_context([footer]))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return DigestMessage(text=_fallback_text(data), blocks=dump(blocks), thread=thread)
