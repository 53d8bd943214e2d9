"""The planning rules and the `/deal target` grammar, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.commands.planning_grammar import TargetClear, TargetSet, parse_target
from pipeline.errors import InvalidInput, PipebotError, Refused
from pipeline.planning import (
    DEFAULT_SOURCES,
    add_reason,
    add_source,
    default_reasons,
    parse_period,
    reason_key,
    remove_reason,
    resolve_source,
    split_reason,
)

ALICE = "U0ALICE"


@pytest.mark.parametrize(
    ("text", "canonical", "first", "last"),
    [
        ("2027-Q1", "2027-Q1", date(2027, 1, 1), date(2027, 3, 31)),
        ("2027q4", "2027-Q4", date(2027, 10, 1), date(2027, 12, 31)),
        ("Q2 2027", "2027-Q2", date(2027, 4, 1), date(2027, 6, 30)),
        ("2027-01", "2027-01", date(2027, 1, 1), date(2027, 1, 31)),
        ("2028-2", "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_periods_are_months_or_quarters(text: str, canonical: str, first: date, last: date) -> None:
    period = parse_period(text)
    assert (period.text, period.first, period.last) == (canonical, first, last)


@pytest.mark.parametrize("text", ["2027-13", "2027-Q5", "Q1", "2027", "next quarter", "27-Q1"])
def test_other_periods_are_refused_quoting_them(text: str) -> None:
    with pytest.raises(InvalidInput, match=f'"{text}" is not a month or a quarter'):
        parse_period(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500k 2027-Q1", TargetSet(None, Decimal("500000.00"), parse_period("2027-Q1"))),
        ("2027-Q1 500k", TargetSet(None, Decimal("500000.00"), parse_period("2027-Q1"))),
        (
            f"<@{ALICE}|alice> 120k 2027-Q1",
            TargetSet(ALICE, Decimal("120000.00"), parse_period("2027-Q1")),
        ),
        ("€1.2M 2027-03", TargetSet(None, Decimal("1200000.00"), parse_period("2027-03"))),
        (f"clear <@{ALICE}> 2027-Q1", TargetClear(ALICE, parse_period("2027-Q1"))),
        ("remove 2027-Q1", TargetClear(None, parse_period("2027-Q1"))),
    ],
)
def test_target_lines(text: str, expected: TargetSet | TargetClear) -> None:
    assert parse_target(text, "EUR") == expected


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("500k", "Which month or quarter?"),
        ("2027-Q1", "How much?"),
        ("500k 2027-Q1 2027-Q2", '"2027-Q1" and "2027-Q2" are two periods'),
        ("500 bananas 2027-Q1", '"500 bananas"'),
        ("$500k 2027-Q1", '"$500k" is in USD; targets are in EUR'),
        ("<@U1> <@U2> 5k 2027-Q1", "not 2"),
        ("clear 2027-Q1 please", '"please"'),
    ],
)
def test_bad_target_lines_are_refused_quoting_the_bad_part(text: str, quoted: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_target(text, "EUR")
    assert quoted in err.value.message
    assert err.value.example is not None
    assert err.value.example.startswith("target")


@given(
    amount=st.decimals(min_value=1, max_value=10**12, places=2),
    year=st.integers(2000, 2999),
    quarter=st.integers(1, 4),
    owner_first=st.booleans(),
)
def test_any_amount_and_quarter_reads_back_exactly(
    amount: Decimal, year: int, quarter: int, owner_first: bool
) -> None:
    words = [f"{amount}", f"{year}-Q{quarter}"]
    line = " ".join([f"<@{ALICE}>", *words] if owner_first else [*words, f"<@{ALICE}>"])
    parsed = parse_target(line, "EUR")
    assert parsed == TargetSet(ALICE, amount, parse_period(f"{year}-Q{quarter}"))


@given(st.text(max_size=60))
def test_any_text_is_read_or_refused_with_a_domain_error(text: str) -> None:
    result: object
    try:
        result = parse_target(text, "EUR")
    except PipebotError as exc:
        result = exc.message
    assert isinstance(result, TargetSet | TargetClear) or (isinstance(result, str) and result)


def test_a_reason_key_or_name_comes_first_and_the_rest_is_the_detail() -> None:
    reasons = default_reasons()
    found, rest = split_reason("No budget: they froze spending", reasons)
    assert (found and found.key, rest) == ("no_budget", "they froze spending")
    found, rest = split_reason("lost_contact", reasons)
    assert (found and found.key, rest) == ("lost_contact", "")
    found, rest = split_reason("went with a competitor", reasons)
    assert (found, rest) == (None, "went with a competitor")


def test_an_imported_reason_that_is_no_key_becomes_other_with_its_text() -> None:
    reasons = default_reasons()
    assert reason_key("Price", reasons) == ("price", None)
    assert reason_key("Too expensive", reasons) == ("other", "Too expensive")
    assert reason_key(None, reasons) == (None, None)


def test_source_and_reason_lists_refuse_what_they_cannot_hold() -> None:
    assert resolve_source("Referral", DEFAULT_SOURCES) == "referral"
    with pytest.raises(InvalidInput, match='"webinar" is not one of the team\'s sources'):
        resolve_source("webinar", DEFAULT_SOURCES)
    assert add_source(DEFAULT_SOURCES, "Trade Show")[-1] == "trade_show"
    with pytest.raises(Refused):
        add_source(DEFAULT_SOURCES, "Inbound")
    with pytest.raises(InvalidInput, match="reserved"):
        add_source(DEFAULT_SOURCES, "none")
    reasons = add_reason(default_reasons(), "Legal review")
    assert (reasons[-1].key, reasons[-1].name) == ("legal_review", "Legal review")
    with pytest.raises(Refused, match="stays"):
        remove_reason(reasons, "Other")
    assert "timing" not in [r.key for r in remove_reason(reasons, "Timing")]
