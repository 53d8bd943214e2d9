"""The note after adding a deal whose name matches an open one: said, linked, undoable."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
)

from pipeline.schemas import DealOut
from views.cards import CardRef
from views.common import Blocks, clip, deal_title, dump, esc, fine_print, text_section
from views.ids import Action

MAX_SHOWN = 5


def duplicate_text(new: DealOut, existing: list[DealOut]) -> str:
    """The plain-text fallback: which open deals the new one may repeat."""
    shown = ", ".join(f"#{d.number} {esc(d.name)}" for d in existing[:MAX_SHOWN])
    return f"#{new.number} {esc(new.name)} was added; it looks like {shown}, already open."


def build_duplicate_warning(new: DealOut, existing: list[DealOut]) -> Blocks:
    """The warning with the existing deals and a button that deletes the new one."""
    lines = "\n".join(
        f"• *{clip(deal_title(d), 200)}*, owned by <@{d.owner_id}> · `/deal show #{d.number}`"
        for d in existing[:MAX_SHOWN]
    )
    more = len(existing) - MAX_SHOWN
    blocks: list[Block] = [
        text_section(
            clip(
                f":warning: *{clip(deal_title(new), 200)}* was added, but an open deal "
                f"has the same name:\n{lines}",
                3000,
            )
        ),
    ]
    if more > 0:
        blocks.append(fine_print(f"…and {more} more."))
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=clip(f"Delete #{new.number}", 75),
                    action_id=Action.DELETE_DUPLICATE,
                    value=CardRef(new.number, new.version).encode(),
                    style="danger",
                    confirm=ConfirmObject(
                        title="Delete the new deal",
                        text=f"Delete {clip(deal_title(new), 250)}? The existing deal stays.",
                        confirm="Delete",
                        deny="Keep both",
                    ),
                )
            ]
        )
    )
    return dump(blocks)
