"""What managers plan with: lead sources, loss reasons and revenue targets (pure rules).

A source is a key (`referral`); a loss reason a key and a display name (`no_budget`, "No
budget"); a target an amount in the reporting currency for the team (owner None) or one rep,
for a month (`2027-01`) or a quarter (`2027-Q1`). Nothing here reads or writes storage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from pipeline.dates import end_of_month, end_of_quarter
from pipeline.errors import InvalidInput, Refused

DEFAULT_SOURCES = ("inbound", "outbound", "referral", "partner", "event")
DEFAULT_REASONS = (
    ("price", "Price"),
    ("competitor", "Competitor"),
    ("no_budget", "No budget"),
    ("no_decision", "No decision"),
    ("timing", "Timing"),
    ("lost_contact", "Lost contact"),
    ("other", "Other"),
)
OTHER = "other"
NONE = "none"
MAX_KEY = 40
MAX_REASON_NAME = 60
# A select offers at most 100 options; a list that long is no longer a list people pick from.
MAX_ITEMS = 40
SOURCE_EXAMPLE = "config sources add webinar"
REASON_EXAMPLE = "config reasons add Legal review"
PERIOD_EXAMPLE = "2027-Q1 or 2027-01"

_KEY_CHARS = re.compile(r"[^a-z0-9]+")
_MONTH = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})")
_QUARTER = re.compile(r"(?P<y>[0-9]{4})-?q(?P<q>[1-4])|q(?P<q2>[1-4])[-\s]?(?P<y2>[0-9]{4})")


class LostReason(BaseModel):
    """A loss reason: its stable key and the name people see."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    key: str
    name: str


class TargetOut(BaseModel):
    """A revenue target: the team's (owner None) or one rep's, for one month or quarter."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    owner: str | None
    period: str
    amount: Decimal


def default_reasons() -> list[LostReason]:
    """The loss reasons every team starts with."""
    return [LostReason(key=key, name=name) for key, name in DEFAULT_REASONS]


def key_of(text: str) -> str:
    """The key a name or typed word stands for: `Trade Show` -> `trade_show`."""
    return _KEY_CHARS.sub("_", text.strip().lower()).strip("_")[:MAX_KEY]


def _checked_key(text: str, what: str, example: str) -> str:
    key = key_of(text)
    if not key:
        raise InvalidInput(
            f'"{text.strip()[:60]}" is not a usable {what}: use letters or digits.', example=example
        )
    if key == NONE:
        raise InvalidInput(
            f'"{NONE}" is reserved: it counts deals with no {what}.', example=example
        )
    return key


# --- sources --------------------------------------------------------------------------------


def resolve_source(text: str | None, sources: Sequence[str]) -> str | None:
    """The source key `text` names; empty means none; a word not in the list is refused."""
    if text is None or not text.strip():
        return None
    key = key_of(text)
    if key in sources:
        return key
    listed = ", ".join(sources) or "none yet"
    raise InvalidInput(
        f'"{text.strip()[:60]}" is not one of the team\'s sources ({listed}). An admin adds '
        "one with `/deal config sources add <name>`.",
        example=f"add Acme 50k source:{sources[0] if sources else 'referral'}",
        field="source",
    )


def add_source(sources: Sequence[str], text: str) -> list[str]:
    """The list with a new source at its end."""
    key = _checked_key(text, "source", SOURCE_EXAMPLE)
    if key in sources:
        raise Refused(f"`{key}` is already a source.")
    if len(sources) >= MAX_ITEMS:
        raise Refused(f"A team has at most {MAX_ITEMS} sources.")
    return [*sources, key]


def remove_source(sources: Sequence[str], text: str) -> list[str]:
    """The list without a source; deals keep it (stats list it after the team's list)."""
    key = key_of(text)
    if key not in sources:
        raise InvalidInput(
            f'"{text.strip()[:60]}" is not a source: {", ".join(sources) or "the list is empty"}.',
            example="config sources remove event",
        )
    return [s for s in sources if s != key]


# --- loss reasons ---------------------------------------------------------------------------


def find_reason(text: str, reasons: Sequence[LostReason]) -> LostReason | None:
    """The reason whose key or name `text` is (case, spaces and underscores aside)."""
    key = key_of(text)
    return next((r for r in reasons if r.key == key or key_of(r.name) == key), None)


def split_reason(text: str, reasons: Sequence[LostReason]) -> tuple[LostReason | None, str]:
    """The reason the text starts with (the longest key or name) and the rest, the detail."""
    words = text.split()
    for size in range(min(len(words), 6), 0, -1):
        reason = find_reason(" ".join(words[:size]), reasons)
        if reason is not None:
            rest = " ".join(words[size:]).lstrip(":-–— ").strip()
            return reason, rest
    return None, text.strip()


def reason_key(text: str | None, reasons: Sequence[LostReason]) -> tuple[str | None, str | None]:
    """(key, detail) for a reason as imported: no key of the team is `other` with the text."""
    if text is None or not text.strip():
        return None, None
    reason = find_reason(text, reasons)
    if reason is not None:
        return reason.key, None
    return OTHER, text.strip()


def add_reason(reasons: Sequence[LostReason], name: str) -> list[LostReason]:
    """The list with a new reason (its key made from its name) at its end."""
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_REASON_NAME:
        raise InvalidInput(
            f"A loss reason's name needs 1 to {MAX_REASON_NAME} characters.", example=REASON_EXAMPLE
        )
    key = _checked_key(clean, "loss reason", REASON_EXAMPLE)
    if any(r.key == key or key_of(r.name) == key for r in reasons):
        raise Refused(f'"{clean}" is already a loss reason.')
    if len(reasons) >= MAX_ITEMS:
        raise Refused(f"A team has at most {MAX_ITEMS} loss reasons.")
    return [*reasons, LostReason(key=key, name=clean)]


def remove_reason(reasons: Sequence[LostReason], text: str) -> list[LostReason]:
    """The list without a reason; `other` stays, the fallback for a reason no longer listed."""
    reason = find_reason(text, reasons)
    if reason is None:
        raise InvalidInput(
            f'"{text.strip()[:60]}" is not a loss reason: '
            + ", ".join(r.key for r in reasons)
            + ".",
            example="config reasons remove timing",
        )
    if reason.key == OTHER:
        raise Refused("`other` stays: it is where a reason that is no longer listed goes.")
    return [r for r in reasons if r.key != reason.key]


def reason_name(key: str | None, reasons: Sequence[LostReason]) -> str:
    """The name of a reason key; a key no longer listed shows as itself."""
    if key is None:
        return "No reason"
    return next((r.name for r in reasons if r.key == key), key.replace("_", " ").capitalize())


def reason_label(key: str | None, detail: str | None, reasons: Sequence[LostReason]) -> str | None:
    """`Price — went with a cheaper vendor`, or None when the deal has neither."""
    if key is None:
        return detail
    return reason_name(key, reasons) + (f" — {detail}" if detail else "")


# --- periods and targets --------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter: its canonical text and its first and last day."""

    text: str
    first: date
    last: date

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) of the period as instants in the team's time zone."""
        zone = ZoneInfo(tz)
        start = datetime.combine(self.first, time(0), tzinfo=zone)
        end = datetime.combine(date.fromordinal(self.last.toordinal() + 1), time(0), tzinfo=zone)
        return start, end

    def contains(self, day: date) -> bool:
        """Whether the day falls in the period."""
        return self.first <= day <= self.last


def parse_period(text: str) -> Period:
    """`2027-01` (a month) or `2027-Q1` (also `2027q1`, `Q1 2027`) into a period."""
    cleaned = text.strip().lower()
    month = _MONTH.fullmatch(cleaned)
    if month and 1 <= int(month["m"]) <= 12 and 2000 <= int(month["y"]) <= 2999:
        first = date(int(month["y"]), int(month["m"]), 1)
        return Period(f"{first:%Y-%m}", first, end_of_month(first))
    quarter = _QUARTER.fullmatch(cleaned)
    if quarter:
        year = int(quarter["y"] or quarter["y2"])
        number = int(quarter["q"] or quarter["q2"])
        if 2000 <= year <= 2999:
            first = date(year, 3 * number - 2, 1)
            return Period(f"{year}-Q{number}", first, end_of_quarter(first))
    raise InvalidInput(
        f'"{text.strip()[:40]}" is not a month or a quarter.',
        example=f"target 500k {PERIOD_EXAMPLE.split()[0]}",
        field="period",
    )


def looks_like_period(text: str) -> bool:
    """Whether a word is a period (so the grammar can tell it from an amount)."""
    try:
        parse_period(text)
    except InvalidInput:
        return False
    return True


def validate_target_amount(amount: Decimal) -> Decimal:
    """A target is a positive amount in the reporting currency."""
    if amount <= 0:
        raise InvalidInput(
            "A target is an amount above zero.", example="target 500k 2027-Q1", field="amount"
        )
    return amount


def set_target(targets: Sequence[TargetOut], new: TargetOut) -> list[TargetOut]:
    """The targets with `new` replacing any for the same owner and period."""
    kept = [t for t in targets if (t.owner, t.period) != (new.owner, new.period)]
    return sort_targets([*kept, new])


def sort_targets(targets: Sequence[TargetOut]) -> list[TargetOut]:
    """The team's targets first, then each rep's (by id); each one's periods in order."""
    return sorted(
        targets,
        key=lambda t: (t.owner is not None, t.owner or "", parse_period(t.period).first, t.period),
    )
