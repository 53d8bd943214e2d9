"""Tests for pipeline.money: parsing, extraction, formatting and conversion of amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import InvalidInput
from pipeline.money import (
    AMOUNT_EXAMPLE,
    MAX_AMOUNT,
    Money,
    convert,
    extract_amount,
    format_compact,
    format_money,
    normalize_currency,
    parse_amount,
)


def money(amount: str, currency: str = "EUR") -> Money:
    return Money(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50k", money("50000")),
        ("50K", money("50000")),
        ("1.2M", money("1200000")),
        ("1.5m", money("1500000")),
        ("2bn", money("2000000000")),
        ("2 bn", money("2000000000")),
        ("3b", money("3000000000")),
        ("1mm", money("1000000")),
        ("$12,500", money("12500", "USD")),
        ("12 500 €", money("12500")),
        ("12\u00a0500 €", money("12500")),
        ("12\u202f500 €", money("12500")),
        ("1'000'000 CHF", money("1000000", "CHF")),
        ("1’000’000 CHF", money("1000000", "CHF")),
        ("€12.5k", money("12500")),
        ("12.5k EUR", money("12500")),
        ("12.5k€", money("12500")),
        ("EUR 12,500.50", money("12500.50")),
        ("EUR12,500.50", money("12500.50")),
        ("12.500,50 €", money("12500.50")),
        ("12 500,50 €", money("12500.50")),
        ("50000", money("50000")),
        ("£3,000", money("3000", "GBP")),
        ("¥5000", money("5000", "JPY")),
        ("₹1,00,000", money("100000", "INR")),
        ("usd 40k", money("40000", "USD")),
        ("40k usd", money("40000", "USD")),
        ("1m USD", money("1000000", "USD")),
        ("50 kes", money("50", "KES")),
        ("$50 USD", money("50", "USD")),
        ("  7,500  ", money("7500")),
        # Separator rules.
        ("12,500", money("12500")),
        ("12.500", money("12500")),
        ("12,5", money("12.50")),
        ("12.5", money("12.50")),
        ("1,234,567", money("1234567")),
        ("1.234.567", money("1234567")),
        ("1,234,567.89", money("1234567.89")),
        ("1.234.567,89", money("1234567.89")),
        ("1,2345", money("1.23")),
        ("0.500", money("0.50")),
        ("1,500k", money("1500")),
        ("1.234k", money("1234")),
        # Rounding to cents, half up.
        ("0.005", money("0.01")),
        ("2.6750", money("2.68")),
        ("0.125", money("0.13")),
        ("1.2345M", money("1234500")),
        ("0", money("0")),
        ("0.00", money("0")),
        ("1000000000000000", money("1000000000000000")),
        ("1000bn", money("1000000000000")),
    ],
)
def test_parse_amount(text: str, expected: Money) -> None:
    result = parse_amount(text, "EUR")
    assert result == expected
    assert result.amount.as_tuple().exponent == -2


def test_parse_amount_uses_and_normalizes_the_default_currency() -> None:
    assert parse_amount("50k", "usd") == money("50000", "USD")
    assert parse_amount("50k €", "USD") == money("50000", "EUR")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("5o k", "couldn't read"),
        ("abc", "couldn't read"),
        ("fifty", "couldn't read"),
        ("50.", "couldn't read"),
        ("1,,000", "couldn't read"),
        ("1,2,3", "couldn't read"),
        ("12,50,0", "couldn't read"),
        ("1.000,000.5", "couldn't read"),
        ("1 000.000,50", "couldn't read"),
        ("1e5", "couldn't read"),
        ("50kk", "couldn't read"),
        ("$ $ 5", "couldn't read"),
        ("-50", "negative"),
        ("−50", "negative"),
        ("$-50", "negative"),
        ("-$50", "negative"),
        ("$50 EUR", "two currencies (USD and EUR)"),
        ("€50 GBP", "two currencies (EUR and GBP)"),
        ("50 XYZ", 'currency "XYZ"'),
        ("abc 50", 'currency "ABC"'),
        ("XXX 5", 'currency "XXX"'),
        ("1000000000000001", "too large"),
        ("1000000000000000.01", "too large"),
        ("2000000bn", "too large"),
    ],
)
def test_parse_amount_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(text, "EUR")
    error = info.value
    assert fragment in error.message
    assert f'"{text}"' in error.message
    assert error.example == AMOUNT_EXAMPLE
    assert error.field == "amount"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_parse_amount_rejects_empty(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(text, "EUR")
    assert info.value.field == "amount"


def test_parse_amount_error_message_reads_well() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("5o k", "EUR")
    assert info.value.message == 'I couldn\'t read "5o k" as an amount.'
    assert info.value.user_text().endswith("Example: `50k, $12,500, 12.5k EUR`")


def test_parse_amount_rejects_a_bad_default_currency() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("50k", "euro")
    assert info.value.field == "currency"


def test_parse_amount_truncates_very_long_quotes() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("x" * 500, "EUR")
    assert len(info.value.message) < 150
    assert '"xxxx' in info.value.message


@pytest.mark.parametrize(
    ("text", "expected", "span_text"),
    [
        ("Acme wants 50k seats by March", money("50000", "USD"), "50k"),
        ("deal worth $12,500.", money("12500", "USD"), "$12,500"),
        ("Price: EUR 12,500.50 total", money("12500.50"), "EUR 12,500.50"),
        ("it's 12 500 € now", money("12500"), "12 500 €"),
        ("for 40k usd ok", money("40000", "USD"), "40k usd"),
        ("budget 1.2M!", money("1200000", "USD"), "1.2M"),
        ("12.5k€ is fine", money("12500"), "12.5k€"),
        ("price 999", money("999", "USD"), "999"),
        ("closing in 2027 with 1500 seats", money("1500", "USD"), "1500"),
        ("3 seats for £40", money("40", "GBP"), "£40"),
        ("2 bn deal", money("2000000000", "USD"), "2 bn"),
        ("first 50k then 80k", money("50000", "USD"), "50k"),
        ("for 40 EUR", money("40"), "40 EUR"),
    ],
)
def test_extract_amount(text: str, expected: Money, span_text: str) -> None:
    found = extract_amount(text, "USD")
    assert found is not None
    result, start, end = found
    assert result == expected
    assert text[start:end] == span_text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "call Acme about 3 seats",
        "close on 2026-12-15 at 09:00",
        "15.12 kickoff",
        "24/7 support, 50% off",
        "Q3 5 people on the 3rd, 50kg box",
        "closing in 2027",
        "between 10 20",
        "ticket #1234",
        "version 1.2.3",
        "abc123",
        "call 555-1234",
        "for 40 k",
        "-50k",
        "12:30pm",
        "100x faster",
    ],
)
def test_extract_amount_ignores_non_amounts(text: str) -> None:
    assert extract_amount(text, "USD") is None


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("50000", "EUR", "en_US", "€50,000"),
        ("50000.00", "EUR", "en_US", "€50,000"),
        ("12500.50", "USD", "en_US", "$12,500.50"),
        ("12500.5", "USD", "en_US", "$12,500.50"),
        ("0", "USD", "en_US", "$0"),
        ("999.99", "GBP", "en_GB", "£999.99"),
        ("50000", "EUR", "fr_FR", "50\u202f000\u00a0€"),
        ("12500.50", "EUR", "de_DE", "12.500,50\u00a0€"),
        ("50000", "JPY", "en_US", "¥50,000"),
        # Money keeps cents even for currencies without them; show what is stored.
        ("50000.50", "JPY", "en_US", "¥50,000.50"),
        ("1250000", "INR", "hi_IN", "₹12,50,000"),
    ],
)
def test_format_money(amount: str, currency: str, locale: str, expected: str) -> None:
    assert format_money(money(amount, currency), locale) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("50000", "EUR", "€50K"),
        ("1200000", "USD", "$1.2M"),
        ("12500.50", "USD", "$12.5K"),
        ("2000000000", "GBP", "£2B"),
        ("999", "USD", "$999"),
        ("0", "EUR", "€0"),
    ],
)
def test_format_compact(amount: str, currency: str, expected: str) -> None:
    assert format_compact(money(amount, currency)) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("EUR", "EUR"), ("eur", "EUR"), (" usd ", "USD"), ("Chf", "CHF"), ("INR", "INR")],
)
def test_normalize_currency(code: str, expected: str) -> None:
    assert normalize_currency(code) == expected


@pytest.mark.parametrize("code", ["", "EURO", "XYZ", "E", "€", "12E", "XXX", "XTS"])
def test_normalize_currency_rejects(code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_currency(code)
    assert f'"{code.strip()}"' in info.value.message
    assert info.value.example == "EUR"
    assert info.value.field == "currency"


def test_convert() -> None:
    rates = {"USD": Decimal("0.92"), "GBP": Decimal("1.1666")}
    assert convert(money("100", "USD"), "EUR", rates) == money("92.00")
    assert convert(money("10", "GBP"), "EUR", rates) == money("11.67")
    assert convert(money("0.005", "GBP"), "EUR", rates) == money("0.01")
    assert convert(money("10", "JPY"), "EUR", rates) is None


def test_convert_same_currency_returns_itself() -> None:
    original = money("12.345")
    assert convert(original, "EUR", {}) is original
    assert convert(original, "eur", {}) is original


def test_money_rejects_floats_and_bad_codes() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO code"):
        Money(Decimal(1), "eur")
    with pytest.raises(ValueError, match="ISO code"):
        Money(Decimal(1), "EURO")


def test_money_is_frozen_and_hashable() -> None:
    value = money("1")
    assert {value, money("1")} == {value}
    with pytest.raises(AttributeError):
        value.amount = Decimal(2)  # type: ignore[misc]


# Property tests.

amounts = st.decimals(
    min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)


def _plain(amount: Decimal) -> str:
    return format(amount, "f")


def _commas(amount: Decimal) -> str:
    return f"{amount:,.2f}" if amount % 1 else f"{amount:,.0f}"


def _european(amount: Decimal) -> str:
    return _commas(amount).translate(str.maketrans(",.", ".,"))


def _spaced(amount: Decimal) -> str:
    return _european(amount).replace(".", "\u00a0")


def _styles(amount: Decimal) -> list[tuple[str, str]]:
    """(text, currency) pairs spelling `amount` in the ways people type it."""
    styles = [
        (_plain(amount), "EUR"),
        (_commas(amount), "EUR"),
        (_european(amount), "EUR"),
        (_spaced(amount) + " €", "EUR"),
        ("$" + _commas(amount), "USD"),
        ("£" + _plain(amount), "GBP"),
        (_commas(amount) + " €", "EUR"),
        (_european(amount) + "\u00a0€", "EUR"),
        ("CHF " + _commas(amount).replace(",", "'"), "CHF"),
        ("usd " + _plain(amount), "USD"),
        (_commas(amount) + " JPY", "JPY"),
    ]
    if amount % 1 == 0:
        thousands = format((amount / 1000).normalize(), "f")
        styles += [(thousands + "k", "EUR"), ("€" + thousands + "K", "EUR")]
        styles += [(thousands + "k USD", "USD")]
    if amount % 100_000 == 0:
        millions = format((amount / 1_000_000).normalize(), "f")
        styles += [(millions + "M", "EUR"), ("$" + millions + "m", "USD")]
    return styles


@given(amounts)
def test_parse_amount_round_trips_every_style(amount: Decimal) -> None:
    for text, currency in _styles(amount):
        assert parse_amount(text, "EUR") == Money(amount, currency), text


@given(amounts)
def test_parse_amount_reads_format_money_back(amount: Decimal) -> None:
    for currency in ("EUR", "USD", "GBP", "INR"):
        formatted = format_money(Money(amount, currency))
        assert parse_amount(formatted, "EUR") == Money(amount, currency)


@given(amounts, st.sampled_from(["Acme wants {} for 10 seats", "deal: {}.", "{}"]))
def test_extract_amount_finds_an_embedded_amount(amount: Decimal, template: str) -> None:
    spelled = "$" + _commas(amount)
    text = template.format(spelled)
    found = extract_amount(text, "EUR")
    assert found is not None
    result, start, end = found
    assert result == Money(amount, "USD")
    assert text[start:end] == spelled


@given(st.integers(min_value=0, max_value=99))
def test_extract_amount_ignores_small_bare_integers(number: int) -> None:
    assert extract_amount(f"we need {number} seats", "EUR") is None


@given(st.text())
def test_parse_amount_only_raises_invalid_input(text: str) -> None:
    try:
        result = parse_amount(text, "EUR")
    except InvalidInput:
        return
    assert Decimal(0) <= result.amount <= MAX_AMOUNT


@given(st.text(alphabet="0123456789.,'’ \u00a0\u202fkKmMbBn$€£¥₹-−eurEURusdchf", max_size=24))
def test_parse_amount_only_raises_invalid_input_on_amount_like_text(text: str) -> None:
    try:
        result = parse_amount(text, "EUR")
    except InvalidInput:
        return
    assert Decimal(0) <= result.amount <= MAX_AMOUNT
    assert result.amount == result.amount.quantize(Decimal("0.01"))


@given(st.text())
def test_extract_amount_never_raises(text: str) -> None:
    found = extract_amount(text, "EUR")
    if found is not None:
        _, start, end = found
        assert 0 <= start < end <= len(text)
