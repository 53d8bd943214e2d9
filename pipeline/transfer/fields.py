"""Field readers shared by the JSON and CSV readers, and the value formats the writers use.

Every reader checks one value and, when it is wrong, raises InvalidInput naming where the value
was (a JSON path or a CSV row and column) and what would have been right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import NoReturn, TypeVar

from pipeline.errors import InvalidInput, PipebotError
from pipeline.money import CURRENCY_EXAMPLE, MAX_AMOUNT, normalize_currency
from pipeline.transfer.plan import DAY_EXAMPLE, MAX_ID, TIME_EXAMPLE, USER_EXAMPLE, DealRecord
from pipeline.types import OUTCOMES

_MAX_SHOWN = 60
STAGE_KEY = re.compile(r"[a-z0-9_]{1,40}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")

T = TypeVar("T")


def show(value: object) -> str:
    """A value quoted for an error message, cut short when long."""
    if isinstance(value, str):
        # Control characters would garble a one-line message: show them escaped.
        printable = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)
        text = f'"{printable}"'
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "an object"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 2] + "…" + text[-1]


def fail(path: str, message: str, example: str | None = None) -> NoReturn:
    """Raise InvalidInput for the value at `path`."""
    raise InvalidInput(f"{path}: {message}", example=example, field=path)


def validated(path: str, parse: Callable[[str], T], value: str, example: str | None = None) -> T:
    """Run a domain validator, prefixing its message with where the value was."""
    try:
        return parse(value)
    except PipebotError as exc:
        fail(path, exc.message, example or exc.example)


def check_team_id(team_id: str) -> None:
    """Refuse a team id that could not be Slack's."""
    if not team_id or len(team_id) > MAX_ID or team_id != team_id.strip():
        raise InvalidInput(f'"{team_id}" is not a team id.', example="T012ABCDEF", field="team")


# --- JSON value readers --------------------------------------------------------------------


def get(obj: Mapping[str, object], key: str, path: str) -> object:
    """`obj[key]`, refused as missing when absent."""
    if key not in obj:
        fail(f"{path}.{key}" if path else key, "is missing")
    return obj[key]


def as_object(value: object, path: str) -> dict[str, object]:
    """A JSON object."""
    if not isinstance(value, dict):
        fail(path, f"expected an object, not {show(value)}")
    return value


def as_list(value: object, path: str) -> list[object]:
    """A JSON list."""
    if not isinstance(value, list):
        fail(path, f"expected a list, not {show(value)}")
    return value


def as_string(value: object, path: str, example: str | None = None) -> str:
    """A string PostgreSQL can store."""
    if not isinstance(value, str):
        fail(path, f"expected a string, not {show(value)}", example)
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL.
        fail(path, "contains a NUL character", example)
    return value


def as_text(value: object, path: str, *, limit: int, example: str | None = None) -> str:
    """A non-blank string of at most `limit` characters."""
    text = as_string(value, path, example)
    if not text.strip():
        fail(path, "is empty", example)
    if len(text) > limit:
        fail(path, f"is {len(text):,} characters long; the limit is {limit:,}", example)
    return text


def opt_text(value: object, path: str, *, limit: int) -> str | None:
    """`as_text`, or None for null."""
    return None if value is None else as_text(value, path, limit=limit)


def as_owner(value: object, path: str) -> str:
    """A Slack user id, by the same rule the service applies to owners."""
    user = as_string(value, path, USER_EXAMPLE)
    if not user or len(user) > MAX_ID or not user.replace("-", "").replace("_", "").isalnum():
        fail(path, f"{show(value)} is not a Slack user id", USER_EXAMPLE)
    return user


@lru_cache(maxsize=4096)
def is_actor(user: str) -> bool:
    """True for an id that fits the user columns: one word, at most 32 characters."""
    return 0 < len(user) <= MAX_ID and len(user.split()) == 1 and user == user.strip()


def as_actor(value: object, path: str) -> str:
    """Who did something: any id that fits the column (jobs may act under their own names)."""
    # Cached: a million history rows name the same few users.
    if isinstance(value, str) and is_actor(value):
        return value
    as_string(value, path, USER_EXAMPLE)
    fail(path, f"{show(value)} is not a user id", USER_EXAMPLE)


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 time with an offset, in UTC; None when it is not one."""
    if type(value) is not str or len(value) <= 10:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is UTC:
        return parsed
    return None if parsed.utcoffset() is None else parsed.astimezone(UTC)


def as_time(value: object, path: str) -> datetime:
    """An ISO-8601 time with a UTC offset, in UTC."""
    parsed = parse_time(value)
    if parsed is None:
        if isinstance(value, str) and len(value) > 10:
            try:
                naive = datetime.fromisoformat(value).tzinfo is None
            except ValueError:
                naive = False
            if naive:
                fail(path, f"{show(value)} has no UTC offset", TIME_EXAMPLE)
        fail(path, f"{show(value)} is not an ISO-8601 time", TIME_EXAMPLE)
    return parsed


def opt_time(value: object, path: str) -> datetime | None:
    """`as_time`, or None for null."""
    return None if value is None else as_time(value, path)


def as_date(value: object, path: str) -> date:
    """A real calendar date written YYYY-MM-DD."""
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            fail(path, f"{show(value)} is not a real date", DAY_EXAMPLE)
    fail(path, f"{show(value)} is not a date like {DAY_EXAMPLE}", DAY_EXAMPLE)


def opt_date(value: object, path: str) -> date | None:
    """`as_date`, or None for null."""
    return None if value is None else as_date(value, path)


def as_int(value: object, path: str, low: int, high: int) -> int:
    """A whole number from `low` to `high`."""
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, f"expected a whole number, not {show(value)}")
    if not low <= value <= high:
        fail(path, f"{value} is not between {low} and {high}")
    return value


def number_text(value: object) -> str | None:
    """The text of a JSON number or string; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_cents(value: object, path: str) -> int | None:
    """An amount as a JSON number or string, in cents; None for null."""
    if value is None:
        return None
    text = number_text(value)
    if text is None or not _AMOUNT.fullmatch(text):
        fail(path, f'{show(value)} is not an amount like "50000.00"', "50000.00")
    amount = Decimal(text)
    if amount >= MAX_AMOUNT:
        fail(path, f"{show(value)} is too large for an amount", "50000.00")
    return int(amount.scaleb(2))


def as_currency(value: object, path: str) -> str:
    """A currency code the service accepts, normalized."""
    return validated(path, normalize_currency, as_string(value, path, CURRENCY_EXAMPLE))


def as_choice(value: object, path: str, choices: Sequence[str]) -> str:
    """One of `choices`, exactly."""
    if not isinstance(value, str) or value not in choices:
        fail(path, f"{show(value)} is not one of {', '.join(choices)}", choices[0])
    return value


def as_stage_key(value: object, path: str, *, outcome_ok: bool = False) -> str:
    """A stage key; an outcome (won, lost) only when `outcome_ok`."""
    if isinstance(value, str):
        if value in OUTCOMES:
            if outcome_ok:
                return value
            fail(path, f'"{value}" is an outcome, not an open stage', "proposal")
        if STAGE_KEY.fullmatch(value):
            return value
    fail(path, f"{show(value)} is not a stage key (a-z, 0-9 and _)", "proposal")


def amount_text(cents: int | None) -> str | None:
    """Cents as an exact decimal string like "50000.00"; None for no amount."""
    if cents is None:
        return None
    units, hundredths = divmod(cents, 100)
    return f"{units}.{hundredths:02d}"


def iso(value: datetime | None) -> str | None:
    """A time in UTC as ISO-8601 with a Z."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


def day_text(value: date | None) -> str | None:
    """A date as YYYY-MM-DD."""
    return None if value is None else value.isoformat()


def decimal_text(value: Decimal) -> str:
    """A rate without exponent or trailing zeros."""
    return format(Decimal(value).normalize(), "f")


def deal_values(d: DealRecord) -> dict[str, int | str | None]:
    """A deal's exported values by name (CSV's columns and more): times, days, amounts as text."""
    return {
        "number": d["number"],
        "name": d["name"],
        "amount": amount_text(d["amount_cents"]),
        "currency": d["currency"],
        "owner": d["owner_id"],
        "stage": d["stage"],
        "status": d["status"],
        "created_at": iso(d["created_at"]),
        "created_by": d["created_by"],
        "closed_at": iso(d["closed_at"]),
        "close_date": day_text(d["close_date"]),
        "next_step": d["next_step_text"],
        "next_step_due": day_text(d["next_step_due"]),
        "lost_reason": d["lost_reason"],
        "lost_detail": d.get("lost_detail"),
        "source": d["source"],
        "last_activity_at": iso(d["last_activity_at"]),
        "snoozed_until": day_text(d["snoozed_until"]),
        "updated_at": iso(d["updated_at"]),
        "updated_by": d["updated_by"],
    }
