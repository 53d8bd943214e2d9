"""The planning inputs of the modals: the source and loss-reason selects, and the target form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from pipeline.limits import LIMITS, TextField
from pipeline.planning import NONE, LostReason, TargetOut
from views.common import MAX_OPTION_TEXT, MAX_OPTIONS, clip
from views.ids import Block as BlockId
from views.ids import Callback

MAX_DETAIL = LIMITS[TextField.LOST_REASON]
NO_SOURCE = "No source"


def _option(text: str, value: str) -> Option:
    return Option(text=clip(text, MAX_OPTION_TEXT), value=value)


def _select(
    block: BlockId,
    label: str,
    options: list[Option],
    *,
    placeholder: str,
    initial: Option | None = None,
    optional: bool = False,
) -> InputBlock:
    """A static select whose action id is its block id, as every modal input here."""
    element = StaticSelectElement(
        action_id=block, options=options, initial_option=initial, placeholder=placeholder
    )
    return InputBlock(block_id=block, label=label, optional=optional, element=element)


def source_input(sources: Sequence[str], selected: str | None) -> InputBlock:
    """The team's sources as a select; a deal's source no longer listed stays offered."""
    keys = list(sources)
    if selected and selected not in keys:
        keys.append(selected)
    options = [_option(key, key) for key in keys[: MAX_OPTIONS - 1]]
    options.append(_option(NO_SOURCE, NONE))
    initial = next((o for o in options if o.value == selected), None)
    return _select(
        BlockId.SOURCE,
        "Source",
        options,
        placeholder="Where the deal came from",
        initial=initial,
        optional=True,
    )


def lost_inputs(reasons: Sequence[LostReason]) -> list[Block]:
    """The Lost modal's questions: a reason from the team's list, and an optional detail."""
    options = [_option(r.name, r.key) for r in reasons[:MAX_OPTIONS]]
    return [
        _select(BlockId.REASON, "Why was it lost?", options, placeholder="Pick a reason"),
        InputBlock(
            block_id=BlockId.LOST_DETAIL,
            label="Details",
            optional=True,
            element=PlainTextInputElement(
                action_id=BlockId.LOST_DETAIL,
                multiline=True,
                max_length=MAX_DETAIL,
                placeholder="Went with a cheaper vendor…",
            ),
        ),
    ]


def build_target_modal(currency: str, targets: Sequence[TargetOut]) -> dict[str, Any]:
    """Set a target: for the team (no rep picked) or a rep, for a month or a quarter."""
    current = ", ".join(
        f"{t.period} {'team' if t.owner is None else f'<@{t.owner}>'} {t.amount:,.0f}"
        for t in targets[:10]
    )
    blocks: list[Block] = [
        InputBlock(
            block_id=BlockId.OWNER,
            label="Rep (leave empty for the team's target)",
            optional=True,
            element=UserSelectElement(action_id=BlockId.OWNER),
        ),
        InputBlock(
            block_id=BlockId.PERIOD,
            label="Month or quarter",
            element=PlainTextInputElement(
                action_id=BlockId.PERIOD, max_length=10, placeholder="2027-Q1 or 2027-01"
            ),
        ),
        InputBlock(
            block_id=BlockId.AMOUNT,
            label=f"Amount in {currency}",
            element=PlainTextInputElement(
                action_id=BlockId.AMOUNT, max_length=100, placeholder="500k"
            ),
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text=clip(f"Current targets: {current or 'none'}", 2000))]
        ),
    ]
    view = View(
        type="modal",
        callback_id=Callback.TARGET,
        title="Set a target",
        submit="Save",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()
