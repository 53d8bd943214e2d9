"""The daily reminder: deals needing a follow-up, grouped by owner, each with its buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    HeaderBlock,
)

from pipeline.reminders import Item, Reason
from pipeline.schemas import StageOut
from pipeline.stages import next_stage
from views.cards import CardRef, confirm_won
from views.common import (
    MAX_MESSAGE_BLOCKS,
    Blocks,
    clip,
    day,
    dump,
    esc,
    fine_print,
    money,
    text_section,
    user,
)
from views.ids import Action

MAX_THREAD_MESSAGES = 4
REMINDER_BLOCK = "reminder:"


@dataclass(frozen=True)
class ReminderMessage:
    """A reminder post: the main message and the replies in its thread."""

    text: str
    blocks: Blocks
    thread: list[tuple[str, Blocks]]


def _why(item: Item) -> str:
    parts = []
    deal = item.deal
    if Reason.STALE in item.reasons:
        parts.append(f"quiet for {item.days_quiet} days")
    if Reason.OVERDUE_STEP in item.reasons and deal.next_step_text:
        parts.append(
            f"next step overdue since {day(deal.next_step_due)}: "
            f"{esc(clip(deal.next_step_text, 120))}"
        )
    if Reason.PAST_CLOSE in item.reasons:
        parts.append(f"close date passed ({day(deal.close_date)})")
    return " · ".join(parts)


def _item_blocks(item: Item, stages: list[StageOut], today: date) -> list[Block]:
    deal = item.deal
    stage_name = next((s.name for s in stages if s.key == deal.stage), deal.stage)
    ref = CardRef(deal.number, deal.version)
    value = ref.encode()
    following = next_stage(deal.stage, stages)
    advance_text = f"→ {following.name}" if following else "Mark won"
    text = (
        f"*#{deal.number} {esc(clip(deal.name, 150))}* · {esc(stage_name)} · "
        f"{money(deal.amount, deal.currency)}\n{_why(item)}"
    )
    return [
        text_section(clip(text, 3000)),
        ActionsBlock(
            # The datepicker has no value of its own: the block id carries the card's ref.
            block_id=f"{REMINDER_BLOCK}{value}",
            elements=[
                ButtonElement(
                    text=clip(advance_text, 75),
                    action_id=Action.ADVANCE,
                    value=value,
                    confirm=None if following else confirm_won(deal, last_stage=True),
                ),
                ButtonElement(text="Log activity", action_id=Action.LOG, value=value),
                ButtonElement(text="Close date +7 days", action_id=Action.PUSH_CLOSE, value=value),
                DatePickerElement(
                    action_id=Action.PUSH_CLOSE_PICK,
                    placeholder="New close date",
                    initial_date=(deal.close_date or today).isoformat(),
                ),
                ButtonElement(text="Snooze", action_id=Action.SNOOZE, value=value),
                ButtonElement(text="Mark lost", action_id=Action.LOST, value=value, style="danger"),
            ],
        ),
    ]


def _paginate(
    items: list[Item], stages: list[StageOut], today: date, budgets: list[int]
) -> tuple[list[list[Block]], int]:
    """Fill pages of blocks greedily; returns the pages and how many items they hold."""
    pages: list[list[Block]] = []
    placed = 0
    owner_seen: set[str] = set()
    for budget in budgets:
        page: list[Block] = []
        owner = None
        while placed < len(items):
            item = items[placed]
            heading: list[Block] = []
            if item.deal.owner_id != owner:
                label = " (continued)" if item.deal.owner_id in owner_seen else ""
                heading = [fine_print(f"*{user(item.deal.owner_id)}*{label}")]
            body = _item_blocks(item, stages, today)
            if len(page) + len(heading) + len(body) > budget:
                break
            page += heading + body
            owner = item.deal.owner_id
            owner_seen.add(owner)
            placed += 1
        pages.append(page)
        if placed == len(items):
            break
    return pages, placed


def build_reminder(
    groups: dict[str, list[Item]], stages: list[StageOut], *, today: date, title: str
) -> ReminderMessage:
    """The reminder for a channel (all owners) or a DM (one owner), split within limits."""
    items = [item for owned in groups.values() for item in owned]
    counts = {reason: sum(reason in item.reasons for item in items) for reason in Reason}
    summary = (
        f"{counts[Reason.STALE]} stale, {counts[Reason.OVERDUE_STEP]} overdue next steps, "
        f"{counts[Reason.PAST_CLOSE]} past their close date"
    )
    mentions = " ".join(user(owner) for owner in list(groups)[:20])
    text = f"{title}: {len(items)} deals need a follow-up ({summary})"
    head: list[Block] = [
        HeaderBlock(text=clip(title, 150)),
        text_section(clip(f"{len(items)} deals need a follow-up: {summary}.\n{mentions}", 3000)),
    ]
    # The main message keeps room for its head and one closing note.
    budgets = [MAX_MESSAGE_BLOCKS - len(head) - 1] + [MAX_MESSAGE_BLOCKS] * MAX_THREAD_MESSAGES
    pages, placed = _paginate(items, stages, today, budgets)
    main = head + (pages[0] if pages else [])
    thread = [
        (f"{title} (continued, part {index})", dump(page))
        for index, page in enumerate(pages[1:], start=1)
        if page
    ]
    if placed < len(items):
        note = f"…and {len(items) - placed} more. See them all with `/deal list stale`."
        main.append(fine_print(note))
    elif thread:
        main.append(fine_print("More in the thread."))
    assert len(main) <= MAX_MESSAGE_BLOCKS
    return ReminderMessage(text=text, blocks=dump(main), thread=thread)
