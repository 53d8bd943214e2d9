"""The `/deal add` line: every word understood, or the line refused with the word quoted.

Grammar (after Slack's escaping: a mention arrives as `<@U…|name>`):

    line    = name field*
    name    = "quoted words" | word+          (no word that looks like a field)
    field   = amount | stage | mention | close:<date> | next:<text> by <date> | source:<text>
    amount  = 50k · 1.2M · $12,500 · 12 500 € · €12.5k · 12.5k EUR · usd 40k
    stage   = a stage's key or name, up to three words

The keyword fields run to the next keyword or mention, so their values may hold spaces. The
amount and stage come right after the name, in either order. A word that looks like a field
inside the name (a number, a currency sign, `@someone`, `word:value`) is refused rather than
kept, because "Foo 50k banana" is far more often a typo than a company called that; a name
with such words is written in quotes: `add "3M Company" 50k`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from handlers.commands.grammar import CHANNEL, MENTION, split_keywords
from pipeline.dates import parse_date
from pipeline.errors import InvalidInput
from pipeline.money import Money, parse_amount
from pipeline.schemas import StageOut

EXAMPLE = "add Acme Corp 50k proposal close:next friday @alice"
QUOTED_EXAMPLE = 'add "3M Company" 50k'
_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»"}
# A word that reads as an amount, or the start of one: a sign, a currency symbol or a digit.
_AMOUNT_LIKE = re.compile(r"[-−–+]?[$€£¥₹₩₽₺₪฿]*[0-9]|[-−–+]?[$€£¥₹₩₽₺₪฿]+$")
_KEYWORD_LIKE = re.compile(r"[A-Za-z]+:[^/\s]")
_NEXT = re.compile(r"(?is)(.+?)\s+by\s+(.+)$")
_MAX_FIELD_WORDS = 3


@dataclass(frozen=True)
class AddLine:
    """What a `/deal add` line asks for, every part typed."""

    name: str
    amount: Money | None = None
    stage: str | None = None
    owner: str | None = None
    close: date | None = None
    next_text: str | None = None
    next_due: date | None = None
    source: str | None = None


@dataclass(frozen=True)
class _Field:
    kind: str  # "amount" or "stage"
    value: Money | str


def _quote(word: str) -> str:
    return f'"{word if len(word) <= 60 else word[:59] + "…"}"'


def _read_field(words: Sequence[str], stages: Sequence[StageOut], currency: str) -> _Field | None:
    """The stage or the amount spelled by exactly these words, if they spell one."""
    candidate = " ".join(words)
    lowered = candidate.lower()
    key = next((s.key for s in stages if lowered in (s.key, s.name.lower())), None)
    if key is not None:
        return _Field("stage", key)
    if not re.search(r"[0-9]", candidate):
        return None
    try:
        return _Field("amount", parse_amount(candidate, currency))
    except InvalidInput:
        return None


def _trailing_fields(
    words: list[str], first: int, stages: Sequence[StageOut], currency: str
) -> tuple[int, dict[str, Money | str]]:
    """Where the amount and stage at the end of `words` start (never before `first`)."""
    found: dict[str, Money | str] = {}
    end = len(words)
    while end > first:
        for size in range(min(_MAX_FIELD_WORDS, end - first), 0, -1):
            field = _read_field(words[end - size : end], stages, currency)
            if field is not None and field.kind not in found:
                found[field.kind] = field.value
                end -= size
                break
        else:
            break
    return end, found


def _field_size(words: Sequence[str], at: int, stages: Sequence[StageOut], currency: str) -> int:
    """How many words the amount or stage starting at `at` spans (0: none starts there)."""
    for size in range(min(_MAX_FIELD_WORDS, len(words) - at), 0, -1):
        if _read_field(words[at : at + size], stages, currency) is not None:
            return size
    return 0


def _refuse_field_words(
    name_words: list[str], rest: list[str], stages: Sequence[StageOut], currency: str
) -> None:
    """Refuse a name holding a word that reads as a field, quoting the word not understood."""
    for word in name_words:
        if word.startswith("@"):
            raise InvalidInput(
                f"{_quote(word)} is not a member of this workspace, so the deal can't be "
                "theirs: type @ and pick the person from Slack's list.",
                example=EXAMPLE,
            )
        if _KEYWORD_LIKE.match(word) and "://" not in word:
            raise InvalidInput(
                f"I don't understand {_quote(word)}: the keywords are close:, next: and source:.",
                example=EXAMPLE,
            )
        if _AMOUNT_LIKE.match(word):
            try:
                parse_amount(word, currency)
            except InvalidInput as error:
                raise InvalidInput(
                    f"{error.message} If {_quote(word)} is part of the deal's name, put the "
                    "name in quotes.",
                    example=EXAMPLE,
                    field="amount",
                ) from None
    words = name_words + rest
    for index, word in enumerate(name_words):
        if not _AMOUNT_LIKE.match(word):
            continue
        at = index + max(_field_size(words, index, stages, currency), 1)
        while at < len(words) and (size := _field_size(words, at, stages, currency)):
            at += size
        if index == 0:
            raise InvalidInput(
                f"The deal needs a name before the amount {_quote(word)}; a name with "
                "numbers goes in quotes.",
                example=QUOTED_EXAMPLE,
            )
        if at >= len(words):
            raise InvalidInput(
                f"The line has two amounts or two stages, from {_quote(word)} on: a deal has "
                "one of each.",
                example=EXAMPLE,
            )
        raise InvalidInput(
            f"I don't understand {_quote(words[at])} after the amount {_quote(word)}: the name "
            "comes first, then the amount, the stage, close:, next:, source: and @owner. If "
            f"{_quote(word)} is part of the name, put the name in quotes.",
            example=EXAMPLE,
        )


def _split_name(head: str) -> tuple[list[str] | None, list[str]]:
    """A quoted name and the words after it; (None, words) when the name is not quoted."""
    text = head.strip()
    closing = _QUOTES.get(text[:1])
    if closing is None:
        return None, text.split()
    end = text.find(closing, 1)
    if end < 0:
        raise InvalidInput(
            "The quoted deal name is missing its closing quote.", example=QUOTED_EXAMPLE
        )
    name = text[1:end].split()
    if not name:
        raise InvalidInput("The quoted deal name is empty.", example=QUOTED_EXAMPLE)
    return name, text[end + 1 :].split()


def _owner(head: str) -> tuple[str | None, str]:
    if CHANNEL.search(head):
        channel = CHANNEL.search(head)
        assert channel is not None
        raise InvalidInput(
            f"A deal's owner is a person, not the channel {_quote(channel.group(0))}.",
            example=EXAMPLE,
        )
    owners = MENTION.findall(head)
    if len(owners) > 1:
        raise InvalidInput("A deal has one owner: mention one person.", example=EXAMPLE)
    return (owners[0] if owners else None), MENTION.sub(" ", head)


def _close(parts: dict[str, str], today: date) -> date | None:
    if "close:" not in parts:
        return None
    if not parts["close:"]:
        raise InvalidInput("`close:` needs a date.", example="add Acme 50k close:next friday")
    return parse_date(parts["close:"], today=today)


def _next_step(parts: dict[str, str], today: date) -> tuple[str | None, date | None]:
    if "next:" not in parts:
        return None, None
    match = _NEXT.match(parts["next:"])
    if not match:
        raise InvalidInput(
            f"The next step {_quote(parts['next:'])} needs a due date: end it with `by <date>`.",
            example="add Acme 50k next:send proposal by friday",
        )
    return match.group(1).strip(), parse_date(match.group(2).strip(), today=today)


def parse_add_line(text: str, *, stages: Sequence[StageOut], currency: str, today: date) -> AddLine:
    """Read a whole `/deal add` line, or raise InvalidInput quoting the part not understood."""
    head, parts = split_keywords(text)
    owner, head = _owner(head)
    quoted, words = _split_name(head)
    first = 0 if quoted is not None else 1
    fields_start, fields = _trailing_fields(words, first, stages, currency)
    amount, stage = fields.get("amount"), fields.get("stage")
    if quoted is not None:
        if fields_start:
            raise InvalidInput(
                f"I don't understand {_quote(words[0])} after the quoted name.",
                example=QUOTED_EXAMPLE,
            )
        name_words = quoted
    else:
        name_words = words[:fields_start]
        _refuse_field_words(name_words, words[fields_start:], stages, currency)
    if not name_words:
        raise InvalidInput("The deal needs a name.", example=EXAMPLE)
    next_text, next_due = _next_step(parts, today)
    return AddLine(
        name=" ".join(name_words),
        amount=amount if isinstance(amount, Money) else None,
        stage=stage if isinstance(stage, str) else None,
        owner=owner,
        close=_close(parts, today),
        next_text=next_text,
        next_due=next_due,
        source=parts.get("source:") or None,
    )
