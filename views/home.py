"""App Home: my open deals with their buttons, my overdue next steps, the team's pipeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from pipeline.metrics import Metrics
from pipeline.schemas import DealOut, StageOut
from views.cards import card_blocks
from views.common import MAX_SECTION, MAX_SURFACE_BLOCKS, clip, day, deal_title, esc, money
from views.planning import home_targets
from views.reports import pipeline_lines, plural, unpriced_note, whole
from views.tables import code_sections

# A card is its section, context and actions blocks, plus a divider before it.
CARD_BLOCKS = 4
MAX_OVERDUE_LINES = 15
SUMMARY_NAME_WIDTH = 20


def _overdue(deals: list[DealOut], today: date) -> list[DealOut]:
    late = [d for d in deals if d.next_step_due is not None and d.next_step_due < today]
    return sorted(late, key=lambda d: (d.next_step_due or today, d.number))


def _attention(deal: DealOut, today: date) -> tuple[int, date, int]:
    """Overdue next steps first, then the soonest close dates, then the rest by number."""
    overdue = deal.next_step_due is not None and deal.next_step_due < today
    return (0 if overdue else 1, deal.close_date or date.max, deal.number)


def _overdue_section(late: list[DealOut], today: date) -> SectionBlock:
    title = f":warning: *Your overdue next steps* ({len(late)})"
    lines: list[str] = []
    # Leave room for the "… and N more" line whatever the lines' lengths.
    budget = MAX_SECTION - len(title) - 40
    for deal in late[:MAX_OVERDUE_LINES]:
        step = esc(clip(deal.next_step_text or "next step", 120))
        line = f"• *{clip(deal_title(deal), 120)}*: {step} (due {day(deal.next_step_due)})"
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
    if len(late) > len(lines):
        lines.append(f"… and {len(late) - len(lines)} more")
    return SectionBlock(text=MarkdownTextObject(text="\n".join([title, *lines])))


def _headed(title: str, text: str) -> list[Block]:
    """A header over one line of mrkdwn: how each part of the Home tab starts."""
    return [HeaderBlock(text=title), SectionBlock(text=MarkdownTextObject(text=text))]


def _team_summary(metrics: Metrics) -> list[Block]:
    cur, total = metrics.currency, metrics.open
    blocks = _headed(
        "Team pipeline",
        f"{plural(total.count, 'open deal')} · {whole(total.amount, cur)} "
        f"· {whole(total.weighted, cur)} weighted",
    )
    if metrics.by_stage:
        blocks.extend(
            code_sections(pipeline_lines(metrics, name_width=SUMMARY_NAME_WIDTH), max_blocks=3)
        )
    note = unpriced_note(metrics)
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return blocks


def build_home(
    *,
    user_id: str,
    deals: list[DealOut],
    stages: list[StageOut],
    metrics: Metrics,
    today: date,
    truncated: bool = False,
    admin: bool = False,
) -> dict[str, Any]:
    """The Home tab for one user: `deals` are their open deals (all, or the first `truncated`)."""
    late = _overdue(deals, today)
    top = _headed(
        "Your deals",
        f"<@{user_id}>, you own {plural(len(deals), 'open deal')}"
        f"{'+' if truncated else ''} worth "
        f"{_mine_total(deals, metrics.currency)}."
        if deals
        else "You own no open deal. Add one with `/deal add Acme Corp 50k proposal`.",
    )
    if late:
        top.append(_overdue_section(late, today))
    top.extend(home_targets(metrics.targets, user_id, metrics.currency, admin=admin))
    bottom: list[Block] = [DividerBlock(), *_team_summary(metrics)]
    # The cards get what the other blocks leave of the 100, with room for the "more" line.
    room = MAX_SURFACE_BLOCKS - len(top) - len(bottom) - 1
    fits = max(0, room // CARD_BLOCKS)
    shown = sorted(deals, key=lambda d: _attention(d, today))[:fits]
    cards: list[Block] = []
    for deal in shown:
        cards.append(DividerBlock())
        cards.extend(card_blocks(deal, stages, today=today))
    if len(shown) < len(deals) or truncated:
        cards.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Showing {len(shown)} of your open deals, overdue and closing "
                        "soonest first. `/deal list mine` pages through them all."
                    )
                ]
            )
        )
    blocks = [*top, *cards, *bottom]
    return View(type="home", blocks=blocks).to_dict()


def _mine_total(deals: list[DealOut], currency: str) -> str:
    """The sum of the deals in the reporting currency; other currencies are listed apart."""
    sums: dict[str, Decimal] = {}
    for deal in deals:
        if deal.amount is not None:
            sums[deal.currency] = sums.get(deal.currency, Decimal(0)) + deal.amount
    if not sums:
        return money(None, currency)
    parts = [whole(sums.pop(currency), currency)] if currency in sums else []
    parts.extend(whole(amount, code) for code, amount in sorted(sums.items()))
    return " + ".join(parts)
