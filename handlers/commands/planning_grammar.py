"""The grammar of `/deal target ...` and the list settings: text in, typed requests out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from handlers.commands.grammar import MENTION
from pipeline.errors import InvalidInput
from pipeline.money import parse_amount
from pipeline.planning import Period, looks_like_period, parse_period

TARGET_EXAMPLE = "target 500k 2027-Q1"
REP_TARGET_EXAMPLE = "target @alice 120k 2027-Q1"
CLEAR_EXAMPLE = "target clear @alice 2027-Q1"
_CLEAR_WORDS = frozenset({"clear", "remove", "rm", "delete", "none"})


@dataclass(frozen=True)
class TargetSet:
    """`target [@rep] <amount> <period>`: the team's target when no rep is named."""

    owner: str | None
    amount: Decimal
    period: Period


@dataclass(frozen=True)
class TargetClear:
    """`target clear [@rep] <period>`."""

    owner: str | None
    period: Period


def _owner(words: list[str]) -> str | None:
    """Take the one mention out of `words`; a second one is refused."""
    owners = [w for w in words if MENTION.fullmatch(w)]
    if len(owners) > 1:
        raise InvalidInput(
            f"A target is for the team or one rep, not {len(owners)}.", example=REP_TARGET_EXAMPLE
        )
    for owner in owners:
        words.remove(owner)
    match = MENTION.fullmatch(owners[0]) if owners else None
    return match.group(1) if match else None


def _period(words: list[str], example: str) -> Period:
    periods = [w for w in words if looks_like_period(w)]
    if not periods:
        raise InvalidInput(
            "Which month or quarter? Add it as `2027-Q1` or `2027-01`.", example=example
        )
    if len(periods) > 1:
        quoted = " and ".join(f'"{p}"' for p in periods)
        raise InvalidInput(f"{quoted} are two periods; give one.", example=example)
    words.remove(periods[0])
    return parse_period(periods[0])


def parse_target(text: str, currency: str) -> TargetSet | TargetClear:
    """`500k 2027-Q1`, `@alice 120k 2027-Q1` (any order), or `clear [@alice] 2027-Q1`."""
    words = text.split()
    if words and words[0].lower() in _CLEAR_WORDS:
        rest = words[1:]
        owner = _owner(rest)
        period = _period(rest, CLEAR_EXAMPLE)
        if rest:
            raise InvalidInput(
                f'I did not understand "{" ".join(rest)[:80]}".', example=CLEAR_EXAMPLE
            )
        return TargetClear(owner, period)
    owner = _owner(words)
    example = REP_TARGET_EXAMPLE if owner else TARGET_EXAMPLE
    period = _period(words, example)
    if not words:
        raise InvalidInput("How much? Give the target amount.", example=example)
    try:
        money = parse_amount(" ".join(words), currency)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, example=example, field="amount") from None
    if money.currency != currency:
        raise InvalidInput(
            f'"{" ".join(words)[:80]}" is in {money.currency}; targets are in {currency}, '
            "the reporting currency.",
            example=example,
        )
    if money.amount <= 0:
        raise InvalidInput("A target is an amount above zero.", example=example)
    return TargetSet(owner, money.amount, period)
