"""Small helpers every builder uses: escaping, clipping, money and date display."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from pipeline.money import Money, format_money
from pipeline.schemas import DealOut, StageOut

Blocks = list[dict[str, Any]]

# Block Kit limits (../shared/SLACK.md)
MAX_MESSAGE_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_BUTTON_TEXT = 75
MAX_HEADER = 150
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100


def text_section(text: str) -> SectionBlock:
    """A section of mrkdwn text."""
    return SectionBlock(text=MarkdownTextObject(text=text))


def fine_print(text: str) -> ContextBlock:
    """A context line of mrkdwn text (the small grey print)."""
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def option(text: str, value: str) -> Option:
    """A select's choice, its text clipped to Slack's limit."""
    return Option(text=clip(text, MAX_OPTION_TEXT), value=value)


def select_input(
    block: str,
    label: str,
    options: list[Option],
    *,
    placeholder: str | None = None,
    initial: Option | None = None,
    optional: bool = False,
) -> InputBlock:
    """A modal's static select, whose action id is its block id (as every input of ours)."""
    element = StaticSelectElement(
        action_id=block, options=options, initial_option=initial, placeholder=placeholder
    )
    return InputBlock(block_id=block, label=label, optional=optional, element=element)


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def money(amount: Decimal | None, currency: str) -> str:
    """A deal amount for display, or a dash when unknown."""
    return "—" if amount is None else format_money(Money(amount, currency))


def day(d: date | None) -> str:
    """A date as `Tue 15 Dec 2026`."""
    return "—" if d is None else d.strftime("%a %-d %b %Y")


def when(at: datetime) -> str:
    """A timestamp that each reader sees in their own timezone."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user(user_id: str) -> str:
    """A user mention."""
    return f"<@{user_id}>"


def stage_label(key: str, stages: list[StageOut]) -> str:
    """A stage's display name with its probability."""
    for stage in stages:
        if stage.key == key:
            return f"{stage.name} ({stage.probability}%)"
    return key


def deal_title(deal: DealOut) -> str:
    """`#12 Acme Corp`, escaped for mrkdwn."""
    return f"#{deal.number} {esc(deal.name)}"


def dump(blocks: Sequence[Block]) -> Blocks:
    """slack_sdk models to the JSON Slack takes."""
    return [b.to_dict() for b in blocks]
