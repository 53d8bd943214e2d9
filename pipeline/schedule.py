"""Team schedule settings as people type them: reminders, reminder mode and the weekly digest.

Parsers return typed schedules (None for `off`) and raise InvalidInput with an example; each
schedule formats back to one canonical text, which is what the team row stores. Fire times are
computed with zoneinfo in the team's timezone; a time skipped by a DST jump fires just after
the jump, and a time that happens twice fires once (the first time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from zoneinfo import ZoneInfo

from pipeline.errors import InvalidInput

REMINDERS_EXAMPLE = "09:00 mon-fri"
REMINDERS_EXAMPLES = "`09:00 mon-fri`, `8:30 mon,wed,fri`, `09:00 daily` or `off`"
MODE_EXAMPLE = "channel+dm"
DIGEST_EXAMPLE = "mon 09:00"
DIGEST_EXAMPLES = "`mon 09:00`, `friday 16:30` or `off`"
OFF = "off"

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY: frozenset[int] = frozenset(range(7))
WORK_DAYS: frozenset[int] = frozenset(range(5))

_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(_FULL_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_DAY_SETS: dict[str, frozenset[int]] = {
    "daily": EVERY_DAY,
    "everyday": EVERY_DAY,
    "weekdays": WORK_DAYS,
    "weekends": frozenset({5, 6}),
}
_OFF_WORDS = frozenset({"off", "none", "never", "disable", "disabled", "no"})
_TIME = re.compile(r"(?P<h>[0-9]{1,2})(?:[:.h](?P<m>[0-9]{2}))?\s*(?P<ampm>am|pm)?")
_MAX_INPUT = 100


@dataclass(frozen=True)
class DailySchedule:
    """Every listed weekday (0 = Monday) at a local time."""

    time: time
    weekdays: frozenset[int]

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= EVERY_DAY:
            raise ValueError(f"weekdays must be a non-empty subset of 0..6: {self.weekdays}")

    def __str__(self) -> str:
        return f"{format_time(self.time)} {format_weekdays(self.weekdays)}"


@dataclass(frozen=True)
class WeeklySchedule:
    """One weekday (0 = Monday) at a local time."""

    weekday: int
    time: time

    def __post_init__(self) -> None:
        if self.weekday not in EVERY_DAY:
            raise ValueError(f"weekday must be 0..6: {self.weekday}")

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {format_time(self.time)}"


Schedule = DailySchedule | WeeklySchedule


class ReminderMode(StrEnum):
    """Where reminders go: the team channel, each owner's DM, both, or nowhere."""

    CHANNEL = "channel"
    DM = "dm"
    BOTH = "channel+dm"
    OFF = "off"

    @property
    def to_channel(self) -> bool:
        """Reminders are posted in the team channel."""
        return self in (ReminderMode.CHANNEL, ReminderMode.BOTH)

    @property
    def to_dm(self) -> bool:
        """Each owner gets their reminders in a DM."""
        return self in (ReminderMode.DM, ReminderMode.BOTH)


_MODE_WORDS: dict[str, ReminderMode] = {
    "channel": ReminderMode.CHANNEL,
    "dm": ReminderMode.DM,
    "dms": ReminderMode.DM,
    "channel+dm": ReminderMode.BOTH,
    "dm+channel": ReminderMode.BOTH,
    "both": ReminderMode.BOTH,
    **{word: ReminderMode.OFF for word in _OFF_WORDS},
}


@dataclass(frozen=True)
class TeamSchedule:
    """A team's three schedule settings, parsed."""

    reminders: DailySchedule | None
    mode: ReminderMode
    digest: WeeklySchedule | None

    @classmethod
    def parse(cls, reminders: str, mode: str, digest: str) -> TeamSchedule:
        """Parse the stored texts of a team row."""
        return cls(parse_reminders(reminders), parse_reminder_mode(mode), parse_digest(digest))

    @property
    def reminders_on(self) -> bool:
        """Reminders have a schedule and somewhere to go."""
        return self.reminders is not None and self.mode != ReminderMode.OFF


# --- formatting ----------------------------------------------------------------------------


def format_time(at: time) -> str:
    """`09:00`."""
    return f"{at.hour:02d}:{at.minute:02d}"


def format_weekdays(days: Iterable[int]) -> str:
    """The canonical text of a set of weekdays: `daily`, `mon-fri`, `mon,wed,fri`."""
    chosen = sorted(set(days))
    if set(chosen) == EVERY_DAY:
        return "daily"
    parts: list[str] = []
    run: list[int] = []
    for day in [*chosen, 99]:
        if run and day == run[-1] + 1:
            run.append(day)
            continue
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[d] for d in run)
        run = [day]
    return ",".join(parts)


def format_schedule(schedule: Schedule | None) -> str:
    """The canonical text of a schedule, `off` for None."""
    return OFF if schedule is None else str(schedule)


# --- parsing -------------------------------------------------------------------------------


def _words(text: str, example: str, what: str) -> list[str]:
    cleaned = text.strip().lower()
    if not cleaned:
        raise InvalidInput(f"Say when to send the {what}.", example=example, field=what)
    if len(cleaned) > _MAX_INPUT:
        raise InvalidInput(f"That is too long for a {what} schedule.", example=example, field=what)
    # "mon - fri", "mon, wed" and "every day" read as one token each.
    cleaned = re.sub(r"\s*([-,–])\s*", lambda m: "-" if m.group(1) != "," else ",", cleaned)
    cleaned = re.sub(r"\bevery\s*day\b", "daily", cleaned)
    cleaned = re.sub(r"\b(?:at|on|every)\b", " ", cleaned)
    cleaned = re.sub(r"([0-9])\s+(am|pm)\b", r"\1\2", cleaned)
    return cleaned.split()


def parse_time(text: str) -> time:
    """A local time of day: `09:00`, `9:30`, `17.45`, `9am`, `5:30pm`."""
    cleaned = text.strip().lower()
    match = _TIME.fullmatch(cleaned)
    if match:
        hour, minute = int(match["h"]), int(match["m"] or 0)
        ampm = match["ampm"]
        if ampm and not 1 <= hour <= 12:
            hour = 99
        elif ampm:
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        if hour <= 23 and minute <= 59 and (match["m"] is not None or ampm):
            return time(hour, minute)
    raise InvalidInput(
        f'"{text.strip()[:40]}" is not a time of day: use 24-hour `HH:MM`.',
        example="09:00",
        field="time",
    )


def _day(word: str) -> int | None:
    return _DAY_NAMES.get(word.strip("."))


def parse_weekdays(text: str) -> frozenset[int]:
    """Weekdays: `mon-fri`, `mon,wed,fri`, `daily`, `weekdays`, `sat-sun`, `fri-mon`."""
    cleaned = text.strip().lower()
    if cleaned in _DAY_SETS:
        return _DAY_SETS[cleaned]
    days: set[int] = set()
    for item in re.split(r"[,\s]+", cleaned):
        if not item:
            continue
        if item in _DAY_SETS:
            days |= _DAY_SETS[item]
            continue
        ends = item.split("-")
        found = [_day(end) for end in ends]
        if len(ends) > 2 or any(d is None for d in found):
            raise InvalidInput(
                f'"{item[:40]}" is not a day or a range of days: use mon, tue, wed, thu, fri, '
                "sat, sun, a range like mon-fri, or daily.",
                example=REMINDERS_EXAMPLE,
                field="weekdays",
            )
        first, last = found[0], found[-1]
        assert first is not None
        assert last is not None
        # A range may wrap around the weekend: fri-mon is fri, sat, sun, mon.
        span = (last - first) % 7
        days.update((first + i) % 7 for i in range(span + 1))
    if not days:
        raise InvalidInput("Name at least one day.", example=REMINDERS_EXAMPLE, field="weekdays")
    return frozenset(days)


def _is_time(word: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{1,2}(?:[:.h][0-9]{2})?(?:am|pm)?", word)) and (
        not word.isdigit()
    )


def parse_reminders(text: str) -> DailySchedule | None:
    """Daily reminders: `09:00 mon-fri`, `8:30 mon,wed,fri`, `09:00 daily`; None for `off`."""
    words = _words(text, REMINDERS_EXAMPLE, "reminders")
    if len(words) == 1 and words[0] in _OFF_WORDS:
        return None
    times = [w for w in words if _is_time(w)]
    days = [w for w in words if not _is_time(w)]
    if len(times) != 1:
        problem = (
            "needs a time" if not times else "has more than one time; reminders go out once a day"
        )
        raise InvalidInput(
            f'"{text.strip()[:60]}" {problem}. Try {REMINDERS_EXAMPLES}.',
            example=REMINDERS_EXAMPLE,
            field="reminders",
        )
    at = parse_time(times[0])
    # A time alone keeps the default working week, shown back in the confirmation.
    weekdays = parse_weekdays(",".join(days)) if days else WORK_DAYS
    return DailySchedule(at, weekdays)


def parse_reminder_mode(text: str) -> ReminderMode:
    """Where reminders go: `channel`, `dm`, `channel+dm` (or `both`), `off`."""
    word = re.sub(r"\s*(\+|and|&)\s*", "+", text.strip().lower())
    mode = _MODE_WORDS.get(word)
    if mode is None:
        raise InvalidInput(
            f'"{text.strip()[:40]}" is not a reminder mode: use channel, dm, channel+dm or off.',
            example=MODE_EXAMPLE,
            field="reminder_mode",
        )
    return mode


def parse_digest(text: str) -> WeeklySchedule | None:
    """The weekly digest: `mon 09:00` (either order, full day names too); None for `off`."""
    words = _words(text, DIGEST_EXAMPLE, "digest")
    if len(words) == 1 and words[0] in _OFF_WORDS:
        return None
    times = [w for w in words if _is_time(w)]
    days = [d for w in words if not _is_time(w) for d in [_day(w)]]
    if len(times) != 1 or len(days) != 1 or days[0] is None:
        raise InvalidInput(
            f'"{text.strip()[:60]}" is not a weekly time: give one day and one time. '
            f"Try {DIGEST_EXAMPLES}.",
            example=DIGEST_EXAMPLE,
            field="digest",
        )
    return WeeklySchedule(days[0], parse_time(times[0]))


def normalize_reminders(text: str) -> str:
    """Validate reminders text and return its canonical form."""
    return format_schedule(parse_reminders(text))


def normalize_reminder_mode(text: str) -> str:
    """Validate a reminder mode and return its canonical form."""
    return parse_reminder_mode(text).value


def normalize_digest(text: str) -> str:
    """Validate digest text and return its canonical form."""
    return format_schedule(parse_digest(text))


# --- fire times ----------------------------------------------------------------------------


def local_fire(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`at` on local `day` in UTC: a skipped time lands after the jump, a doubled one fires once."""
    # fold=0 picks the first of a doubled hour; a skipped time keeps the pre-jump offset, so
    # converting through UTC moves it forward by the jump.
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


def _days_of(schedule: Schedule) -> frozenset[int]:
    if isinstance(schedule, WeeklySchedule):
        return frozenset({schedule.weekday})
    return schedule.weekdays


def iter_fire_times(
    schedule: Schedule, tz: str | ZoneInfo, *, after: datetime
) -> Iterator[datetime]:
    """Every fire time strictly after `after`, in order, as aware UTC datetimes."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    days = _days_of(schedule)
    # Start a day early: `after`'s local date may still hold a later firing.
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        if day.weekday() in days:
            fire = local_fire(day, schedule.time, zone)
            if fire > after:
                yield fire
        day += timedelta(days=1)


def next_fire_times(
    schedule: Schedule | None, tz: str | ZoneInfo, *, after: datetime, count: int = 1
) -> list[datetime]:
    """The next `count` fire times after `after` (UTC); empty when the schedule is off."""
    if schedule is None or count <= 0:
        return []
    return list(islice(iter_fire_times(schedule, tz, after=after), count))


def next_fire_time(
    schedule: Schedule | None, tz: str | ZoneInfo, *, after: datetime
) -> datetime | None:
    """The next fire time after `after` (UTC), or None when the schedule is off."""
    times = next_fire_times(schedule, tz, after=after)
    return times[0] if times else None
