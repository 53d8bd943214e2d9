"""The limits and checks every pipeline operation applies to what people type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.errors import InvalidInput
from pipeline.limits import LIMITS, TextField, check_text
from pipeline.money import MAX_AMOUNT, Money, normalize_currency

MAX_NAME = LIMITS[TextField.NAME]
MAX_TEXT = LIMITS[TextField.ACTIVITY]
MAX_ADMINS = 50
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TeamDefaults:
    """What a team starts with the first time pipebot sees it."""

    timezone: str = "UTC"
    currency: str = "USD"


DEFAULTS = TeamDefaults()


@dataclass(frozen=True)
class NextStep:
    """A follow-up: what to do and by when."""

    text: str
    due: date


class _Unset:
    """Marks an edit field the caller did not touch (None means clear it)."""


UNSET = _Unset()


def validate_deal_name(name: str) -> str:
    """A deal name within its limit, spaces collapsed, not something that reads as a number."""
    cleaned = check_text(" ".join(name.split()), TextField.NAME, example="add Acme Corp 50k")
    if cleaned.lstrip("#").isdigit():
        raise InvalidInput(
            f'"{cleaned}" reads as a deal number; give the deal a name with letters in it.',
            example="add Acme Corp 50k",
            field="name",
        )
    return cleaned


def validate_amount(money: Money | None) -> Money | None:
    """A non-negative amount below the limit, in hundredths, with a known currency."""
    if money is None:
        return None
    if money.amount < 0:
        raise InvalidInput("An amount can't be negative.", example="50k", field="amount")
    if money.amount > MAX_AMOUNT:
        raise InvalidInput("That amount is too large.", example="1.2M", field="amount")
    # Stored in hundredths: round half to even, as the integer conversion always did.
    return Money(money.amount.quantize(CENT), normalize_currency(money.currency))


def validate_user(value: str, *, what: str = "owner") -> str:
    """A Slack user id."""
    user = value.strip()
    if not user or len(user) > 32 or not user.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(f'"{value}" is not a Slack user id.', example="U012ABCDEF", field=what)
    return user


def validate_source(source: str | None) -> str | None:
    """Where a deal came from, within its limit; empty means none."""
    if not source:
        return None
    return check_text(source, TextField.SOURCE, example="source:webinar")
