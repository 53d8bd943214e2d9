"""The /deal grammar: command text in, typed requests out. No Slack calls, no database."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import TypeVar

from pipeline.errors import InvalidInput

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>")
KEYWORDS = ("close:", "next:", "source:")

_Choice = TypeVar("_Choice")


def split_keywords(text: str) -> tuple[str, dict[str, str]]:
    """Pull `close:…`, `next:…`, `source:…` parts out; each runs to the next keyword or mention."""
    positions = sorted(
        (m.start(), kw)
        for kw in KEYWORDS
        for m in re.finditer(rf"(?<!\S){re.escape(kw)}", text, flags=re.IGNORECASE)
    )
    if not positions:
        return text, {}
    found: dict[str, str] = {}
    head = text[: positions[0][0]]
    for index, (start, kw) in enumerate(positions):
        end = positions[index + 1][0] if index + 1 < len(positions) else len(text)
        value = text[start + len(kw) : end]
        # A mention after a keyword value belongs to the command, not the value.
        mention = MENTION.search(value)
        if mention:
            head += " " + value[mention.start() :]
            value = value[: mention.start()]
        if kw in found:
            raise InvalidInput(f"`{kw}` appears twice.", example="add Acme 50k close:next friday")
        found[kw] = value.strip()
    return head, found


def split_next(text: str) -> tuple[str, str]:
    """`<text> by <date>` into its two parts."""
    match = re.match(r"(?is)(.+?)\s+by\s+(.+)$", text.strip())
    if not match:
        raise InvalidInput(
            f'"{text.strip()}" needs a due date: end it with `by <date>`.',
            example="next #12 send the proposal by friday",
        )
    return match.group(1).strip(), match.group(2).strip()


def first_word(text: str) -> tuple[str, str]:
    """The first word (lower-cased) and the rest of the text."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def chosen(choices: Mapping[str, _Choice], word: str, refusal: str, example: str) -> _Choice:
    """What `word` picks in `choices`; a word naming nothing is refused with `refusal`."""
    choice = choices.get(word)
    if choice is None:
        raise InvalidInput(refusal, example=example)
    return choice


def take_ref(text: str) -> tuple[str, str]:
    """A deal reference and the rest: `#12 rest`, `12 rest`, or a quoted name."""
    stripped = text.strip()
    if not stripped:
        return "", ""
    if stripped[0] in "\"'“":
        try:
            lexer = shlex.shlex(stripped.replace("“", '"').replace("”", '"'), posix=True)
            lexer.whitespace_split = True
            ref = lexer.get_token() or ""
            rest = stripped.replace("“", '"').replace("”", '"')
            end = rest.find(ref) + len(ref) + 1
            return ref, rest[end:].strip()
        except ValueError:
            raise InvalidInput(
                "A quoted deal name is missing its closing quote.", example='won "Acme Corp"'
            ) from None
    ref, _, rest = stripped.partition(" ")
    return ref, rest.strip()


def mention_of(text: str) -> str | None:
    """The user id of the first mention in text."""
    match = MENTION.search(text)
    return match.group(1) if match else None
