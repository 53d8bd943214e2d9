"""Refreshing a card where it is shown: swap one card's blocks inside a bigger message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from views.common import Blocks, clip, dump, esc, fine_print, user
from views.ids import Block as BlockId

CARD_BLOCKS = 3  # section, context, actions: see cards.card_blocks


def card_span(blocks: Sequence[dict[str, Any]], number: int) -> tuple[int, int] | None:
    """Where deal `number`'s card sits in a message's blocks, as a slice (start, end)."""
    wanted = f"{BlockId.ACTIONS}:{number}"
    for index, block in enumerate(blocks):
        if block.get("block_id") == wanted:
            start = index - (CARD_BLOCKS - 1)
            if start < 0:
                return None
            return start, index + 1
    return None


def is_whole_card(blocks: Sequence[dict[str, Any]], number: int) -> bool:
    """True when the message is that one card and nothing else."""
    return card_span(blocks, number) == (0, len(blocks))


def splice_card(
    blocks: Sequence[dict[str, Any]], number: int, replacement: Blocks
) -> Blocks | None:
    """The message's blocks with one card replaced; None when the card is not there."""
    span = card_span(blocks, number)
    if span is None:
        return None
    start, end = span
    return [*blocks[:start], *replacement, *blocks[end:]]


def deleted_text(number: int, name: str, actor: str) -> str:
    """The plain-text fallback of a deleted deal's card."""
    return f"#{number} {esc(name)} was deleted by {user(actor)}"


def build_deleted_card(number: int, name: str, actor: str) -> Blocks:
    """What replaces the card of a deleted deal."""
    text = f":wastebasket: ~#{number} {esc(clip(name, 200))}~ was deleted by {user(actor)}."
    return dump([fine_print(text)])
