"""Every text field has one limit and one way of saying it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import InvalidInput
from pipeline.limits import LIMITS, TextField, check_text


@pytest.mark.parametrize("field", list(TextField))
def test_a_text_at_its_limit_passes_and_one_more_character_is_refused(field: TextField) -> None:
    limit = LIMITS[field]
    assert check_text("x" * limit, field, example="e") == "x" * limit
    with pytest.raises(InvalidInput) as refused:
        check_text("x" * (limit + 1), field, example="e")
    assert refused.value.message == (
        f"The {field} is {limit + 1:,} characters long; the limit is {limit:,}."
    )


@given(st.sampled_from(list(TextField)), st.integers(min_value=1, max_value=20_000))
def test_the_message_names_the_length_and_the_one_limit(field: TextField, length: int) -> None:
    if length <= LIMITS[field]:
        assert len(check_text("y" * length, field, example="e")) == length
        return
    with pytest.raises(InvalidInput) as refused:
        check_text("y" * length, field, example="e")
    assert f"{length:,} characters" in refused.value.message
    assert f"the limit is {LIMITS[field]:,}" in refused.value.message


def test_an_empty_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="The next step is empty"):
        check_text("   ", TextField.NEXT_STEP, example="next #12 call them by friday")
