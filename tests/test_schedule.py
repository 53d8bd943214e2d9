"""Team schedule settings: parsing what people type, canonical forms, fire times across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import InvalidInput
from pipeline.schedule import (
    EVERY_DAY,
    WEEKDAYS,
    WORK_DAYS,
    DailySchedule,
    ReminderMode,
    TeamSchedule,
    WeeklySchedule,
    format_schedule,
    format_weekdays,
    iter_fire_times,
    next_fire_time,
    next_fire_times,
    normalize_digest,
    normalize_reminders,
    parse_digest,
    parse_reminder_mode,
    parse_reminders,
    parse_time,
    parse_weekdays,
)

NY = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
dailies = st.builds(DailySchedule, times, weekday_sets)
weeklies = st.builds(WeeklySchedule, st.integers(0, 6), times)
zones = st.sampled_from(
    ["UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata"]
)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00 mon-fri", DailySchedule(time(9), WORK_DAYS)),
        ("8:30 mon,wed,fri", DailySchedule(time(8, 30), frozenset({MON, WED, FRI}))),
        ("09:00 daily", DailySchedule(time(9), EVERY_DAY)),
        ("daily 9am", DailySchedule(time(9), EVERY_DAY)),
        ("every day at 17:45", DailySchedule(time(17, 45), EVERY_DAY)),
        ("mon - fri 9:15", DailySchedule(time(9, 15), WORK_DAYS)),
        ("5:30pm Monday, Wednesday", DailySchedule(time(17, 30), frozenset({MON, WED}))),
        ("10:00 weekdays", DailySchedule(time(10), WORK_DAYS)),
        ("10:00 fri-mon", DailySchedule(time(10), frozenset({FRI, SAT, SUN, MON}))),
        ("07.30 sat sun", DailySchedule(time(7, 30), frozenset({SAT, SUN}))),
        ("12am mon", DailySchedule(time(0), frozenset({MON}))),
        ("9 am tue", DailySchedule(time(9), frozenset({TUE}))),
        ("09:00", DailySchedule(time(9), WORK_DAYS)),
        ("off", None),
        (" OFF ", None),
    ],
)
def test_parse_reminders(text: str, expected: DailySchedule | None) -> None:
    assert parse_reminders(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "9 mon-fri", "25:00 mon", "09:60 mon", "09:00 10:00 mon", "09:00 funday", "9pm-ish",
     "13pm mon", "09:00 mon-", "x" * 200],
)  # fmt: skip
def test_bad_reminders_explain_with_an_example(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_reminders(text)
    assert caught.value.example
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00", WeeklySchedule(MON, time(9))),
        ("09:00 mon", WeeklySchedule(MON, time(9))),
        ("Friday 4:30pm", WeeklySchedule(FRI, time(16, 30))),
        ("on sunday at 18h00", WeeklySchedule(SUN, time(18))),
        ("off", None),
    ],
)
def test_parse_digest(text: str, expected: WeeklySchedule | None) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize("text", ["mon", "09:00", "mon tue 09:00", "daily 09:00", "mon-fri 9:00"])
def test_digest_needs_one_day_and_one_time(text: str) -> None:
    with pytest.raises(InvalidInput, match="one day and one time") as caught:
        parse_digest(text)
    assert caught.value.example == "mon 09:00"


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("channel", ReminderMode.CHANNEL),
        ("DM", ReminderMode.DM),
        ("channel+dm", ReminderMode.BOTH),
        ("channel + dm", ReminderMode.BOTH),
        ("channel and dm", ReminderMode.BOTH),
        ("both", ReminderMode.BOTH),
        ("off", ReminderMode.OFF),
    ],
)
def test_parse_reminder_mode(text: str, mode: ReminderMode) -> None:
    assert parse_reminder_mode(text) is mode


def test_reminder_mode_destinations() -> None:
    assert [(m.to_channel, m.to_dm) for m in ReminderMode] == [
        (True, False),
        (False, True),
        (True, True),
        (False, False),
    ]
    with pytest.raises(InvalidInput, match="channel, dm, channel\\+dm or off"):
        parse_reminder_mode("email")


def test_canonical_forms() -> None:
    assert normalize_reminders("8:30 Monday,Wednesday,Friday") == "08:30 mon,wed,fri"
    assert normalize_reminders("9am every day") == "09:00 daily"
    assert normalize_reminders("09:00 mon,tue,wed,thu,fri") == "09:00 mon-fri"
    assert normalize_reminders("Off") == "off"
    assert normalize_digest("Monday 9am") == "mon 09:00"
    assert format_weekdays({MON, TUE, WED, FRI, SAT, SUN}) == "mon-wed,fri-sun"
    assert format_weekdays({SAT, SUN}) == "sat,sun"


def test_team_schedule_parses_the_stored_defaults() -> None:
    parsed = TeamSchedule.parse("09:00 mon-fri", "channel", "mon 09:00")
    assert parsed == TeamSchedule(
        DailySchedule(time(9), WORK_DAYS), ReminderMode.CHANNEL, WeeklySchedule(MON, time(9))
    )
    assert parsed.reminders_on
    assert not TeamSchedule.parse("09:00 daily", "off", "off").reminders_on
    assert not TeamSchedule.parse("off", "dm", "off").reminders_on


# --- properties of the parsers ---------------------------------------------------------------


@given(dailies)
def test_reminders_round_trip_through_their_canonical_text(schedule: DailySchedule) -> None:
    text = format_schedule(schedule)
    assert parse_reminders(text) == schedule
    assert normalize_reminders(text) == text
    assert len(text) <= 64  # fits the team row's column


@given(weeklies)
def test_digest_round_trips_through_its_canonical_text(schedule: WeeklySchedule) -> None:
    assert parse_digest(str(schedule)) == schedule


@given(weekday_sets, st.booleans())
def test_any_spelling_of_days_reads_back(days: frozenset[int], full: bool) -> None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    spelled = ", ".join((names if full else list(WEEKDAYS))[d] for d in sorted(days))
    assert parse_weekdays(spelled) == days


@given(times, st.booleans())
def test_twelve_hour_times(at: time, padded: bool) -> None:
    hour12 = at.hour % 12 or 12
    suffix = "am" if at.hour < 12 else "pm"
    text = (
        f"{hour12:02d}:{at.minute:02d}{suffix}" if padded else f"{hour12}:{at.minute:02d} {suffix}"
    )
    assert parse_time(text.replace(" ", "")) == at


@given(st.text(max_size=120))
def test_parsers_fail_only_with_invalid_input(text: str) -> None:
    examples: list[str | None] = []
    for parse in (parse_reminders, parse_digest, parse_reminder_mode):
        try:
            parse(text)
        except InvalidInput as exc:
            examples.append(exc.example)
    assert all(examples)


# --- fire times -----------------------------------------------------------------------------


def test_next_weekday_reminder_skips_the_weekend() -> None:
    friday_evening = datetime(2026, 11, 27, 20, tzinfo=UTC)
    schedule = DailySchedule(time(9), WORK_DAYS)
    fires = next_fire_times(schedule, "Europe/Paris", after=friday_evening, count=2)
    assert fires == [datetime(2026, 11, 30, 8, tzinfo=UTC), datetime(2026, 12, 1, 8, tzinfo=UTC)]


def test_fire_time_today_if_still_ahead() -> None:
    schedule = DailySchedule(time(9), EVERY_DAY)
    at_eight = datetime(2026, 11, 27, 7, tzinfo=UTC)  # 08:00 in Paris
    assert next_fire_time(schedule, "Europe/Paris", after=at_eight) == datetime(
        2026, 11, 27, 8, tzinfo=UTC
    )
    exactly = datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert next_fire_time(schedule, "Europe/Paris", after=exactly) == datetime(
        2026, 11, 28, 8, tzinfo=UTC
    )


def test_off_never_fires() -> None:
    assert next_fire_times(None, "UTC", after=datetime(2026, 1, 1, tzinfo=UTC), count=3) == []
    assert next_fire_time(None, "UTC", after=datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_local_time_is_kept_across_dst() -> None:
    schedule = DailySchedule(time(9), EVERY_DAY)
    fires = next_fire_times(schedule, NY, after=datetime(2026, 10, 31, tzinfo=UTC), count=3)
    # 09:00 EDT (UTC-4) on the Saturday, then 09:00 EST (UTC-5) after the 1 Nov change.
    assert fires == [
        datetime(2026, 10, 31, 13, tzinfo=UTC),
        datetime(2026, 11, 1, 14, tzinfo=UTC),
        datetime(2026, 11, 2, 14, tzinfo=UTC),
    ]


def test_a_doubled_hour_fires_once() -> None:
    schedule = DailySchedule(time(1, 30), EVERY_DAY)
    fires = next_fire_times(schedule, NY, after=datetime(2026, 10, 31, 12, tzinfo=UTC), count=2)
    # 01:30 happens twice on 1 Nov 2026: only the first (EDT) counts.
    assert fires == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),
    ]


def test_a_skipped_time_fires_after_the_jump() -> None:
    schedule = WeeklySchedule(SUN, time(2, 30))
    fire = next_fire_time(schedule, NY, after=datetime(2026, 3, 7, tzinfo=UTC))
    # 02:30 does not exist on 8 Mar 2026 in New York; it fires at 03:30 EDT.
    assert fire == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert fire is not None
    assert fire.astimezone(NY).hour == 3


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_time(DailySchedule(time(9), EVERY_DAY), "UTC", after=datetime(2026, 1, 1))


@given(st.one_of(dailies, weeklies), zones, instants)
def test_fire_times_are_scheduled_local_times_in_order(
    schedule: DailySchedule | WeeklySchedule, tz: str, after: datetime
) -> None:
    zone = ZoneInfo(tz)
    days = schedule.weekdays if isinstance(schedule, DailySchedule) else {schedule.weekday}
    fires = next_fire_times(schedule, tz, after=after, count=8)
    assert len(fires) == 8
    assert fires[0] > after
    assert all(a < b for a, b in pairwise(fires))
    local_days = [f.astimezone(zone).date() for f in fires]
    assert len(set(local_days)) == len(local_days)  # never twice on one local day
    for fire in fires:
        local = fire.astimezone(zone)
        assert fire.tzinfo is UTC
        # The scheduled day, at the scheduled time unless a DST jump skipped it.
        if (local.hour, local.minute) == (schedule.time.hour, schedule.time.minute):
            assert local.weekday() in days
        else:
            assert (fire - timedelta(hours=3)).astimezone(zone).utcoffset() != local.utcoffset()


@given(st.one_of(dailies, weeklies), zones, instants)
def test_no_scheduled_day_is_skipped(
    schedule: DailySchedule | WeeklySchedule, tz: str, after: datetime
) -> None:
    zone = ZoneInfo(tz)
    days = schedule.weekdays if isinstance(schedule, DailySchedule) else {schedule.weekday}
    fires = iter_fire_times(schedule, tz, after=after)
    first, second = next(fires), next(fires)
    start = first.astimezone(zone).date()
    gap = (second.astimezone(zone).date() - start).days
    between = [(start + timedelta(days=i)).weekday() for i in range(1, gap)]
    assert not set(between) & set(days)
