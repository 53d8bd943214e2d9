"""Tests for pipeline.dates: parsing, extraction, calendar helpers and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dates import (
    DATE_EXAMPLE,
    check_planned,
    end_of_month,
    end_of_quarter,
    extract_date,
    iso_week,
    month_start,
    parse_date,
    quarter_start,
    spell_day,
    today_in,
    validate_timezone,
)
from pipeline.errors import InvalidInput

# A Wednesday, in the last month of Q4.
TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO and numeric forms.
        ("2026-12-15", date(2026, 12, 15)),
        ("2027-1-5", date(2027, 1, 5)),
        ("2026/12/15", date(2026, 12, 15)),
        ("2025-03-01", date(2025, 3, 1)),
        ("15/12", date(2026, 12, 15)),
        ("15/12/2026", date(2026, 12, 15)),
        ("15.12.2026", date(2026, 12, 15)),
        ("15-12-2026", date(2026, 12, 15)),
        ("15/12/26", date(2026, 12, 15)),
        ("12/15", date(2026, 12, 15)),
        ("12/15/2027", date(2027, 12, 15)),
        ("5/12", date(2026, 12, 5)),
        ("01/02", date(2027, 2, 1)),
        ("15.3", date(2027, 3, 15)),
        ("25/11", TODAY),
        ("24/11", date(2027, 11, 24)),
        ("29/02", date(2028, 2, 29)),
        # Words handled here.
        ("today", TODAY),
        ("Today", TODAY),
        ("tomorrow", date(2026, 11, 26)),
        ("TOMORROW", date(2026, 11, 26)),
        ("tmrw", date(2026, 11, 26)),
        ("end of month", date(2026, 11, 30)),
        ("End of the month", date(2026, 11, 30)),
        ("eom", date(2026, 11, 30)),
        ("EOM", date(2026, 11, 30)),
        ("month end", date(2026, 11, 30)),
        ("end of quarter", date(2026, 12, 31)),
        ("eoq", date(2026, 12, 31)),
        ("quarter-end", date(2026, 12, 31)),
        ("end of year", date(2026, 12, 31)),
        ("eoy", date(2026, 12, 31)),
        ("end of next month", date(2026, 12, 31)),
        ("end of next quarter", date(2027, 3, 31)),
        ("end of next year", date(2027, 12, 31)),
        ("next month", date(2026, 12, 1)),
        ("next quarter", date(2027, 1, 1)),
        ("next year", date(2027, 1, 1)),
        # Month names.
        ("dec 15", date(2026, 12, 15)),
        ("Dec 15", date(2026, 12, 15)),
        ("dec. 15", date(2026, 12, 15)),
        ("15 dec", date(2026, 12, 15)),
        ("15th of December", date(2026, 12, 15)),
        ("December 15th, 2027", date(2027, 12, 15)),
        ("15 Dec 2025", date(2025, 12, 15)),
        ("sept 5", date(2027, 9, 5)),
        ("march 1st", date(2027, 3, 1)),
        ("nov 25", TODAY),
        ("march", date(2027, 3, 31)),
        ("in March", date(2027, 3, 31)),
        ("November", date(2026, 11, 30)),
        ("the 15th", date(2026, 12, 15)),
        ("30th", date(2026, 11, 30)),
        ("31st", date(2026, 12, 31)),
        # Phrases read by dateparser.
        ("next friday", date(2026, 11, 27)),
        ("friday", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("next monday", date(2026, 11, 30)),
        ("in 2 weeks", date(2026, 12, 9)),
        ("in 3 days", date(2026, 11, 28)),
        ("in a week", date(2026, 12, 2)),
        ("next week", date(2026, 12, 2)),
        ("next friday at 3pm", date(2026, 11, 27)),
        # Leading cue words, surrounding space and trailing punctuation.
        ("by dec 15", date(2026, 12, 15)),
        ("on friday", date(2026, 11, 27)),
        ("due by 15/12", date(2026, 12, 15)),
        ("before end of quarter", date(2026, 12, 31)),
        ("  next   month.  ", date(2026, 12, 1)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("garbage", "couldn't read"),
        ("3", "couldn't read"),
        ("15", "couldn't read"),
        ("2026", "couldn't read"),
        ("a", "couldn't read"),
        ("+5", "couldn't read"),
        ("09:00", "couldn't read"),
        ("3pm", "couldn't read"),
        ("soon", "couldn't read"),
        ("next", "couldn't read"),
        ("2026-12", "couldn't read"),
        ("15//12", "couldn't read"),
        ("31/02", "isn't a real date"),
        ("30/02/2027", "isn't a real date"),
        ("29/02/2027", "isn't a real date"),
        ("feb 30", "isn't a real date"),
        ("31 april", "isn't a real date"),
        ("2026-13-01", "isn't a real date"),
        ("2026-02-29", "isn't a real date"),
        ("15/13", "isn't a real date"),
        ("0/5", "isn't a real date"),
        ("32nd", "isn't a real date"),
    ],
)
def test_parse_date_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date(text, today=TODAY)
    error = info.value
    assert fragment in error.message
    assert f'"{text}"' in error.message
    assert error.example == DATE_EXAMPLE
    assert error.field == "date"


@pytest.mark.parametrize("text", ["", "  "])
def test_parse_date_rejects_empty(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date(text, today=TODAY)
    assert info.value.field == "date"


def test_parse_date_error_message_reads_well() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date("31/02", today=TODAY)
    assert info.value.message == '"31/02" isn\'t a real date.'


def test_parse_date_near_year_end() -> None:
    new_years_eve = date(2026, 12, 31)
    assert parse_date("next month", today=new_years_eve) == date(2027, 1, 1)
    assert parse_date("end of next month", today=new_years_eve) == date(2027, 1, 31)
    assert parse_date("next quarter", today=new_years_eve) == date(2027, 1, 1)
    assert parse_date("eoq", today=new_years_eve) == new_years_eve
    assert parse_date("1/1", today=new_years_eve) == date(2027, 1, 1)
    assert parse_date("tomorrow", today=new_years_eve) == date(2027, 1, 1)


def test_parse_date_end_of_next_month_clamps_to_short_months() -> None:
    assert parse_date("end of next month", today=date(2027, 1, 31)) == date(2027, 2, 28)


def test_parse_date_at_the_end_of_the_calendar_is_an_input_error() -> None:
    with pytest.raises(InvalidInput):
        parse_date("next year", today=date(9999, 12, 31))
    with pytest.raises(InvalidInput):
        parse_date("tomorrow", today=date(9999, 12, 31))


@pytest.mark.parametrize(
    ("text", "expected", "span_text"),
    [
        ("Acme wants 50k seats by March", date(2027, 3, 31), "by March"),
        ("close by dec 15 with Acme", date(2026, 12, 15), "by dec 15"),
        ("demo on 15/12, 24/7 support", date(2026, 12, 15), "on 15/12"),
        ("we may close 15/12", date(2026, 12, 15), "15/12"),
        ("until 1/2 then stop", date(2027, 2, 1), "until 1/2"),
        ("meet 2026-12-15 at 09:00", date(2026, 12, 15), "2026-12-15"),
        ("close 15.12.2026!", date(2026, 12, 15), "15.12.2026"),
        ("call next friday about 50k", date(2026, 11, 27), "next friday"),
        ("call Friday", date(2026, 11, 27), "Friday"),
        ("renewal end of quarter", date(2026, 12, 31), "end of quarter"),
        ("Acme 50k eoq", date(2026, 12, 31), "eoq"),
        ("closing in 2 weeks", date(2026, 12, 9), "in 2 weeks"),
        ("May 5 kickoff", date(2027, 5, 5), "May 5"),
        ("on the 5th of sept we sign", date(2027, 9, 5), "on the 5th of sept"),
        ("sign tomorrow", date(2026, 11, 26), "tomorrow"),
        ("push to next quarter", date(2027, 1, 1), "next quarter"),
        ("first 15/12 then 20/12", date(2026, 12, 15), "15/12"),
    ],
)
def test_extract_date(text: str, expected: date, span_text: str) -> None:
    found = extract_date(text, today=TODAY)
    assert found is not None
    result, start, end = found
    assert result == expected
    assert text[start:end] == span_text
    assert parse_date(span_text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Acme wants 50k seats",
        "3 seats at 12.50",
        "nothing here 42",
        "24/7 support, half at 1/2 price",
        "call at 09:00",
        "version 1.2.3",
        "ip 10.0.0.1",
        "we may close",
        "marketing team",
        "our mon-fri support",
        "closing 31/02",
        "price is 50/50",
        "in 2027",
    ],
)
def test_extract_date_ignores_non_dates(text: str) -> None:
    assert extract_date(text, today=TODAY) is None


@pytest.mark.parametrize(
    ("d", "month_first", "month_last", "q_first", "q_last"),
    [
        (
            date(2026, 1, 1),
            date(2026, 1, 1),
            date(2026, 1, 31),
            date(2026, 1, 1),
            date(2026, 3, 31),
        ),
        (
            date(2026, 2, 14),
            date(2026, 2, 1),
            date(2026, 2, 28),
            date(2026, 1, 1),
            date(2026, 3, 31),
        ),
        (
            date(2028, 2, 14),
            date(2028, 2, 1),
            date(2028, 2, 29),
            date(2028, 1, 1),
            date(2028, 3, 31),
        ),
        (
            date(2026, 6, 30),
            date(2026, 6, 1),
            date(2026, 6, 30),
            date(2026, 4, 1),
            date(2026, 6, 30),
        ),
        (
            date(2026, 8, 5),
            date(2026, 8, 1),
            date(2026, 8, 31),
            date(2026, 7, 1),
            date(2026, 9, 30),
        ),
        (
            date(2026, 12, 31),
            date(2026, 12, 1),
            date(2026, 12, 31),
            date(2026, 10, 1),
            date(2026, 12, 31),
        ),
    ],
)
def test_calendar_helpers(
    d: date, month_first: date, month_last: date, q_first: date, q_last: date
) -> None:
    assert month_start(d) == month_first
    assert end_of_month(d) == month_last
    assert quarter_start(d) == q_first
    assert end_of_quarter(d) == q_last


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 11, 25), "2026-W48"),
        (date(2026, 1, 5), "2026-W02"),
        (date(2027, 1, 1), "2026-W53"),
        (date(2024, 12, 30), "2025-W01"),
    ],
)
def test_iso_week(d: date, expected: str) -> None:
    assert iso_week(d) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        (" America/New_York ", "America/New_York"),
        ("UTC", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_validate_timezone(name: str, expected: str) -> None:
    assert validate_timezone(name) == expected


@pytest.mark.parametrize(
    "name", ["", "Mars/Base", "Europe", "../etc/passwd", "/etc/localtime", "CEST+2"]
)
def test_validate_timezone_rejects(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_timezone(name)
    assert f'"{name}"' in info.value.message
    assert info.value.example == "Europe/Paris"
    assert info.value.field == "timezone"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("UTC", date(2026, 11, 25)),
        ("Europe/Paris", date(2026, 11, 26)),
        ("America/Los_Angeles", date(2026, 11, 25)),
        ("Pacific/Kiritimati", date(2026, 11, 26)),
        ("Pacific/Pago_Pago", date(2026, 11, 25)),
        (ZoneInfo("Asia/Tokyo"), date(2026, 11, 26)),
    ],
)
def test_today_in(tz: str | ZoneInfo, expected: date) -> None:
    now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert today_in(tz, now) == expected


def test_today_in_accepts_any_aware_datetime() -> None:
    now = datetime(2026, 11, 26, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert today_in("UTC", now) == date(2026, 11, 25)


def test_today_in_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        today_in("UTC", datetime(2026, 11, 25, 12, 0))


def test_today_in_rejects_unknown_zones() -> None:
    with pytest.raises(InvalidInput):
        today_in("Mars/Base", datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


# Property tests.

any_date = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
timezone_names = st.sampled_from(
    [
        "UTC",
        "Europe/Paris",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Australia/Adelaide",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "America/St_Johns",
    ]
)


@given(any_date, any_date)
def test_parse_date_reads_iso_back(d: date, today: date) -> None:
    assert parse_date(d.isoformat(), today=today) == d


@given(any_date)
def test_parse_date_reads_day_first_with_year_back(d: date) -> None:
    if d.year >= 1000:
        assert parse_date(d.strftime("%d/%m/%Y"), today=TODAY) == d
        assert parse_date(f"{d.day}.{d.month}.{d.year}", today=TODAY) == d


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_without_year_is_next_occurrence(today: date) -> None:
    for offset in (0, 1, 40, 200, 364):
        target = today + timedelta(days=offset)
        if (target.month, target.day) != (2, 29):
            assert parse_date(f"{target.day:02d}/{target.month:02d}", today=today) == target


@settings(deadline=None)
@given(st.text(), any_date)
def test_parse_date_only_raises_invalid_input(text: str, today: date) -> None:
    try:
        result = parse_date(text, today=today)
    except InvalidInput:
        return
    assert isinstance(result, date)


@settings(deadline=None)
@given(
    st.text(alphabet="0123456789/.-: aeinorstdxyqmwkhfu", max_size=20),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_parse_date_only_raises_invalid_input_on_date_like_text(text: str, today: date) -> None:
    try:
        result = parse_date(text, today=today)
    except InvalidInput:
        return
    assert isinstance(result, date)


@settings(deadline=None)
@given(st.text())
def test_extract_date_never_raises(text: str) -> None:
    found = extract_date(text, today=TODAY)
    if found is not None:
        _, start, end = found
        assert 0 <= start < end <= len(text)


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=6))
def test_extract_date_ignores_plain_numbers(numbers: list[int]) -> None:
    assert extract_date(" ".join(map(str, numbers)), today=TODAY) is None


@given(any_date)
def test_end_of_quarter_is_a_quarter_end_on_or_after(d: date) -> None:
    eoq = end_of_quarter(d)
    assert eoq >= d
    assert eoq.month in (3, 6, 9, 12)
    assert eoq == end_of_month(eoq)
    assert quarter_start(d) <= d
    assert (eoq - quarter_start(d)).days < 92


@given(any_date)
def test_end_of_month_is_the_last_day(d: date) -> None:
    eom = end_of_month(d)
    assert eom >= d
    assert (eom.year, eom.month) == (d.year, d.month)
    if eom < date(9999, 12, 31):
        assert (eom + timedelta(days=1)).day == 1


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Denver")]),
    ),
    timezone_names,
)
def test_today_in_is_within_a_day_of_utc(now: datetime, tz: str) -> None:
    local = today_in(tz, now)
    utc_date = now.astimezone(UTC).date()
    assert abs((local - utc_date).days) <= 1
    assert local == now.astimezone(ZoneInfo(tz)).date()


# --- dates a person plans for ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "today", "shown"),
    [
        (date(2026, 12, 15), date(2026, 11, 27), "Tue 15 Dec"),
        (date(2027, 1, 1), date(2026, 11, 27), "Fri 1 Jan 2027"),
        (date(2019, 1, 1), date(2026, 11, 27), "Tue 1 Jan 2019"),
    ],
)
def test_a_day_shows_its_year_unless_it_is_this_year(d: date, today: date, shown: str) -> None:
    assert spell_day(d, today=today) == shown


@pytest.mark.parametrize(
    ("d", "message"),
    [
        (date(2019, 1, 1), "The close date Tue 1 Jan 2019 is in the past"),
        (date(2026, 11, 26), "The close date Thu 26 Nov 2026 is in the past"),
        (date(2031, 11, 28), "The close date Fri 28 Nov 2031 is more than 5 years ahead"),
        (date(2226, 11, 27), "is more than 5 years ahead"),
    ],
)
def test_a_planned_date_in_the_past_or_too_far_is_refused_with_the_date_understood(
    d: date, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_planned(d, today=date(2026, 11, 27), what="close date", example="close:next friday")
    assert message in refused.value.message
    assert refused.value.example == "close:next friday"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 1826))
def test_today_up_to_five_years_ahead_is_accepted(today: date, ahead: int) -> None:
    d = today + timedelta(days=ahead)
    if d <= _five_years(today):
        assert check_planned(d, today=today, what="close date", example="x") == d


def _five_years(today: date) -> date:
    try:
        return today.replace(year=today.year + 5)
    except ValueError:
        return today.replace(year=today.year + 5, day=28)
