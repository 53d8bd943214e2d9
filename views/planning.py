"""Planning views: targets and attainment, losses by reason, lead sources compared.

Shared by `/deal target`, `/deal stats`, the App Home and the weekly digest; each section is
a few blocks whatever the team's size: rows are packed into sections of up to 3,000
characters and, past a cap, counted rather than shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from pipeline.metrics import Metrics
from pipeline.money import Money, format_compact
from pipeline.planning import LostReason, TargetOut, reason_name
from pipeline.planning_metrics import ReasonStats, SourceStats, TargetStats
from views.common import MAX_SECTION, Blocks, clip, dump, esc, user
from views.ids import Action
from views.tables import cell, code_sections, table_lines

NAME_WIDTH = 18
TARGET_HELP = (
    "`/deal target 500k 2027-Q1` (the team) · `/deal target @alice 120k 2027-Q1` (a rep) · "
    "`/deal target clear @alice 2027-Q1` (admins only)"
)


def compact(amount: Decimal, currency: str) -> str:
    """An amount as `€1.2M`, `$590K`."""
    whole = amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return format_compact(Money(whole, currency))


def pct(value: float | None) -> str:
    """A ratio as a whole percentage, or a dash."""
    return "—" if value is None else f"{value * 100:.0f}%"


def whose(owner: str | None) -> str:
    """The team, or a rep's mention."""
    return "Team" if owner is None else user(owner)


def target_line(stats: TargetStats, currency: str) -> str:
    """One target's attainment, pace, forecast and gap in a mrkdwn line."""
    won, amount = compact(stats.won, currency), compact(stats.amount, currency)
    expected, forecast = (
        compact(stats.expected_by_now, currency),
        compact(stats.forecast, currency),
    )
    if stats.gap > 0:
        gap = f"gap {compact(stats.gap, currency)}"
    elif stats.gap < 0:
        gap = f"ahead by {compact(-stats.gap, currency)}"
    else:
        gap = "on target"
    pace = ":white_check_mark:" if stats.won >= stats.expected_by_now else ":warning:"
    return (
        f"{pace} *{whose(stats.owner)}* {stats.period}: {won} won of {amount} "
        f"({pct(stats.attainment)}) · by now {expected} · forecast {forecast} · {gap}"
    )


def mrkdwn_sections(lines: Sequence[str], *, title: str = "", max_blocks: int = 3) -> list[Block]:
    """Lines packed into sections of at most 3,000 characters; past `max_blocks`, counted."""
    reserve = 40
    chunks: list[list[str]] = [[]]
    size = len(title) + 1
    for line in lines:
        if chunks[-1] and size + len(line) + 1 > MAX_SECTION - reserve:
            chunks.append([])
            size = 0
        chunks[-1].append(clip(line, MAX_SECTION - reserve))
        size += len(chunks[-1][-1]) + 1
    shown, hidden = chunks[:max_blocks], sum(len(c) for c in chunks[max_blocks:])
    blocks: list[Block] = []
    for index, chunk in enumerate(shown):
        text = "\n".join(([title] if index == 0 and title else []) + chunk)
        if hidden and index == len(shown) - 1:
            text += f"\n… and {hidden} more"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION))))
    return blocks


def target_sections(
    stats: Sequence[TargetStats], currency: str, *, max_blocks: int = 3
) -> list[Block]:
    """The team's target first, then a line per rep."""
    if not stats:
        return []
    lines = [target_line(s, currency) for s in stats]
    return mrkdwn_sections(
        lines, title="*Targets* · won, expected by now, forecast, gap", max_blocks=max_blocks
    )


def source_lines(rows: Sequence[SourceStats], currency: str) -> list[str]:
    """Lead sources compared, as table lines."""
    body = [
        [
            cell(r.source, NAME_WIDTH),
            str(r.created),
            f"{r.won_count}/{r.won_count + r.lost_count}",
            pct(r.win_rate),
            compact(r.won_amount, currency),
            "—" if r.avg_days_to_win is None else f"{r.avg_days_to_win:.0f}",
        ]
        for r in rows
    ]
    return table_lines(["Source", "New", "Won", "Win", "Won amt", "Days"], body, align="lrrrrr")


def source_sections(rows: Sequence[SourceStats], currency: str) -> list[Block]:
    """Lead sources compared, when any deal has something to count."""
    if not any(r.created or r.won_count or r.lost_count for r in rows):
        return []
    return list(
        code_sections(
            source_lines(rows, currency),
            title="*Lead sources* · new deals; of the closed: won, win rate, amount, days to win",
            max_blocks=2,
        )
    )


def reason_lines(
    rows: Sequence[ReasonStats], reasons: Sequence[LostReason], currency: str
) -> list[str]:
    """Losses by reason, as table lines: count, amount and the stages most lost from."""
    body = []
    for r in rows:
        stages = sorted(r.by_stage.items(), key=lambda kv: (-kv[1], kv[0]))
        where = ", ".join(f"{stage} {n}" for stage, n in stages[:3])
        if len(stages) > 3:
            where += ", …"
        body.append(
            [
                cell(reason_name(None if r.reason == "none" else r.reason, reasons), NAME_WIDTH),
                str(r.count),
                compact(r.amount, currency),
                cell(where, 36),
            ]
        )
    return table_lines(["Reason", "Lost", "Amount", "Lost at"], body, align="lrrl")


def reason_sections(
    rows: Sequence[ReasonStats], reasons: Sequence[LostReason], currency: str, *, title: str
) -> list[Block]:
    """Losses by reason, when there are any."""
    if not rows:
        return []
    return list(code_sections(reason_lines(rows, reasons, currency), title=title, max_blocks=2))


def targets_text(targets: Sequence[TargetOut], currency: str) -> str:
    """The plain-text fallback of the targets list."""
    if not targets:
        return "No targets yet."
    shown = ", ".join(
        f"{'team' if t.owner is None else f'<@{t.owner}>'} {t.period} {compact(t.amount, currency)}"
        for t in targets[:20]
    )
    return clip(f"Targets: {shown}", 3000)


def build_targets(
    targets: Sequence[TargetOut],
    stats: Sequence[TargetStats],
    currency: str,
    *,
    note: str | None = None,
) -> Blocks:
    """Every target, team first, then each rep, with attainment for the current ones."""
    blocks: list[Block] = []
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(note, 2900))))
    blocks.extend(target_sections(stats, currency, max_blocks=4))
    lines = [
        f"*{t.period}* · {whose(t.owner)}: {compact(t.amount, currency)}" for t in targets
    ] or ["No targets yet."]
    blocks.extend(
        mrkdwn_sections(lines, title=f"*All targets* ({len(targets)}, in {currency})", max_blocks=6)
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=TARGET_HELP)]))
    return dump(blocks)


def lists_field(team_sources: Sequence[str], reasons: Sequence[LostReason]) -> tuple[str, str]:
    """The team's sources and loss reasons, for the settings view."""
    sources = ", ".join(f"`{esc(s)}`" for s in team_sources) or "none"
    listed = ", ".join(f"{esc(r.name)} (`{r.key}`)" for r in reasons) or "none"
    return sources, listed


def stats_sections(metrics: Metrics, reasons: Sequence[LostReason]) -> list[Block]:
    """The planning part of `/deal stats`: targets, losses by reason, sources compared."""
    currency = metrics.currency
    return [
        *target_sections(metrics.targets, currency),
        *reason_sections(
            metrics.lost_reasons,
            reasons,
            currency,
            title="*Losses by reason* · closed deals of the window",
        ),
        *source_sections(metrics.by_source, currency),
    ]


def _all_shown(blocks: Sequence[Block]) -> bool:
    """Whether no section says it left rows out."""
    texts = [b.text.text for b in blocks if isinstance(b, SectionBlock) and b.text is not None]
    return not any("\n… and " in text for text in texts)


def digest_planning(
    targets: Sequence[TargetStats],
    losses: Sequence[ReasonStats],
    by_source: Sequence[SourceStats],
    reasons: Sequence[LostReason],
    currency: str,
) -> tuple[list[Block], tuple[str, Blocks] | None]:
    """The digest's planning blocks, at most 4, and a thread reply with what did not fit.

    Targets take two sections (the team's line, then a line per rep), losses by reason and the
    source comparison one each; a longer list is cut with "… and N more" and given whole in
    the thread, so the message stays within Slack's 50 blocks whatever the team's size.
    """
    loss_title = "*Lost by reason* · last 90 days"
    source_title = "*Lead sources* · new deals; of the closed: won, win rate, amount, days to win"
    main: list[Block] = [
        *target_sections(targets, currency, max_blocks=2),
        *(
            code_sections(reason_lines(losses, reasons, currency), title=loss_title, max_blocks=1)
            if losses
            else []
        ),
        *(
            code_sections(source_lines(by_source, currency), title=source_title, max_blocks=1)
            if any(s.created or s.won_count or s.lost_count for s in by_source)
            else []
        ),
    ]
    if _all_shown(main):
        return main, None
    full: list[Block] = [
        *target_sections(targets, currency, max_blocks=10),
        *reason_sections(losses, reasons, currency, title=loss_title),
        *source_sections(by_source, currency),
    ]
    return main, ("Targets, losses by reason and lead sources in full", dump(full))


def home_targets(
    targets: Sequence[TargetStats], user_id: str, currency: str, *, admin: bool
) -> list[Block]:
    """A rep's own target this period (and the team's, to an admin), and the admin's button."""
    shown = [t for t in targets if t.owner == user_id or (admin and t.owner is None)]
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(target_line(t, currency), MAX_SECTION)))
        for t in shown[:2]
    ]
    if admin:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text="Set a target", action_id=Action.SET_TARGET, value="target")
                ]
            )
        )
    return blocks
