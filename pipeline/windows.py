"""Reporting windows as people type them: `90d`, `quarter`, `last month`, two dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipeline.dates import end_of_month, end_of_quarter, month_start, parse_date, quarter_start
from pipeline.errors import InvalidInput, PipebotError

WINDOW_EXAMPLE = "stats quarter"
WINDOW_CHOICES = "`90d`, `30d`, `month`, `quarter`, `year`, `last quarter` or `<from> <to>`"
DEFAULT_DAYS = 90
MAX_DAYS = 3660
# Two dates are a few words each; trying every split of a long text would be slow.
_MAX_WORDS = 8

_DAYS = re.compile(r"(?:last\s+)?(?P<n>[0-9]{1,5})\s*(?P<unit>d|days?|w|weeks?)")
_PERIOD = re.compile(r"(?:(?P<which>this|last|previous)\s+)?(?P<unit>month|quarter|year)")
_TO_DATE = {"mtd": "month", "qtd": "quarter", "ytd": "year"}
_SEPARATORS = re.compile(r"\s+(?:to|until|till|-|–)\s+|\s*\.\.\s*")


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, with how to name it."""

    start: datetime
    end: datetime
    label: str


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _period_start(day: date, unit: str) -> date:
    if unit == "year":
        return date(day.year, 1, 1)
    return quarter_start(day) if unit == "quarter" else month_start(day)


def _period_end(day: date, unit: str) -> date:
    if unit == "year":
        return date(day.year, 12, 31)
    return end_of_quarter(day) if unit == "quarter" else end_of_month(day)


def _period(unit: str, last: bool, today: date, now: datetime, zone: ZoneInfo) -> Window:
    start = _period_start(today, unit)
    if not last:
        begin = _midnight(start, zone)
        # At the very first instant of a period the window would be empty; keep it valid.
        end = max(now, begin + timedelta(seconds=1))
        return Window(begin, end, f"this {unit} (since {start:%-d %b %Y})")
    previous_end = start - timedelta(days=1)
    first = _period_start(previous_end, unit)
    return Window(
        _midnight(first, zone),
        _midnight(start, zone),
        f"last {unit} ({first:%-d %b %Y} – {previous_end:%-d %b %Y})",
    )


def _split_dates(text: str, today: date) -> tuple[date, date] | None:
    parts = _SEPARATORS.split(text, maxsplit=1)
    if len(parts) == 2:
        return parse_date(parts[0], today=today), parse_date(parts[1], today=today)
    words = text.split()
    if len(words) > _MAX_WORDS:
        return None
    for cut in range(1, len(words)):
        try:
            return (
                parse_date(" ".join(words[:cut]), today=today),
                parse_date(" ".join(words[cut:]), today=today),
            )
        except PipebotError:
            continue
    return None


def parse_window(text: str, *, now: datetime, tz: str | ZoneInfo) -> Window:
    """The window a user means; the default is the last 90 days up to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    today = now.astimezone(zone).date()
    cleaned = " ".join(text.strip().lower().split())
    cleaned = cleaned.removeprefix("from ").removeprefix("over ").removeprefix("the ")
    if not cleaned:
        return Window(now - timedelta(days=DEFAULT_DAYS), now, f"last {DEFAULT_DAYS} days")
    if match := _DAYS.fullmatch(cleaned):
        days = int(match["n"]) * (7 if match["unit"].startswith("w") else 1)
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(
                f"A window is 1 to {MAX_DAYS} days long.", example="stats 90d", field="window"
            )
        return Window(now - timedelta(days=days), now, f"last {days} days")
    if cleaned in _TO_DATE:
        return _period(_TO_DATE[cleaned], False, today, now, zone)
    if match := _PERIOD.fullmatch(cleaned):
        return _period(match["unit"], match["which"] in ("last", "previous"), today, now, zone)
    try:
        dates = _split_dates(cleaned, today)
    except PipebotError:
        dates = None
    if dates is None:
        raise InvalidInput(
            f'"{text.strip()[:60]}" is not a window I understand: use {WINDOW_CHOICES}.',
            example=WINDOW_EXAMPLE,
            field="window",
        )
    first, last = dates
    if last < first:
        raise InvalidInput(
            f"The window ends ({last:%-d %b %Y}) before it starts ({first:%-d %b %Y}).",
            example="stats 2026-07-01 2026-09-30",
            field="window",
        )
    if (last - first).days > MAX_DAYS:
        raise InvalidInput(
            f"A window is at most {MAX_DAYS} days long.",
            example="stats 2026-07-01 2026-09-30",
            field="window",
        )
    if _midnight(first, zone) > now:
        raise InvalidInput(
            f"The window starts in the future ({first:%-d %b %Y}).",
            example="stats 2026-07-01 2026-09-30",
            field="window",
        )
    # The end date is inclusive: the window runs to the following midnight.
    return Window(
        _midnight(first, zone),
        _midnight(last + timedelta(days=1), zone),
        f"{first:%-d %b %Y} – {last:%-d %b %Y}",
    )
