"""Dates: reading what people type, calendar arithmetic, and time zones."""

from __future__ import annotations

import calendar
import re
from datetime import MAXYEAR, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from pipeline.errors import InvalidInput

DATE_EXAMPLE = "2026-12-15, 15/12, next friday, in 2 weeks, end of quarter"
TIMEZONE_EXAMPLE = "Europe/Paris"

_MAX_INPUT = 60
# Spelled out rather than taken from `calendar`, whose names follow the process locale.
_MONTH_NAMES = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)
_MONTHS: dict[str, int] = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL = r"(?:st|nd|rd|th)"
_YEAR_TAIL = r"(?:,?\s+(?P<year>[0-9]{4}))?"

_CUE = re.compile(r"^(?:by|on|before|until|till|due(?:\s+(?:on|by))?)\s+")
_ISO = re.compile(r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})")
_NUMERIC = re.compile(
    r"(?P<a>[0-9]{1,2})(?P<sep>[-/.])(?P<b>[0-9]{1,2})(?:(?P=sep)(?P<y>[0-9]{4}|[0-9]{2}))?"
)
_DAY_MONTH = re.compile(
    rf"(?:the\s+)?(?P<day>[0-9]{{1,2}}){_ORDINAL}?(?:\s+of\s+|\s+|-)"
    rf"(?P<month>{_MONTH})\.?{_YEAR_TAIL}"
)
_MONTH_DAY = re.compile(
    rf"(?P<month>{_MONTH})\.?(?:\s+the\s+|\s+|-)(?P<day>[0-9]{{1,2}}){_ORDINAL}?{_YEAR_TAIL}"
)
_BARE_MONTH = re.compile(rf"(?:in\s+)?(?P<month>{_MONTH})\.?")
_BARE_DAY = re.compile(rf"(?:the\s+)?(?P<day>[0-9]{{1,2}}){_ORDINAL}")
_PERIOD_END = re.compile(
    r"end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?(?P<unit>month|quarter|year)"
    r"|(?P<short>eo[mqy])"
    r"|(?:this\s+)?(?P<unit2>month|quarter|year)[-\s]?end"
)
_NEXT_PERIOD = re.compile(r"next\s+(?P<unit>month|quarter|year)")
_KEYWORDS: dict[str, int] = {"today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1}
_SHORT_UNITS = {"m": "month", "q": "quarter", "y": "year"}
# dateparser reads "a", "1" or "+5" as days of the current month; real phrases have a word.
_WORD = re.compile(r"[a-z]{3}")

# Free text: conservative patterns only, each optionally led by "by"/"on"/... so the span
# covers the whole mention and parse_date can read it back.
_EXTRACT = re.compile(
    rf"""
    (?<![\w/.:-])
    (?P<cue>(?:by|on|before|until|till|due(?:\s+(?:on|by))?)\s+)?
    (?:
        [0-9]{{4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,2}}
      | [0-9]{{1,2}}[-/.][0-9]{{1,2}}[-/.](?:[0-9]{{4}}|[0-9]{{2}})
      | (?P<dm>(?P<dm_a>[0-9]{{1,2}})/(?P<dm_b>[0-9]{{1,2}}))
      | (?:the\s+)?[0-9]{{1,2}}{_ORDINAL}?(?:\s+of\s+|\s+|-){_MONTH}\b\.?(?:,?\s+[0-9]{{4}})?
      | {_MONTH}\.?(?:\s+the\s+|\s+|-)[0-9]{{1,2}}{_ORDINAL}?(?:,?\s+[0-9]{{4}})?
      | (?:(?:next|this)\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day
      | today | tomorrow
      | in\s+(?:[0-9]{{1,3}}|a)\s+(?:days?|weeks?|months?)
      | next\s+(?:week|month|quarter|year)
      | end\s+of\s+(?:the\s+|this\s+)?(?:next\s+)?(?:month|quarter|year)
      | eo[mqy]
      | (?P<month_only_cue>in|by|before|until|till)\s+{_MONTH}
    )
    (?![\w/:]|[.-][0-9])
    """,
    re.VERBOSE | re.IGNORECASE,
)


def month_start(d: date) -> date:
    """The first day of d's month."""
    return d.replace(day=1)


def end_of_month(d: date) -> date:
    """The last day of d's month."""
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def quarter_start(d: date) -> date:
    """The first day of d's calendar quarter."""
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def end_of_quarter(d: date) -> date:
    """The last day of d's calendar quarter."""
    return end_of_month(date(d.year, 3 * ((d.month - 1) // 3) + 3, 1))


def _end_of_year(d: date) -> date:
    return date(d.year, 12, 31)


def _next_start(d: date, unit: str) -> date:
    """The first day of the month, quarter or year after the one holding d."""
    if unit == "year":
        return date(d.year + 1, 1, 1)
    if unit == "quarter":
        return end_of_quarter(d) + timedelta(days=1)
    return end_of_month(d) + timedelta(days=1)


def _period_end(d: date, unit: str) -> date:
    if unit == "year":
        return _end_of_year(d)
    if unit == "quarter":
        return end_of_quarter(d)
    return end_of_month(d)


def iso_week(d: date) -> str:
    """The ISO week of d, like `2026-W48` (ISO year, which may differ from d.year)."""
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


@cache
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def validate_timezone(name: str) -> str:
    """Return the canonical IANA name for `name` (case-insensitive), or raise InvalidInput."""
    canonical = _timezones().get(name.strip().lower())
    if canonical is None:
        raise InvalidInput(
            f'"{name.strip()}" isn\'t a time zone I know.',
            example=TIMEZONE_EXAMPLE,
            field="timezone",
        )
    return canonical


def today_in(tz: str | ZoneInfo, now: datetime) -> date:
    """The calendar date at the aware instant `now` in time zone `tz`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("today_in needs a timezone-aware datetime")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(validate_timezone(tz))
    return now.astimezone(zone).date()


class _Impossible(Exception):
    """The text names a date that does not exist, like 31/02."""


def _checked(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise _Impossible from exc


def _next_occurrence(day: int, month: int, today: date) -> date:
    """The first day/month on or after today, trying later years for 29/02."""
    _checked(2000, month, day)  # a leap year: fails only for dates that never exist
    for year in range(today.year, min(today.year + 8, MAXYEAR) + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Impossible


def _full_year(text: str) -> int:
    # Two-digit years are this century: nobody schedules a close date in 1926.
    return int(text) + 2000 if len(text) == 2 else int(text)


def _day_month(a: int, b: int) -> tuple[int, int]:
    """Day-first unless only month-first makes sense (12/15)."""
    if b > 12 and a <= 12:
        return b, a
    return a, b


def _with_month_name(match: re.Match[str], today: date) -> date:
    day, month = int(match["day"]), _MONTHS[match["month"]]
    if match["year"]:
        return _checked(int(match["year"]), month, day)
    return _next_occurrence(day, month, today)


def _bare_day(day: int, today: date) -> date:
    """The next date on or after today whose day of month is `day`."""
    if not 1 <= day <= 31:
        raise _Impossible
    first = month_start(today)
    for _ in range(3):
        if day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if candidate >= today:
                return candidate
        first = _next_start(first, "month")
    raise _Impossible  # pragma: no cover - a 31st always exists within three months


def _parse_known(text: str, today: date) -> date | None:
    """Forms handled here rather than by dateparser, for predictable results."""
    if text in _KEYWORDS:
        return today + timedelta(days=_KEYWORDS[text])
    if match := _PERIOD_END.fullmatch(text):
        if match["short"]:
            return _period_end(today, _SHORT_UNITS[match["short"][-1]])
        unit = match["unit"] or match["unit2"]
        base = _next_start(today, unit) if match["next"] else today
        return _period_end(base, unit)
    if match := _NEXT_PERIOD.fullmatch(text):
        return _next_start(today, match["unit"])
    if match := _ISO.fullmatch(text):
        return _checked(int(match["y"]), int(match["m"]), int(match["d"]))
    if match := _NUMERIC.fullmatch(text):
        a, b = int(match["a"]), int(match["b"])
        if a > 12 and b > 12:
            raise _Impossible
        day, month = _day_month(a, b)
        if match["y"]:
            return _checked(_full_year(match["y"]), month, day)
        return _next_occurrence(day, month, today)
    if match := _DAY_MONTH.fullmatch(text) or _MONTH_DAY.fullmatch(text):
        return _with_month_name(match, today)
    if match := _BARE_MONTH.fullmatch(text):
        # A month alone reads as a deadline ("close in March"): the end of its next occurrence.
        month = _MONTHS[match["month"]]
        year = today.year if month >= today.month else today.year + 1
        return end_of_month(date(year, month, 1))
    if match := _BARE_DAY.fullmatch(text):
        return _bare_day(int(match["day"]), today)
    return None


def _dateparser(text: str, today: date) -> date | None:
    import dateparser  # slow to import; only the free-form phrases need it

    settings = {
        "RELATIVE_BASE": datetime.combine(today, time(12)),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        # English only: with language detection, short junk matches words of other languages.
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:
        # A large heuristic parser: any failure of it on odd text just means "unreadable".
        return None
    return parsed.date() if parsed is not None else None


def _clean(text: str) -> str:
    cleaned = " ".join(text.lower().split()).rstrip(".!?,;")
    return _CUE.sub("", cleaned)


def parse_date(text: str, *, today: date) -> date:
    """Read a date such as `2026-12-15`, `15/12`, `next friday` or `end of quarter`."""
    shown = text.strip()
    if not shown:
        raise InvalidInput("Please give a date.", example=DATE_EXAMPLE, field="date")
    quoted = f'"{shown[:_MAX_INPUT]}…"' if len(shown) > _MAX_INPUT else f'"{shown}"'
    cleaned = _clean(text)
    result: date | None = None
    try:
        if len(cleaned) <= _MAX_INPUT:
            result = _parse_known(cleaned, today)
            if result is None and _WORD.search(cleaned):
                result = _dateparser(cleaned, today)
    except _Impossible:
        raise InvalidInput(
            f"{quoted} isn't a real date.", example=DATE_EXAMPLE, field="date"
        ) from None
    except (ValueError, OverflowError):
        result = None  # calendar arithmetic past year 9999
    if result is None:
        raise InvalidInput(
            f"I couldn't read {quoted} as a date.", example=DATE_EXAMPLE, field="date"
        )
    return result


def extract_date(text: str, *, today: date) -> tuple[date, int, int] | None:
    """Find the first date mention in free text; return it with its (start, end) span."""
    for match in _EXTRACT.finditer(text):
        # A yearless "1/2" or "24/7" is more often a fraction or a ratio than a date.
        if (
            match["dm"]
            and not match["cue"]
            and (len(match["dm_a"]) != 2 or len(match["dm_b"]) != 2)
        ):
            continue
        try:
            found = parse_date(match.group(), today=today)
        except InvalidInput:
            continue
        return found, match.start(), match.end()
    return None


# A close date or a next step further out than this is a typo far more often than a plan.
MAX_YEARS_AHEAD = 5


def spell_day(d: date, *, today: date | None = None) -> str:
    """`Tue 15 Dec`, with the year unless it is `today`'s year: `Wed 1 Jan 2020`."""
    if today is not None and d.year == today.year:
        return f"{d:%a} {d.day} {d:%b}"
    return f"{d:%a} {d.day} {d:%b %Y}"


def _years_ahead(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February, in a year that has none
        return today.replace(year=today.year + years, day=28)


def check_planned(d: date, *, today: date, what: str, example: str) -> date:
    """A date someone plans for (a close date, a next step): from today to five years ahead."""
    if d < today:
        raise InvalidInput(
            f"The {what} {spell_day(d)} is in the past; give today or a later date.",
            example=example,
            field="date",
        )
    if d > _years_ahead(today, MAX_YEARS_AHEAD):
        raise InvalidInput(
            f"The {what} {spell_day(d)} is more than {MAX_YEARS_AHEAD} years ahead.",
            example=example,
            field="date",
        )
    return d
