"""The deal card: what a deal looks like in a channel, a list, a reminder or App Home."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)

from pipeline.planning import LostReason, reason_name
from pipeline.schemas import DealOut, StageOut
from pipeline.stages import next_stage
from pipeline.types import DealStatus
from views.common import (
    Blocks,
    clip,
    day,
    deal_title,
    dump,
    esc,
    money,
    stage_label,
    user,
    when,
)
from views.ids import Action, Overflow
from views.ids import Block as BlockId


@dataclass(frozen=True)
class CardRef:
    """What a button carries: the deal and the version the card showed."""

    number: int
    version: int

    def encode(self, verb: str | None = None) -> str:
        """`12:3`, or `reopen:12:3` for an overflow choice."""
        base = f"{self.number}:{self.version}"
        return f"{verb}:{base}" if verb else base

    @classmethod
    def decode(cls, value: str) -> tuple[str | None, CardRef]:
        """Parse a button value; raises ValueError on anything else."""
        parts = value.split(":")
        if len(parts) == 2:
            return None, cls(int(parts[0]), int(parts[1]))
        if len(parts) == 3:
            return parts[0], cls(int(parts[1]), int(parts[2]))
        raise ValueError(f"not a card value: {value!r}")


def card_text(deal: DealOut, stages: list[StageOut]) -> str:
    """The plain-text fallback for notifications and screen readers."""
    state = {
        DealStatus.WON: "won",
        DealStatus.LOST: "lost",
    }.get(deal.status, stage_label(deal.stage, stages))
    return f"#{deal.number} {esc(deal.name)}: {money(deal.amount, deal.currency)}, {esc(state)}"


def confirm_won(deal: DealOut, *, last_stage: bool = False) -> ConfirmObject:
    """Slack's confirm dialog before a click closes a deal as won."""
    where = " is in the last stage." if last_stage else ""
    return ConfirmObject(
        title="Last stage" if last_stage else "Mark won",
        text=f"{clip(deal_title(deal), 250)}{where} Mark it won?",
        confirm="Mark won",
        deny="Not yet",
    )


def lost_text(deal: DealOut, reasons: Sequence[LostReason] = ()) -> str:
    """A lost deal's reason and detail for mrkdwn: `Price — went with a cheaper vendor`."""
    if not deal.lost_reason:
        return esc(clip(deal.lost_detail or "no reason given", 300))
    name = reason_name(deal.lost_reason, reasons)
    detail = f" — {clip(deal.lost_detail, 300)}" if deal.lost_detail else ""
    return esc(name + detail)


def _status_line(deal: DealOut, stages: list[StageOut]) -> str:
    if deal.status == DealStatus.WON:
        return ":trophy: *Won*"
    if deal.status == DealStatus.LOST:
        reason = f": {lost_text(deal)}" if deal.lost_reason or deal.lost_detail else ""
        return f":x: *Lost*{reason}"
    return f"*{esc(stage_label(deal.stage, stages))}*"


def _fields(deal: DealOut, stages: list[StageOut], today: date) -> list[MarkdownTextObject]:
    close = day(deal.close_date)
    if deal.status == DealStatus.OPEN and deal.close_date and deal.close_date < today:
        close += " :warning: past"
    step = "—"
    if deal.next_step_text:
        due = f" (by {day(deal.next_step_due)})" if deal.next_step_due else ""
        late = (
            " :warning: overdue"
            if deal.status == DealStatus.OPEN and deal.next_step_due and deal.next_step_due < today
            else ""
        )
        step = f"{esc(clip(deal.next_step_text, 500))}{due}{late}"
    return [
        MarkdownTextObject(text=f"*Amount*\n{money(deal.amount, deal.currency)}"),
        MarkdownTextObject(text=f"*Stage*\n{_status_line(deal, stages)}"),
        MarkdownTextObject(text=f"*Owner*\n{user(deal.owner_id)}"),
        MarkdownTextObject(text=f"*Close date*\n{close}"),
        MarkdownTextObject(text=f"*Next step*\n{step}"),
        MarkdownTextObject(text=f"*Last activity*\n{when(deal.last_activity_at)}"),
    ]


def _overflow(ref: CardRef, *choices: tuple[str, Overflow]) -> OverflowMenuElement:
    """The card's ⋯ menu: `choices` first, then Show history and Delete deal."""
    every = (*choices, ("Show history", Overflow.SHOW), ("Delete deal", Overflow.DELETE))
    return OverflowMenuElement(
        action_id=Action.OVERFLOW,
        options=[Option(text=text, value=ref.encode(choice)) for text, choice in every],
    )


def _buttons(deal: DealOut, stages: list[StageOut]) -> list[ButtonElement | OverflowMenuElement]:
    ref = CardRef(deal.number, deal.version)
    value = ref.encode()
    if deal.status != DealStatus.OPEN:
        return [
            ButtonElement(text="Log activity", action_id=Action.LOG, value=value),
            _overflow(ref, ("Reopen", Overflow.REOPEN)),
        ]
    following = next_stage(deal.stage, stages)
    if following is None:
        advance = ButtonElement(
            text="Mark won",
            action_id=Action.ADVANCE,
            value=value,
            style="primary",
            confirm=confirm_won(deal, last_stage=True),
        )
    else:
        advance = ButtonElement(
            text=clip(f"Advance → {following.name}", 75),
            action_id=Action.ADVANCE,
            value=value,
            style="primary",
        )
    return [
        advance,
        ButtonElement(
            text="Won",
            action_id=Action.WON,
            value=value,
            confirm=confirm_won(deal),
        ),
        ButtonElement(text="Lost", action_id=Action.LOST, value=value, style="danger"),
        ButtonElement(text="Log activity", action_id=Action.LOG, value=value),
        ButtonElement(text="Edit", action_id=Action.EDIT, value=value),
        ButtonElement(text="Snooze", action_id=Action.SNOOZE, value=value),
        _overflow(
            ref,
            ("Push close date 7 days", Overflow.PUSH_WEEK),
            ("Snooze a week", Overflow.SNOOZE_WEEK),
        ),
    ]


def card_blocks(
    deal: DealOut, stages: list[StageOut], *, today: date, buttons: bool = True
) -> list[Block]:
    """A deal's card as slack_sdk blocks (for builders composing bigger surfaces)."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=f"*{clip(deal_title(deal), 2900)}*"),
            fields=_fields(deal, stages, today),
        ),
    ]
    context = f"Created by {user(deal.created_by)} {when(deal.created_at)}"
    if deal.updated_by != deal.created_by or deal.updated_at != deal.created_at:
        context += f" · last change by {user(deal.updated_by)} {when(deal.updated_at)}"
    if deal.snoozed_until and deal.status == DealStatus.OPEN and deal.snoozed_until > today:
        context += f" · :zzz: snoozed until {day(deal.snoozed_until)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    if buttons:
        # The block id carries the deal so two cards in one message never share an id.
        blocks.append(
            ActionsBlock(
                block_id=f"{BlockId.ACTIONS}:{deal.number}", elements=_buttons(deal, stages)
            )
        )
    return blocks


def build_deal_card(
    deal: DealOut, stages: list[StageOut], *, today: date, buttons: bool = True
) -> Blocks:
    """A deal's card as Block Kit JSON."""
    return dump(card_blocks(deal, stages, today=today, buttons=buttons))
