"""Duplicate deal names: the same company however it is written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.names import comparable, same_company


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Corp", "acme corp"),
        ("Acme Corp", "ACME, Inc."),
        ("Société Générale", "Societe Generale SA"),
        ("Müller GmbH", "muller"),
        ("Acme  SAS", "Acme"),
        ("R&D Partners", "R and D Partners Ltd"),
        ("The Inc", "the inc"),
    ],
)
def test_the_same_company_written_two_ways(a: str, b: str) -> None:
    assert comparable(a) == comparable(b)


@pytest.mark.parametrize(("a", "b"), [("Acme", "Acme Labs"), ("Globex", "Initech"), ("A1", "A2")])
def test_different_companies_stay_apart(a: str, b: str) -> None:
    assert comparable(a) != comparable(b)


def test_same_company_returns_the_matching_items() -> None:
    assert same_company("ACME inc", [("Acme Corp", 1), ("Acme Labs", 2), ("acme", 3)]) == [1, 3]


@given(st.text(min_size=1, max_size=40))
def test_comparable_is_stable_under_case_and_spacing(name: str) -> None:
    assert comparable(name) == comparable(comparable(name))
    assert comparable(name.upper().casefold()) == comparable(name.casefold())
    assert comparable(f"  {name}  ") == comparable(name)
