"""Deal lists: a page of cards within Block Kit's 50 blocks, with paging buttons."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
)

from pipeline.schemas import DealOut, StageOut
from views.cards import card_blocks
from views.common import Blocks, clip, dump, esc, fine_print, text_section, user
from views.ids import Action

PAGE_SIZE = 11  # 11 cards x (3 blocks + divider) + header, paging and count stays under 50


def build_deal_list(
    deals: list[DealOut],
    stages: list[StageOut],
    *,
    today: date,
    title: str,
    query: str,
    offset: int,
    has_more: bool,
    owner_id: str | None = None,
) -> Blocks:
    """One page of deals, newest activity first, each with its card buttons.

    `title` is shown as text; `owner_id`, when given, follows it as a real mention.
    """
    mention = f" {user(owner_id)}" if owner_id else ""
    blocks: list[Block] = [
        text_section(f"*{esc(clip(title, 200))}*{mention}"),
    ]
    if not deals:
        blocks.append(text_section("No deals here. Add one with `/deal add Acme 50k proposal`."))
    for deal in deals:
        blocks.append(DividerBlock())
        blocks.extend(card_blocks(deal, stages, today=today))
    buttons = []
    if offset > 0:
        buttons.append(
            ButtonElement(
                text="← Previous",
                action_id=f"{Action.PAGE}:prev",
                value=f"{max(0, offset - PAGE_SIZE)}|{clip(query, 150)}",
            )
        )
    if has_more:
        buttons.append(
            ButtonElement(
                text="Next →",
                action_id=f"{Action.PAGE}:next",
                value=f"{offset + PAGE_SIZE}|{clip(query, 150)}",
            )
        )
    if buttons:
        blocks.append(ActionsBlock(block_id="deal_list_paging", elements=buttons))
    shown = f"{offset + 1}–{offset + len(deals)}" if deals else "0"
    blocks.append(fine_print(f"Showing {shown}"))
    return dump(blocks)
