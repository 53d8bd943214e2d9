"""Compact monospace tables in section blocks: many rows in few blocks, within 3000 characters."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import SectionBlock

from views.common import MAX_SECTION, clip, esc, text_section

FENCE = "```"


def cell(text: str, width: int) -> str:
    """A table cell: cut in the middle to `width`, and safe inside a code block."""
    # A backtick run could close the code block early.
    flat = " ".join(text.replace("`", "'").split())
    if len(flat) <= width:
        return flat
    # Names often share a prefix ("Enterprise - phase 1", "... phase 2"): keep both ends.
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return flat[:head].rstrip() + "…" + (flat[-tail:].lstrip() if tail else "")


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align: str) -> list[str]:
    """Rows padded into columns; `align` has one `l` or `r` per column."""
    if len(align) != len(headers) or any(len(r) != len(headers) for r in rows):
        raise ValueError("every row needs one value per column")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.ljust(w) if a == "l" else v.rjust(w)
            for v, w, a in zip(values, widths, align, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def code_sections(
    lines: Sequence[str],
    *,
    title: str = "",
    header_lines: int = 1,
    max_blocks: int = 5,
    limit: int = MAX_SECTION,
) -> list[SectionBlock]:
    """The table as code-block sections under a mrkdwn `title`, repeating the header in each."""
    # Rows are never split across sections; past `max_blocks` the rest are only counted.
    head = [esc(x) for x in lines[:header_lines]]
    body = [esc(x) for x in lines[header_lines:]]
    # Room for the title, the fences, newlines and an "… and N more rows" line.
    reserve = len(FENCE) * 2 + 4 + 40
    chunks: list[list[str]] = []
    current: list[str] = []
    size = len(title) + sum(len(h) + 1 for h in head)
    for row in body:
        row = clip(row, limit - reserve - size) if not current else row
        if current and size + len(row) + 1 > limit - reserve:
            chunks.append(current)
            current, size = [], sum(len(h) + 1 for h in head)
        current.append(row)
        size += len(row) + 1
    if current or not chunks:
        chunks.append(current)
    shown = chunks[:max_blocks]
    hidden = sum(len(c) for c in chunks[max_blocks:])
    blocks: list[SectionBlock] = []
    for index, chunk in enumerate(shown):
        text = "\n".join([*head, *chunk])
        if hidden and index == len(shown) - 1:
            text += f"\n… and {hidden} more row{'s' if hidden != 1 else ''}"
        prefix = f"{title}\n" if index == 0 and title else ""
        body_text = f"{prefix}{FENCE}\n{text}\n{FENCE}"
        blocks.append(text_section(clip(body_text, limit)))
    return blocks
