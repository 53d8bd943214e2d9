"""The grammar of `/deal stages ...` and `/deal config ...`: text in, typed requests out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from handlers.commands.grammar import CHANNEL, MENTION
from pipeline.errors import InvalidInput
from pipeline.schemas import StageOut

SET_EXAMPLE = "stages set demo 40% 10d"
ADD_EXAMPLE = "stages add Contract Sent 70% 7d"
RENAME_EXAMPLE = "stages rename demo Product Demo"
REMOVE_EXAMPLE = "stages remove demo"
ORDER_EXAMPLE = "stages order lead qualified demo proposal negotiation"
CHANNEL_EXAMPLE = "config channel #sales"
RATE_EXAMPLE = "config rate USD 0.92"
ADMINS_EXAMPLE = "config admins @alice @bob"

_PERCENT = re.compile(r"(?P<n>[0-9]{1,4})\s*%")
_DAYS = re.compile(r"(?P<n>[0-9]{1,4})\s*(?:d|days?)")
_CLEAR_WORDS = frozenset({"none", "clear", "off", "nobody", "-"})
_RAW_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")
_QUOTED = re.compile(r"(?P<q>[\"'])(?P<name>.+?)(?P=q)(?P<rest>.*)$", re.DOTALL)
_UNIT_GAP = re.compile(r"([0-9])\s+(%|d\b|days?\b)", re.IGNORECASE)
_TO = re.compile(r"^(?:to|->|→)\s+", re.IGNORECASE)
_MODE_WORDS = frozenset({"channel", "dm", "dms", "channel+dm", "dm+channel", "both"})


@dataclass(frozen=True)
class StageNumbers:
    """A stage's probability and stale threshold, either of which may be left out."""

    probability: int | None
    stale_days: int | None


@dataclass(frozen=True)
class StageSet:
    """`stages set <stage> [<p>%] [<d>d]`."""

    stage: str
    probability: int | None
    stale_days: int | None


@dataclass(frozen=True)
class StageAdd:
    """`stages add <name> <p>% <d>d [before <stage>]`."""

    name: str
    probability: int
    stale_days: int
    before: str | None = None


@dataclass(frozen=True)
class ChannelChoice:
    """`config channel ...`: a channel id, the current channel, or none."""

    channel_id: str | None
    here: bool = False


def split_numbers(text: str, example: str) -> tuple[str, StageNumbers]:
    """Take `40%` and `10d` (either order, either optional) off the end of `text`."""
    # "40 %" and "10 days" are one token each.
    words = _UNIT_GAP.sub(r"\1\2", text).split()
    probability: int | None = None
    stale: int | None = None
    while words:
        word = words[-1].lower()
        if (match := _PERCENT.fullmatch(word)) and probability is None:
            probability = int(match["n"])
        elif (match := _DAYS.fullmatch(word)) and stale is None:
            stale = int(match["n"])
        else:
            break
        words.pop()
    if words and words[-1].isdigit() and probability is None and stale is None:
        raise InvalidInput(
            f'"{words[-1]}" needs a unit: `%` for the win probability, `d` for the stale days.',
            example=example,
        )
    return " ".join(words), StageNumbers(probability, stale)


def _named(text: str, example: str, unnamed: str) -> tuple[str, StageNumbers]:
    name, numbers = split_numbers(text, example)
    if not name:
        raise InvalidInput(unnamed, example=example)
    return name, numbers


def parse_stage_set(text: str) -> StageSet:
    """`demo 40% 10d`, `demo 40%`, `Product Demo 10d`."""
    stage, numbers = _named(text, SET_EXAMPLE, "Which stage? Name it first.")
    if numbers.probability is None and numbers.stale_days is None:
        raise InvalidInput(
            "Give the win probability (`40%`), the stale threshold (`10d`), or both.",
            example=SET_EXAMPLE,
        )
    return StageSet(stage, numbers.probability, numbers.stale_days)


def parse_stage_add(text: str) -> StageAdd:
    """`Contract Sent 70% 7d`, optionally followed by `before negotiation`."""
    head, before = text, None
    match = re.search(r"\s+before\s+(?P<stage>.+)$", text, flags=re.IGNORECASE)
    if match:
        head, before = text[: match.start()], match["stage"].strip()
    name, numbers = _named(head, ADD_EXAMPLE, "The new stage needs a name.")
    if numbers.probability is None or numbers.stale_days is None:
        raise InvalidInput(
            "A new stage needs its win probability and its stale threshold in days.",
            example=ADD_EXAMPLE,
        )
    return StageAdd(name, numbers.probability, numbers.stale_days, before)


def _quoted(text: str) -> tuple[str, str] | None:
    stripped = text.strip().replace("“", '"').replace("”", '"')
    if not stripped or stripped[0] not in "\"'":
        return None
    match = _QUOTED.match(stripped)
    if match is None:
        raise InvalidInput(
            "A quoted stage name is missing its closing quote.", example='stages rename "demo" Demo'
        )
    return match["name"].strip(), match["rest"].strip()


def split_stage(text: str, stages: list[StageOut], example: str) -> tuple[str, str]:
    """The stage named first in `text` (quoted, a key or name, or one word) and the rest."""
    quoted = _quoted(text)
    if quoted is not None:
        return quoted[0], _TO.sub("", quoted[1])
    words = text.split()
    known = {s.key for s in stages} | {s.name.lower() for s in stages}
    for size in range(len(words) - 1, 0, -1):
        if " ".join(words[:size]).lower() in known:
            return " ".join(words[:size]), _TO.sub("", " ".join(words[size:]))
    separated = re.split(r"\s+(?:to|->|→)\s+", text.strip(), maxsplit=1)
    if len(separated) == 2:
        return separated[0].strip(), separated[1].strip()
    if len(words) < 2:
        raise InvalidInput("Give the stage, then its new name.", example=example)
    return words[0], " ".join(words[1:])


def parse_stage_order(text: str) -> list[str]:
    """Stages separated by commas, or by spaces when none has a space in its name."""
    parts = [p.strip() for p in text.split(",")] if "," in text else text.split()
    parts = [p for p in parts if p]
    if not parts:
        raise InvalidInput("List every stage in the new order.", example=ORDER_EXAMPLE)
    return parts


def parse_channel(text: str) -> ChannelChoice:
    """`<#C123|sales>`, `C123`, `here`, or `none`."""
    cleaned = text.strip()
    if cleaned.lower() in ("here", "this", "this channel"):
        return ChannelChoice(None, here=True)
    if cleaned.lower() in _CLEAR_WORDS:
        return ChannelChoice(None)
    linked = CHANNEL.fullmatch(cleaned)
    if linked:
        return ChannelChoice(linked.group(1))
    if _RAW_CHANNEL_ID.fullmatch(cleaned):
        return ChannelChoice(cleaned)
    if cleaned.startswith("#"):
        raise InvalidInput(
            f"Slack did not link {cleaned[:80]} to a channel: pick the channel from the list "
            "Slack shows as you type #, or run `/deal config channel here` in it.",
            example=CHANNEL_EXAMPLE,
        )
    raise InvalidInput(
        "Name the channel with #, or say `here` to use this one.", example=CHANNEL_EXAMPLE
    )


def is_reminder_mode(text: str) -> bool:
    """`config reminders dm` sets the mode, `config reminders 09:00 mon-fri` the schedule."""
    return re.sub(r"\s*\+\s*", "+", text.strip().lower()) in _MODE_WORDS


def parse_rate(text: str) -> tuple[str, Decimal]:
    """`USD 0.92` (or `USD=0.92`, `0,92`): 1 USD is worth 0.92 of the reporting currency."""
    words = text.replace("=", " ").split()
    if len(words) != 2:
        raise InvalidInput(
            "Give a currency and what one unit of it is worth in your reporting currency.",
            example=RATE_EXAMPLE,
        )
    code, number = words
    try:
        rate = Decimal(number.replace(",", ".") if number.count(",") == 1 else number)
    except InvalidOperation:
        raise InvalidInput(f'"{number[:40]}" is not a number.', example=RATE_EXAMPLE) from None
    if not rate.is_finite():
        raise InvalidInput(f'"{number[:40]}" is not a number.', example=RATE_EXAMPLE)
    return code, rate


def parse_admins(text: str) -> list[str]:
    """Mentions (`<@U123|alice>`), or `none` to leave it to Slack's workspace admins."""
    cleaned = text.strip()
    if cleaned.lower() in _CLEAR_WORDS:
        return []
    users = MENTION.findall(cleaned)
    rest = re.sub(r"[\s,]+|\band\b", " ", MENTION.sub(" ", cleaned)).strip()
    if not users or rest:
        raise InvalidInput(
            "Mention each admin so Slack links them (type @ and pick the person), or say "
            "`none` to leave it to the Slack workspace admins.",
            example=ADMINS_EXAMPLE,
        )
    return list(dict.fromkeys(users))
