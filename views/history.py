"""A deal's history: stage changes, outcomes, activities and close-date moves, newest first."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject

from pipeline.schemas import DealDetail, StageOut
from views.common import Blocks, clip, day, dump, esc, text_section, user, when

ICONS = {
    "call": ":telephone_receiver:",
    "email": ":email:",
    "meeting": ":handshake:",
    "note": ":memo:",
}
MAX_LINES = 25


def build_history(deal: DealDetail, stages: list[StageOut]) -> Blocks:
    """The history as one section (newest first), clipped to Slack's 3000 characters."""
    names = {s.key: esc(s.name) for s in stages} | {"won": "Won", "lost": "Lost"}
    events: list[tuple[datetime, str]] = []
    for change in deal.stage_changes:
        to = names.get(change.to_stage, esc(change.to_stage))
        if change.from_stage is None:
            line = f"created in {to} by {user(change.by)}"
        else:
            came_from = names.get(change.from_stage, esc(change.from_stage))
            line = f"{came_from} → *{to}* by {user(change.by)}"
        events.append((change.at, line))
    for activity in deal.activities:
        link = f" (<{activity.link}|message>)" if activity.link else ""
        text = esc(clip(activity.text, 200))
        icon = ICONS.get(activity.kind, "")
        events.append((activity.at, f"{icon} {activity.kind} by {user(activity.by)}: {text}{link}"))
    for move in deal.close_date_changes:
        events.append(
            (move.at, f":calendar: close date {day(move.old_date)} → {day(move.new_date)}")
        )
    events.sort(key=lambda e: e[0], reverse=True)
    lines = [f"{when(at)} · {text}" for at, text in events[:MAX_LINES]]
    body = "\n".join(lines) or "No history yet."
    blocks: list[Block] = [text_section(clip(f"*History*\n{body}", 3000))]
    if len(events) > MAX_LINES:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"{len(events) - MAX_LINES} older events not shown; "
                        "`/deal export` has them all."
                    )
                ]
            )
        )
    return dump(blocks)
