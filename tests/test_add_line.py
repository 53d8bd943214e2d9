"""The `/deal add` grammar: every valid line read back exactly, every other line refused."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.commands.add_line import AddLine, parse_add_line
from pipeline.errors import InvalidInput, PipebotError
from pipeline.money import Money, normalize_currency
from pipeline.schemas import StageOut
from pipeline.stages import DEFAULT_STAGES

TODAY = date(2026, 11, 27)
STAGES = [
    StageOut(key=s.key, name=s.name, position=i, probability=s.probability, stale_days=s.stale_days)
    for i, s in enumerate(DEFAULT_STAGES)
] + [StageOut(key="contract_sent", name="Contract Sent", position=5, probability=90, stale_days=5)]


def parse(text: str) -> AddLine:
    return parse_add_line(text, stages=STAGES, currency="USD", today=TODAY)


def usd(amount: str, currency: str = "USD") -> Money:
    return Money(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Acme Corp 50k proposal close:next friday <@U0ALICE|alice>",
            AddLine("Acme Corp", usd("50000.00"), "proposal", "U0ALICE", date(2026, 12, 4)),
        ),
        ("Acme Corp proposal 50k", AddLine("Acme Corp", usd("50000.00"), "proposal")),
        ("Acme 12 500 € demo", AddLine("Acme", usd("12500.00", "EUR"), "demo")),
        ("Acme 12.5k EUR", AddLine("Acme", usd("12500.00", "EUR"))),
        ("Acme usd 40k", AddLine("Acme", usd("40000.00"))),
        ("Acme Contract Sent", AddLine("Acme", stage="contract_sent")),
        ("Demo 50k", AddLine("Demo", usd("50000.00"))),
        ('"3M Company" 50k', AddLine("3M Company", usd("50000.00"))),
        ("“Acme 2026 Renewal” 1.2M demo", AddLine("Acme 2026 Renewal", usd("1200000.00"), "demo")),
        ("R&D Partners 5k", AddLine("R&D Partners", usd("5000.00"))),
        (
            "Beta 5k next:send the proposal by 2026-12-01 source:webinar",
            AddLine(
                "Beta",
                usd("5000.00"),
                next_text="send the proposal",
                next_due=date(2026, 12, 1),
                source="webinar",
            ),
        ),
    ],
)
def test_a_valid_line_is_read_exactly(text: str, expected: AddLine) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("Foo 50k banana", '"banana"'),
        ("Bar 12kk", '"12kk"'),
        ("Baz -50k", '"-50k"'),
        ("Qux 50k XYZ lead", '"XYZ"'),
        ("Acme 5O0", '"5O0"'),
        ("50k", '"50k"'),
        ("3M Company 50k", '"3M"'),
        ("Acme 50k demo banana", '"banana"'),
        ("Acme 50k 60k", '"50k"'),
        ("Acme @alice 50k", '"@alice"'),
        ("Acme stage:demo", '"stage:demo"'),
        ("Acme <#C0SALES|sales>", '"<#C0SALES|sales>"'),
        ('"Acme 50k', "closing quote"),
        ('"Acme" banana', '"banana"'),
        ("<@U0ALICE|alice>", "needs a name"),
        ("Acme <@U0ALICE|alice> <@U0BOB|bob>", "one owner"),
    ],
)
def test_a_line_not_understood_is_refused_quoting_the_part(text: str, quoted: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(text)
    assert quoted in refused.value.message
    assert refused.value.example


# --- properties -------------------------------------------------------------------------------

STAGE_WORDS = {w for s in STAGES for w in (s.key, *s.name.lower().split())}


def _is_currency(word: str) -> bool:
    try:
        normalize_currency(word)
    except PipebotError:
        return False
    return True


# A name word is no stage and no currency code: `Acme ARA 1k` is 1,000 ARA (Argentine
# australes) for Acme, as the grammar reads a code beside the amount.
NAME_WORD = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&.'éü-"),
    min_size=1,
    max_size=10,
).filter(lambda w: w[0].isalpha() and w.lower() not in STAGE_WORDS and not _is_currency(w))
NAMES = st.lists(NAME_WORD, min_size=1, max_size=4).map(" ".join)
WHOLE = st.integers(min_value=1, max_value=999)
AMOUNTS = st.one_of(
    WHOLE.map(lambda n: (f"{n}k", usd(f"{n * 1000}.00"))),
    WHOLE.map(lambda n: (f"${n},500", usd(f"{n * 1000 + 500}.00"))),
    WHOLE.map(lambda n: (f"{n}.5k EUR", usd(f"{n * 1000 + 500}.00", "EUR"))),
    WHOLE.map(lambda n: (f"€{n}", usd(f"{n}.00", "EUR"))),
    WHOLE.map(lambda n: (f"{n}M", usd(f"{n * 1_000_000}.00"))),
)
STAGE_SPELLINGS = st.sampled_from(
    [(s.key, s.key) for s in STAGES] + [(s.name, s.key) for s in STAGES]
)
OWNERS = st.one_of(st.none(), st.sampled_from(["U0ALICE", "U0BOB", "W0CAROL"]))
CLOSES = st.one_of(st.none(), st.integers(min_value=1, max_value=900))
GARBAGE = st.sampled_from(["banana", "12kk", "-50k", "5O0", "XYZ", "stage:demo", "@nobody", "1..2"])


@st.composite
def lines(draw: st.DrawFn) -> tuple[str, AddLine]:
    """A valid line and what it asks for."""
    name = draw(NAMES)
    amount = draw(st.one_of(st.none(), AMOUNTS))
    stage = draw(st.one_of(st.none(), STAGE_SPELLINGS))
    owner = draw(OWNERS)
    close = draw(CLOSES)
    fields = [part for part in (amount and amount[0], stage and stage[0]) if part]
    if draw(st.booleans()):
        fields.reverse()
    words = [name, *fields]
    if close is not None:
        words.append(f"close:{(TODAY + timedelta(days=close)).isoformat()}")
    if owner is not None:
        words.append(f"<@{owner}|someone>")
    expected = AddLine(
        name=name,
        amount=amount[1] if amount else None,
        stage=stage[1] if stage else None,
        owner=owner,
        close=TODAY + timedelta(days=close) if close is not None else None,
    )
    return " ".join(words), expected


@given(lines())
def test_every_valid_line_round_trips(line: tuple[str, AddLine]) -> None:
    text, expected = line
    assert parse(text) == expected


@given(NAMES, AMOUNTS, st.one_of(st.none(), STAGE_SPELLINGS), GARBAGE)
def test_a_word_after_the_amount_that_is_no_field_is_refused(
    name: str, amount: tuple[str, Money], stage: tuple[str, str] | None, garbage: str
) -> None:
    words = [name, amount[0], garbage] + ([stage[0]] if stage else [])
    with pytest.raises(InvalidInput) as refused:
        parse(" ".join(words))
    assert f'"{garbage}"' in refused.value.message or "two amounts" in refused.value.message
