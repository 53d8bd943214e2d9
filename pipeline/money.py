"""Money amounts: parsing what people type, formatting for display, converting."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from itertools import pairwise

from babel import Locale
from babel.numbers import NumberPattern, format_compact_currency, format_currency, is_currency

from pipeline.errors import InvalidInput

AMOUNT_EXAMPLE = "50k, $12,500, 12.5k EUR"
CURRENCY_EXAMPLE = "EUR"
MAX_AMOUNT = Decimal(10) ** 15

_CENT = Decimal("0.01")
_ISO_CODE = re.compile(r"[A-Z]{3}")
# XXX and XTS are ISO's "no currency" and "testing" codes: valid for babel, useless for deals.
_NOT_MONEY = frozenset({"XXX", "XTS"})
_SYMBOLS: dict[str, str] = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_SYMBOL_CLASS = "[" + re.escape("".join(_SYMBOLS)) + "]"
_MULTIPLIERS: dict[str, Decimal] = {
    "k": Decimal(10) ** 3,
    "thousand": Decimal(10) ** 3,
    "m": Decimal(10) ** 6,
    "mm": Decimal(10) ** 6,
    "mn": Decimal(10) ** 6,
    "million": Decimal(10) ** 6,
    "b": Decimal(10) ** 9,
    "bn": Decimal(10) ** 9,
    "billion": Decimal(10) ** 9,
}
# Longest first so that "bn" is not read as "b" followed by a stray "n".
_SUFFIX = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
# Spaces of every width and apostrophes only ever group thousands (12 500, 1'000'000).
_SPACE_SEPS = " \u00a0\u202f\u2009'’"
_NUM = rf"[0-9](?:[0-9.,{_SPACE_SEPS}]*[0-9])?"
_MINUS = "[-−–]"
_AMOUNT = re.compile(
    rf"""
    (?P<sign1>{_MINUS})?\s*
    (?P<pre>{_SYMBOL_CLASS}|[a-z]{{3}})?\s*
    (?P<sign2>{_MINUS})?\s*
    (?P<num>{_NUM})\s*
    (?P<suffix>{_SUFFIX})?\s*
    (?P<post>{_SYMBOL_CLASS}|[a-z]{{3}})?
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Free text: only single spaces followed by exactly three digits group thousands, so that
# "between 10 20" or "3 500 seats" do not glue unrelated numbers together.
_TEXT_NUM = re.compile(
    rf"(?<![\w.,/:#'’-])[0-9]+(?:[.,][0-9]+|[{_SPACE_SEPS}][0-9]{{3}}(?![0-9]))*",
)
_TEXT_SUFFIX = re.compile(
    r"(?:\s?(?:thousand|million|billion|bn)|(?:mm|mn|bn|k|m|b))(?![\w])", re.IGNORECASE
)
_TEXT_PRE = re.compile(rf"(?:({_SYMBOL_CLASS})|(?<![\w])([a-z]{{3}}))\s?$", re.IGNORECASE)
_TEXT_POST = re.compile(rf"\s?(?:({_SYMBOL_CLASS})|([a-z]{{3}})(?![\w]))", re.IGNORECASE)
# A number glued to one of these is a date, time, ratio, percentage or ordinal, not money.
_NOT_AMOUNT_AFTER = re.compile(r"[/:%]|[-.][0-9]|(?:st|nd|rd|th|x|h|am|pm)\b", re.IGNORECASE)
_MAX_QUOTE = 80
# No real amount is this long; the cap keeps regex backtracking on pasted junk cheap.
_MAX_INPUT = 100


@dataclass(frozen=True)
class Money:
    """An amount in one ISO 4217 currency; `amount` is always a Decimal."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money.amount must be a Decimal, not {type(self.amount).__name__}")
        if not _ISO_CODE.fullmatch(self.currency):
            raise ValueError(f"Money.currency must be an ISO code like EUR, not {self.currency!r}")


def _quote(text: str) -> str:
    shown = text.strip()
    if len(shown) > _MAX_QUOTE:
        shown = shown[: _MAX_QUOTE - 1] + "…"
    return f'"{shown}"'


def _unreadable(text: str) -> InvalidInput:
    return InvalidInput(
        f"I couldn't read {_quote(text)} as an amount.", example=AMOUNT_EXAMPLE, field="amount"
    )


@cache
def _known_currency(code: str) -> bool:
    return code not in _NOT_MONEY and bool(is_currency(code))


def normalize_currency(code: str) -> str:
    """Upper-case and validate an ISO 4217 currency code."""
    upper = code.strip().upper()
    if not _ISO_CODE.fullmatch(upper) or not _known_currency(upper):
        raise InvalidInput(
            f"{_quote(code)} isn't a currency code I know.",
            example=CURRENCY_EXAMPLE,
            field="currency",
        )
    return upper


def _marker_currency(marker: str, text: str) -> str:
    if marker in _SYMBOLS:
        return _SYMBOLS[marker]
    upper = marker.upper()
    if not _known_currency(upper):
        raise InvalidInput(
            f'I don\'t know the currency "{upper}" in {_quote(text)}.',
            example=AMOUNT_EXAMPLE,
            field="amount",
        )
    return upper


def _split_groups(integer: str, sep_chars: str) -> list[str] | None:
    groups = re.split(f"[{re.escape(sep_chars)}]", integer) if sep_chars else [integer]
    if len(groups) == 1:
        return groups
    first, *middle, last = groups
    # 2-digit middle groups allow Indian grouping (₹1,00,000); a group never starts at "0".
    if not 1 <= len(first) <= 3 or first.startswith("0") or len(last) != 3:
        return None
    if any(len(g) not in (2, 3) for g in middle):
        return None
    return groups


def _parse_number(num: str, has_suffix: bool) -> Decimal | None:
    """Read digits with thousands/decimal separators, or None when they make no sense."""
    tokens = re.findall(r"[0-9]+|[^0-9]", num)
    if any(not a.isdigit() and not b.isdigit() for a, b in pairwise(tokens)):
        return None  # two separators in a row
    seps = [t for t in tokens if not t.isdigit()]
    spaced = any(s in _SPACE_SEPS for s in seps)
    commas, dots = seps.count(","), seps.count(".")
    decimal_sep: str | None = None
    if commas and dots:
        decimal_sep = next(s for s in reversed(seps) if s in ",.")
    elif commas or dots:
        sep = "," if commas else "."
        digits_after = tokens[tokens.index(sep) + 1]
        # Repeated, it groups; once, it groups only a plain "12,500" (not "0,500" or "1,500k").
        if commas + dots == 1 and (
            spaced or has_suffix or len(digits_after) != 3 or tokens[0].startswith("0")
        ):
            decimal_sep = sep
    if decimal_sep is not None:
        integer, _, fraction = num.rpartition(decimal_sep)
        if decimal_sep in fraction or decimal_sep in integer:
            return None
        if not fraction.isdigit():
            return None  # the decimal separator must come after every group separator
    else:
        integer, fraction = num, ""
    group_chars = {s for s in seps if s != decimal_sep}
    kinds = {"space" if c in _SPACE_SEPS else c for c in group_chars}
    if len(kinds) > 1:
        return None
    groups = _split_groups(integer, "".join(group_chars))
    if groups is None or not all(g.isdigit() for g in groups):
        return None
    return Decimal("".join(groups) + ("." + fraction if fraction else ""))


def parse_amount(text: str, default_currency: str) -> Money:
    """Read an amount such as `50k`, `$12,500`, `12.500,50 €` or `usd 40k`."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("Please give an amount.", example=AMOUNT_EXAMPLE, field="amount")
    match = _AMOUNT.fullmatch(stripped) if len(stripped) <= _MAX_INPUT else None
    if match is None:
        raise _unreadable(text)
    if match["sign1"] or match["sign2"]:
        raise InvalidInput(
            f"An amount can't be negative: {_quote(text)}.", example=AMOUNT_EXAMPLE, field="amount"
        )
    suffix = (match["suffix"] or "").lower()
    value = _parse_number(match["num"], has_suffix=bool(suffix))
    if value is None:
        raise _unreadable(text)
    # A dict keeps the order they were written in, for the message.
    currencies = list(
        dict.fromkeys(_marker_currency(m, text) for m in (match["pre"], match["post"]) if m)
    )
    if len(currencies) > 1:
        names = " and ".join(currencies)
        raise InvalidInput(
            f"{_quote(text)} names two currencies ({names}); use one.",
            example=AMOUNT_EXAMPLE,
            field="amount",
        )
    currency = currencies[0] if currencies else normalize_currency(default_currency)
    if suffix:
        value *= _MULTIPLIERS[suffix]
    if value > MAX_AMOUNT:
        raise InvalidInput(
            f"{_quote(text)} is too large for an amount.", example=AMOUNT_EXAMPLE, field="amount"
        )
    try:
        amount = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # pragma: no cover - bounded above, kept as a safety net
        raise _unreadable(text) from exc
    return Money(amount, currency)


def _qualifies(core: str, has_marker: bool, has_suffix: bool) -> bool:
    if has_marker or has_suffix:
        return True
    integer_digits = re.split(r"[.,](?=[0-9]{1,2}$)", core)[0]
    digits = re.sub(r"[^0-9]", "", integer_digits)
    if len(digits) < 3:
        return False
    # A bare 4-digit year ("closing in 2027") is far likelier than an amount.
    return not (core.isdigit() and len(core) == 4 and 1900 <= int(core) <= 2100)


def extract_amount(text: str, default_currency: str) -> tuple[Money, int, int] | None:
    """Find the first amount in free text; return it with its (start, end) span."""
    for found in _TEXT_NUM.finditer(text):
        start, end = found.span()
        suffix = _TEXT_SUFFIX.match(text, end)
        if suffix:
            end = suffix.end()
        elif _NOT_AMOUNT_AFTER.match(text, end):
            continue
        has_marker = False
        pre = _TEXT_PRE.search(text, max(0, start - 4), start)
        if pre and (pre[1] or _known_currency(pre[2].upper())):
            start, has_marker = pre.start(), True
        post = _TEXT_POST.match(text, end)
        if post and (post[1] or _known_currency(post[2].upper())):
            end, has_marker = post.end(), True
        elif re.match(r"\w", text[end : end + 1]):
            continue  # glued to a word: "50kg", "3rd", "v2"
        if not _qualifies(found.group(), has_marker, bool(suffix)):
            continue
        try:
            money = parse_amount(text[start:end], default_currency)
        except InvalidInput:
            continue
        return money, start, end
    return None


def _pattern(locale: Locale, decimals: int) -> NumberPattern:
    pattern: NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (decimals, decimals)
    return pattern


def format_money(money: Money, locale: str = "en_US") -> str:
    """Format for display: `€50,000`, `$12,500.50` (no decimals when whole)."""
    loc = Locale.parse(locale)
    whole = money.amount == money.amount.to_integral_value()
    # Money carries cents for every currency, so show them even where the currency has none.
    return format_currency(
        money.amount,
        money.currency,
        format=_pattern(loc, 0 if whole else 2),
        locale=loc,
        currency_digits=False,
    )


def format_compact(money: Money, locale: str = "en_US", *, digits: int = 1) -> str:
    """Short form for tight spaces: `€50K`, `$1.2M` (`digits=2`: `€1.05M`)."""
    return format_compact_currency(
        money.amount, money.currency, locale=locale, fraction_digits=digits
    )


def convert(money: Money, to: str, rates: Mapping[str, Decimal]) -> Money | None:
    """Convert using `rates` (CUR -> value of 1 CUR in `to`); None when no rate is known."""
    target = to.upper()
    if money.currency == target:
        return money
    rate = rates.get(money.currency)
    if rate is None:
        return None
    return Money((money.amount * rate).quantize(_CENT, rounding=ROUND_HALF_UP), target)
