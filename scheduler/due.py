"""What is due now, derived from each team's schedule and the clock (not from APScheduler).

Deriving the due run from the schedule means a missed run (downtime, a database outage,
a restart) is found again on the next tick, and a daylight-saving double hour cannot fire
twice: the period (the local date, or the ISO week) is the ledger's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.dates import iso_week
from pipeline.schedule import DailySchedule, WeeklySchedule, local_fire

DIGEST_GRACE = timedelta(days=2)


@dataclass(frozen=True)
class Due:
    """A run that should have happened at `fire_at`, identified by its period."""

    fire_at: datetime
    period: str
    local_date: date


def latest_daily(now: datetime, tz: ZoneInfo, schedule: DailySchedule) -> Due | None:
    """Today's reminder run if its time has passed (local day), else None.

    Reminders are only worth sending on the day they are for, so the grace window is the
    rest of that local day; a run missed past it is skipped.
    """
    today = now.astimezone(tz).date()
    if today.weekday() not in schedule.weekdays:
        return None
    fire_at = local_fire(today, schedule.time, tz)
    if fire_at > now:
        return None
    return Due(fire_at=fire_at, period=today.isoformat(), local_date=today)


def latest_weekly(now: datetime, tz: ZoneInfo, schedule: WeeklySchedule) -> Due | None:
    """The latest digest run if it is within its 2-day grace window, else None."""
    today = now.astimezone(tz).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if day.weekday() != schedule.weekday:
            continue
        fire_at = local_fire(day, schedule.time, tz)
        if fire_at > now:
            continue
        if now - fire_at > DIGEST_GRACE:
            return None
        return Due(fire_at=fire_at, period=iso_week(day), local_date=day)
    return None


def previous_daily(now: datetime, tz: ZoneInfo, schedule: DailySchedule) -> Due | None:
    """The last reminder run before today (local), whose grace window has passed."""
    today = now.astimezone(tz).date()
    for back in range(1, 8):
        day = today - timedelta(days=back)
        if day.weekday() in schedule.weekdays:
            return Due(local_fire(day, schedule.time, tz), day.isoformat(), day)
    return None


def expired_weekly(now: datetime, tz: ZoneInfo, schedule: WeeklySchedule) -> Due | None:
    """The latest digest run if its grace window has passed, else None."""
    today = now.astimezone(tz).date()
    for back in range(8):
        day = today - timedelta(days=back)
        fire_at = local_fire(day, schedule.time, tz)
        if day.weekday() == schedule.weekday and fire_at <= now:
            return Due(fire_at, iso_week(day), day) if now - fire_at > DIGEST_GRACE else None
    return None
