"""The /deal help."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from views.common import Blocks, dump

HELP = [
    (
        "Add a deal",
        "`/deal add Acme Corp 50k proposal close:next friday @alice`"
        "\n`/deal add` alone opens a form",
    ),
    (
        "Find deals",
        "`/deal list` · `/deal list mine` · `/deal list @bob` · `/deal list demo` · "
        "`/deal list stale` · `/deal show #12`",
    ),
    (
        "Move deals",
        "`/deal move #12 negotiation` · `/deal won #12` · "
        "`/deal lost #12 price went with a cheaper vendor` · `/deal reopen #12`",
    ),
    (
        "Keep them fresh",
        "`/deal log #12 call Spoke with their CFO` · "
        "`/deal next #12 send the proposal by friday` · `/deal assign #12 @bob` · `/deal edit #12`",
    ),
    (
        "See the pipeline",
        "`/deal pipeline` · `/deal stats` · `/deal stats quarter` · `/deal target` · "
        "`/deal export`",
    ),
    (
        "Set it up (admins)",
        "`/deal stages` · `/deal stages set demo 40% 10d` · "
        "`/deal config channel #sales` · `/deal target 500k 2027-Q1` · "
        "`/deal config sources add webinar` · `/deal config reasons add Legal review`",
    ),
]


def build_help() -> Blocks:
    """Short help with one example per task."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text="*pipebot keeps your pipeline up to date from Slack.* "
                "A deal is `#12`, `12` or the start of its name."
            )
        )
    ]
    for title, examples in HELP:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}*\n{examples}")))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Amounts: `50k`, `$12,500`, `12.5k EUR` · Dates: `2026-12-15`, `15/12`, "
                    "`next friday`, `in 2 weeks`, `end of quarter`"
                )
            ]
        )
    )
    return dump(blocks)


HELP_TEXT = "pipebot help: /deal add, list, show, move, won, lost, log, next, pipeline, stats"
