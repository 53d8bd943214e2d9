"""Export and import a team's whole pipeline: the `pipebot/1` JSON format, and CSV.

JSON is the lossless backup format; CSV is for spreadsheets and other CRMs' exports. Imports
validate everything before writing, then insert in bulk. They never commit: on any error the
caller's session scope rolls back, so nothing partial is ever written.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pipeline import stages as stage_rules
from pipeline.clock import Clock, utcnow
from pipeline.dates import TIMEZONE_EXAMPLE, parse_date, validate_timezone
from pipeline.errors import InvalidInput, NotFound, PipebotError, Refused
from pipeline.money import (
    AMOUNT_EXAMPLE,
    CURRENCY_EXAMPLE,
    MAX_AMOUNT,
    normalize_currency,
    parse_amount,
)
from pipeline.schedule import normalize_digest, normalize_reminder_mode, normalize_reminders
from pipeline.schemas import StageOut
from pipeline.service import MAX_ADMINS, MAX_TEXT, TeamDefaults, validate_deal_name
from pipeline.types import LOST, OUTCOMES, WON, ActivityKind, DealStatus
from storage import repositories as repo
from storage.models import Activity, Base, CloseDateChange, Deal, Rate, Stage, StageChange, Team
from storage.unit_of_work import service_in

if TYPE_CHECKING:
    import psycopg

FORMAT = "pipebot/1"
CSV_COLUMNS = (
    "number",
    "name",
    "amount",
    "currency",
    "owner",
    "stage",
    "status",
    "created_at",
    "closed_at",
    "close_date",
    "next_step",
    "next_step_due",
    "lost_reason",
    "source",
    "last_activity_at",
)

TIME_EXAMPLE = "2026-11-27T10:00:00Z"
DAY_EXAMPLE = "2026-12-15"
USER_EXAMPLE = "U012ABCDEF"
NAME_EXAMPLE = "Acme Corp"
CSV_EXAMPLE = "Deal Name,Amount,Deal Stage,Deal Owner,Close Date"

# Deals per bulk write: keeps memory flat on a 100,000-deal import.
_BATCH = 1000
# The service's limits, so that everything imported could also have been typed.
_MAX_SHORT_TEXT = 500
_MAX_SOURCE = 200
_MAX_ID = 32
_MAX_NUMBER = 2**31 - 1
_MAX_RATE = Decimal(10) ** 9
_MAX_SHOWN = 60

_STAGE_KEY = re.compile(r"[a-z0-9_]{1,40}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")
# Numeric(20, 10): more decimals would be rounded by the database and break the round trip.
_RATE = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,10})?")
# Team settings kept as people type them; absent from a file, the team keeps its own.
_SCHEDULES: dict[str, Callable[[str], str]] = {
    "reminders": normalize_reminders,
    "reminder_mode": normalize_reminder_mode,
    "digest": normalize_digest,
}
_STATUSES = tuple(s.value for s in DealStatus)
_KINDS = tuple(k.value for k in ActivityKind)

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    deals: int
    stage_changes: int
    activities: int = 0
    close_date_changes: int = 0
    replaced: int = 0
    first_number: int | None = None
    last_number: int | None = None

    def summary(self) -> str:
        """One line for people: how many deals and history rows were written."""
        numbers = ""
        if self.first_number is not None and self.last_number is not None:
            numbers = (
                f" (#{self.first_number})"
                if self.first_number == self.last_number
                else f" (#{self.first_number}–#{self.last_number})"
            )
        text = (
            f"Imported {_plural(self.deals, 'deal')}{numbers} with "
            f"{_plural(self.stage_changes, 'stage change')}, "
            f"{_plural(self.activities, 'activity', 'activities')} and "
            f"{_plural(self.close_date_changes, 'close-date change')}."
        )
        if self.replaced:
            text += f" Replaced {_plural(self.replaced, 'deal')}."
        return text


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


# --- error helpers -----------------------------------------------------------------------


def _show(value: object) -> str:
    """A value quoted for an error message, cut short when long."""
    if isinstance(value, str):
        # Control characters would garble a one-line message: show them escaped.
        printable = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)
        text = f'"{printable}"'
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "an object"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 2] + "…" + text[-1]


def _fail(path: str, message: str, example: str | None = None) -> NoReturn:
    raise InvalidInput(f"{path}: {message}", example=example, field=path)


def _validated(path: str, parse: Callable[[str], T], value: str, example: str | None = None) -> T:
    """Run a domain validator, prefixing its message with where the value was."""
    try:
        return parse(value)
    except PipebotError as exc:
        _fail(path, exc.message, example or exc.example)


def _check_team_id(team_id: str) -> None:
    if not team_id or len(team_id) > _MAX_ID or team_id != team_id.strip():
        raise InvalidInput(f'"{team_id}" is not a team id.', example="T012ABCDEF", field="team")


# --- JSON value readers --------------------------------------------------------------------


def _get(obj: Mapping[str, object], key: str, path: str) -> object:
    if key not in obj:
        _fail(f"{path}.{key}" if path else key, "is missing")
    return obj[key]


def _object(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        _fail(path, f"expected an object, not {_show(value)}")
    return value


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        _fail(path, f"expected a list, not {_show(value)}")
    return value


def _string(value: object, path: str, example: str | None = None) -> str:
    if not isinstance(value, str):
        _fail(path, f"expected a string, not {_show(value)}", example)
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL.
        _fail(path, "contains a NUL character", example)
    return value


def _text(value: object, path: str, *, limit: int, example: str | None = None) -> str:
    text = _string(value, path, example)
    if not text.strip():
        _fail(path, "is empty", example)
    if len(text) > limit:
        _fail(path, f"is {len(text)} characters long; the limit is {limit}", example)
    return text


def _opt_text(value: object, path: str, *, limit: int) -> str | None:
    return None if value is None else _text(value, path, limit=limit)


def _owner(value: object, path: str) -> str:
    """A Slack user id, by the same rule the service applies to owners."""
    user = _string(value, path, USER_EXAMPLE)
    if not user or len(user) > _MAX_ID or not user.replace("-", "").replace("_", "").isalnum():
        _fail(path, f"{_show(value)} is not a Slack user id", USER_EXAMPLE)
    return user


@lru_cache(maxsize=4096)
def _is_actor(user: str) -> bool:
    return 0 < len(user) <= _MAX_ID and len(user.split()) == 1 and user == user.strip()


def _actor(value: object, path: str) -> str:
    """Who did something: any id that fits the column (jobs may act under their own names)."""
    # Cached: a million history rows name the same few users.
    if isinstance(value, str) and _is_actor(value):
        return value
    _string(value, path, USER_EXAMPLE)
    _fail(path, f"{_show(value)} is not a user id", USER_EXAMPLE)


def _parse_time(value: object) -> datetime | None:
    """An ISO-8601 time with an offset, in UTC; None when it is not one."""
    if type(value) is not str or len(value) <= 10:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is UTC:
        return parsed
    return None if parsed.utcoffset() is None else parsed.astimezone(UTC)


def _time(value: object, path: str) -> datetime:
    parsed = _parse_time(value)
    if parsed is None:
        if isinstance(value, str) and len(value) > 10:
            try:
                naive = datetime.fromisoformat(value).tzinfo is None
            except ValueError:
                naive = False
            if naive:
                _fail(path, f"{_show(value)} has no UTC offset", TIME_EXAMPLE)
        _fail(path, f"{_show(value)} is not an ISO-8601 time", TIME_EXAMPLE)
    return parsed


def _opt_time(value: object, path: str) -> datetime | None:
    return None if value is None else _time(value, path)


def _date(value: object, path: str) -> date:
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            _fail(path, f"{_show(value)} is not a real date", DAY_EXAMPLE)
    _fail(path, f"{_show(value)} is not a date like {DAY_EXAMPLE}", DAY_EXAMPLE)


def _opt_date(value: object, path: str) -> date | None:
    return None if value is None else _date(value, path)


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, f"expected a whole number, not {_show(value)}")
    if not low <= value <= high:
        _fail(path, f"{value} is not between {low} and {high}")
    return value


def _number_text(value: object) -> str | None:
    """The text of a JSON number or string; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _cents(value: object, path: str) -> int | None:
    if value is None:
        return None
    text = _number_text(value)
    if text is None or not _AMOUNT.fullmatch(text):
        _fail(path, f'{_show(value)} is not an amount like "50000.00"', "50000.00")
    amount = Decimal(text)
    if amount >= MAX_AMOUNT:
        _fail(path, f"{_show(value)} is too large for an amount", "50000.00")
    return int(amount.scaleb(2))


def _currency(value: object, path: str) -> str:
    return _validated(path, normalize_currency, _string(value, path, CURRENCY_EXAMPLE))


def _choice(value: object, path: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        _fail(path, f"{_show(value)} is not one of {', '.join(choices)}", choices[0])
    return value


def _stage_key(value: object, path: str, *, outcome_ok: bool = False) -> str:
    if isinstance(value, str):
        if value in OUTCOMES:
            if outcome_ok:
                return value
            _fail(path, f'"{value}" is an outcome, not an open stage', "proposal")
        if _STAGE_KEY.fullmatch(value):
            return value
    _fail(path, f"{_show(value)} is not a stage key (a-z, 0-9 and _)", "proposal")


def _amount_text(cents: int | None) -> str | None:
    if cents is None:
        return None
    units, hundredths = divmod(cents, 100)
    return f"{units}.{hundredths:02d}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _decimal_text(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


# --- export --------------------------------------------------------------------------------


def _team_or_raise(session: Session, team_id: str) -> Team:
    team = repo.get_team(session, team_id)
    if team is None:
        raise NotFound(f'There is no team "{team_id}" in this database.')
    return team


def _grouped(
    session: Session, model: Any, columns: Sequence[Any], team_id: str
) -> dict[int, list[Any]]:
    """A team's history rows of one kind, by deal id, oldest first (the relationship order)."""
    stmt = (
        select(model.deal_id, *columns)
        .join(Deal, Deal.id == model.deal_id)
        .where(Deal.team_id == team_id)
        .order_by(model.deal_id, model.at, model.id)
    )
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(stmt):
        groups[row[0]].append(row)
    return groups


def _deal_rows(team_id: str) -> Select[Any]:
    """A team's deals as plain rows: no ORM objects, which a 100,000-deal team would pile up."""
    columns = [c for c in cast(Table, Deal.__table__).columns if c.name != "team_id"]
    return select(*columns).where(Deal.team_id == team_id).order_by(Deal.number)


def export_team(session: Session, team_id: str) -> dict[str, Any]:
    """The team's settings, stages, rates and every deal with its history, as `pipebot/1`."""
    team = _team_or_raise(session, team_id)
    history = _grouped(
        session, StageChange, (StageChange.to_stage, StageChange.at, StageChange.by), team_id
    )
    activities = _grouped(
        session,
        Activity,
        (Activity.kind, Activity.text, Activity.at, Activity.by, Activity.link),
        team_id,
    )
    changes = _grouped(
        session,
        CloseDateChange,
        (
            CloseDateChange.old_date,
            CloseDateChange.new_date,
            CloseDateChange.at,
            CloseDateChange.by,
        ),
        team_id,
    )
    deals: list[dict[str, Any]] = []
    for d in session.execute(_deal_rows(team_id)):
        next_step = (
            None
            if d.next_step_text is None
            else {"text": d.next_step_text, "due": _day(d.next_step_due)}
        )
        deals.append(
            {
                "number": d.number,
                "name": d.name,
                "amount": _amount_text(d.amount_cents),
                "currency": d.currency,
                "owner": d.owner_id,
                "stage": d.stage,
                "status": d.status,
                "created_at": _iso(d.created_at),
                "closed_at": _iso(d.closed_at),
                "close_date": _day(d.close_date),
                "lost_reason": d.lost_reason,
                "next_step": next_step,
                "history": [
                    {"stage": h.to_stage, "at": _iso(h.at), "by": h.by}
                    for h in history.get(d.id, ())
                ],
                "activities": [
                    {"kind": a.kind, "text": a.text, "at": _iso(a.at), "by": a.by, "link": a.link}
                    for a in activities.get(d.id, ())
                ],
                "created_by": d.created_by,
                "source": d.source,
                "last_activity_at": _iso(d.last_activity_at),
                "snoozed_until": _day(d.snoozed_until),
                "updated_at": _iso(d.updated_at),
                "updated_by": d.updated_by,
                "close_date_changes": [
                    {"old": _day(c.old_date), "new": _day(c.new_date), "at": _iso(c.at), "by": c.by}
                    for c in changes.get(d.id, ())
                ],
            }
        )
    return {
        "format": FORMAT,
        "team": team.id,
        "timezone": team.timezone,
        "currency": team.currency,
        "rates": {r.currency: _decimal_text(r.rate) for r in sorted(team.rates, key=_rate_key)},
        "stages": [
            {"key": s.key, "name": s.name, "probability": s.probability, "stale_days": s.stale_days}
            for s in team.stages
        ],
        "admins": list(team.admins or []),
        "channel_id": team.channel_id,
        "next_number": team.next_number,
        "reminders": team.reminders,
        "reminder_mode": team.reminder_mode,
        "digest": team.digest,
        "deals": deals,
    }


def _rate_key(rate: Rate) -> str:
    return rate.currency


def export_csv(session: Session, team_id: str) -> str:
    """One row per deal, for spreadsheets; the columns are `CSV_COLUMNS`."""
    _team_or_raise(session, team_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in session.execute(_deal_rows(team_id)):
        writer.writerow(
            [
                d.number,
                d.name,
                _amount_text(d.amount_cents) or "",
                d.currency,
                d.owner_id,
                d.stage,
                d.status,
                _iso(d.created_at),
                _iso(d.closed_at) or "",
                _day(d.close_date) or "",
                d.next_step_text or "",
                _day(d.next_step_due) or "",
                d.lost_reason or "",
                d.source or "",
                _iso(d.last_activity_at),
            ]
        )
    return out.getvalue()


# --- JSON import: validation ---------------------------------------------------------------


@dataclass
class _DealRows:
    """One deal's rows, ready for bulk insert once the deal id is known."""

    deal: dict[str, Any]
    history: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    close_date_changes: list[dict[str, Any]]


@dataclass(frozen=True)
class _TeamPlan:
    """A validated import file, deals still raw: they are read again batch by batch."""

    # Team columns to set; optional keys absent from the file leave the team's own values.
    settings: dict[str, Any]
    rates: dict[str, Decimal] | None
    stages: list[dict[str, Any]]
    next_number: int
    deals: list[object]
    counts: tuple[int, int, int]


def _read_rates(value: object) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for code, raw in _object(value, "rates").items():
        path = f"rates.{code}"
        currency = _validated(path, normalize_currency, code, CURRENCY_EXAMPLE)
        text = _number_text(raw)
        if text is None or not _RATE.fullmatch(text) or not 0 < Decimal(text) < _MAX_RATE:
            _fail(path, f'{_show(raw)} is not a positive rate like "0.92"', '"USD": "0.92"')
        if currency in rates:
            _fail(path, f"{currency} is given twice")
        rates[currency] = Decimal(text)
    return rates


def _read_stages(value: object) -> list[dict[str, Any]]:
    items = _list(value, "stages")
    if not items:
        _fail("stages", "is empty: a pipeline needs at least one open stage")
    if len(items) > stage_rules.MAX_STAGES:
        _fail("stages", f"has {len(items)} stages; the limit is {stage_rules.MAX_STAGES}")
    stages: list[dict[str, Any]] = []
    keys: set[str] = set()
    names: set[str] = set()
    for position, raw in enumerate(items):
        path = f"stages[{position}]"
        obj = _object(raw, path)
        key = _stage_key(_get(obj, "key", path), f"{path}.key")
        name = _validated(
            f"{path}.name",
            stage_rules.validate_name,
            _string(_get(obj, "name", path), f"{path}.name"),
            "Proposal",
        )
        probability = _int(_get(obj, "probability", path), f"{path}.probability", 0, 100)
        stale_days = _int(_get(obj, "stale_days", path), f"{path}.stale_days", 1, 365)
        if key in keys:
            _fail(f"{path}.key", f'"{key}" is given twice')
        if name.lower() in names:
            _fail(f"{path}.name", f'"{name}" is given twice')
        keys.add(key)
        names.add(name.lower())
        stages.append(
            {
                "key": key,
                "name": name,
                "position": position,
                "probability": probability,
                "stale_days": stale_days,
            }
        )
    return stages


def _read_team(data: object) -> _TeamPlan:
    if not isinstance(data, dict):
        raise InvalidInput(
            f"This is not a pipebot export: expected a JSON object, not {_show(data)}.",
            example='{"format": "pipebot/1", ...}',
        )
    fmt = _get(data, "format", "")
    if fmt != FORMAT:
        _fail("format", f'{_show(fmt)} is not a format I can import; expected "{FORMAT}"', FORMAT)
    timezone = _validated(
        "timezone",
        validate_timezone,
        _string(_get(data, "timezone", ""), "timezone", TIMEZONE_EXAMPLE),
        TIMEZONE_EXAMPLE,
    )
    currency = _currency(_get(data, "currency", ""), "currency")
    settings: dict[str, Any] = {"timezone": timezone, "currency": currency}
    rates = None if data.get("rates") is None else _read_rates(data["rates"])
    stages = _read_stages(_get(data, "stages", ""))
    if "admins" in data:
        admins = [
            _owner(raw, f"admins[{i}]")
            for i, raw in enumerate(_list(data["admins"] or [], "admins"))
        ]
        if len(admins) > MAX_ADMINS:
            _fail("admins", f"has {len(admins)} admins; the limit is {MAX_ADMINS}")
        settings["admins"] = admins
    if "channel_id" in data:
        settings["channel_id"] = _opt_text(data["channel_id"], "channel_id", limit=_MAX_ID)
    for key, normalize in _SCHEDULES.items():
        if data.get(key) is not None:
            settings[key] = _validated(key, normalize, _string(data[key], key))
    deals = _list(_get(data, "deals", ""), "deals")

    open_keys = frozenset(s["key"] for s in stages)
    seen: dict[int, int] = {}
    history = activities = changes = 0
    for index, raw in enumerate(deals):
        rows = _read_deal(raw, f"deals[{index}]", "", open_keys)
        number = rows.deal["number"]
        if number in seen:
            _fail(f"deals[{index}].number", f"#{number} is also deals[{seen[number]}]'s number")
        seen[number] = index
        history += len(rows.history)
        activities += len(rows.activities)
        changes += len(rows.close_date_changes)
    highest = max(seen, default=0)
    next_number = highest + 1
    if data.get("next_number") is not None:
        next_number = _int(data["next_number"], "next_number", 1, _MAX_NUMBER)
        if next_number <= highest:
            _fail("next_number", f"{next_number} is not above the highest deal number #{highest}")
    return _TeamPlan(
        settings=settings,
        rates=rates,
        stages=stages,
        next_number=next_number,
        deals=deals,
        counts=(history, activities, changes),
    )


def _history_entry(raw: object, item: str) -> tuple[str, datetime, str]:
    """One history entry read with full checks: the slow path, which explains what is wrong."""
    entry = _object(raw, item)
    stage = _stage_key(_get(entry, "stage", item), f"{item}.stage", outcome_ok=True)
    at = _time(_get(entry, "at", item), f"{item}.at")
    return stage, at, _actor(_get(entry, "by", item), f"{item}.by")


def _read_history(value: object, path: str, team_id: str) -> list[dict[str, Any]]:
    entries = _list(value, path)
    if not entries:
        _fail(path, "is empty: it starts with the stage the deal was created in")
    rows: list[dict[str, Any]] = []
    prev_stage: str | None = None
    prev_at: datetime | None = None
    for i, raw in enumerate(entries):
        # A million entries: check well-formed ones inline, explain the others in the slow path.
        at: datetime | None = None
        if type(raw) is dict:
            stage, by = raw.get("stage"), raw.get("by")
            at = _parse_time(raw.get("at"))
        if (
            at is None
            or type(stage) is not str
            or not (stage in OUTCOMES or _STAGE_KEY.fullmatch(stage))
            or type(by) is not str
            or not _is_actor(by)
        ):
            stage, at, by = _history_entry(raw, f"{path}[{i}]")
        if prev_at is None:
            if stage in OUTCOMES:
                _fail(f"{path}[{i}].stage", f'a deal is created in an open stage, not "{stage}"')
        else:
            if at < prev_at:
                _fail(
                    f"{path}[{i}].at",
                    f"{_iso(at)} is before the entry above it ({_iso(prev_at)}); "
                    "history is oldest first",
                    TIME_EXAMPLE,
                )
            if stage == prev_stage:
                _fail(f"{path}[{i}].stage", f'"{stage}" repeats the entry above it')
            if stage in OUTCOMES and prev_stage in OUTCOMES:
                _fail(
                    f"{path}[{i}].stage",
                    f'"{stage}" follows "{prev_stage}": a closed deal is reopened into a stage '
                    "before it closes again",
                )
        rows.append(
            {
                "team_id": team_id,
                "from_stage": prev_stage,
                "to_stage": stage,
                "at": at,
                "by": by,
                "from_entered_at": prev_at,
            }
        )
        prev_stage, prev_at = stage, at
    return rows


def _read_activities(value: object, path: str, team_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev_at: datetime | None = None
    for i, raw in enumerate(_list(value, path)):
        item = f"{path}[{i}]"
        entry = _object(raw, item)
        at = _time(_get(entry, "at", item), f"{item}.at")
        if prev_at is not None and at < prev_at:
            _fail(f"{item}.at", f"{_show(entry['at'])} is before the activity above it")
        link = entry.get("link")
        rows.append(
            {
                "team_id": team_id,
                "kind": _choice(_get(entry, "kind", item), f"{item}.kind", _KINDS),
                "text": _text(_get(entry, "text", item), f"{item}.text", limit=MAX_TEXT),
                "at": at,
                "by": _actor(_get(entry, "by", item), f"{item}.by"),
                "link": None if link is None else _string(link, f"{item}.link"),
            }
        )
        prev_at = at
    return rows


def _read_close_date_changes(value: object, path: str, team_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev_at: datetime | None = None
    for i, raw in enumerate(_list(value, path)):
        item = f"{path}[{i}]"
        entry = _object(raw, item)
        at = _time(_get(entry, "at", item), f"{item}.at")
        if prev_at is not None and at < prev_at:
            _fail(f"{item}.at", f"{_show(entry['at'])} is before the change above it")
        rows.append(
            {
                "team_id": team_id,
                "old_date": _opt_date(entry.get("old"), f"{item}.old"),
                "new_date": _opt_date(entry.get("new"), f"{item}.new"),
                "at": at,
                "by": _actor(_get(entry, "by", item), f"{item}.by"),
            }
        )
        prev_at = at
    return rows


def _check_history_matches(
    path: str, history: list[dict[str, Any]], status: str, stage: str, closed_at: datetime | None
) -> None:
    """The history must end where the deal is: its stage, or its outcome at its closing time."""
    last = history[-1]
    where = f"{path}.history[{len(history) - 1}].stage"
    if status == DealStatus.OPEN:
        if last["to_stage"] != stage:
            _fail(
                where,
                f'an open deal\'s last entry is its stage "{stage}", not "{last["to_stage"]}"',
            )
        return
    if last["to_stage"] != status:
        _fail(where, f'a {status} deal\'s last entry is "{status}", not "{last["to_stage"]}"')
    if last["from_stage"] != stage:
        _fail(
            f"{path}.stage",
            f'"{stage}" is not the stage the deal closed from ("{last["from_stage"]}")',
        )
    if last["at"] != closed_at:
        _fail(
            f"{path}.closed_at",
            f"{_iso(closed_at)} is not the time of the last history entry ({_iso(last['at'])})",
            TIME_EXAMPLE,
        )


def _read_deal(raw: object, path: str, team_id: str, open_keys: frozenset[str]) -> _DealRows:
    d = _object(raw, path)
    number = _int(_get(d, "number", path), f"{path}.number", 1, _MAX_NUMBER)
    name = _validated(
        f"{path}.name",
        validate_deal_name,
        _string(_get(d, "name", path), f"{path}.name", NAME_EXAMPLE),
        NAME_EXAMPLE,
    )
    cents = _cents(d.get("amount"), f"{path}.amount")
    currency = _currency(_get(d, "currency", path), f"{path}.currency")
    owner = _owner(_get(d, "owner", path), f"{path}.owner")
    status = _choice(_get(d, "status", path), f"{path}.status", _STATUSES)
    stage = _stage_key(_get(d, "stage", path), f"{path}.stage")
    if status == DealStatus.OPEN and stage not in open_keys:
        _fail(
            f"{path}.stage",
            f'"{stage}" is not one of the stages: {", ".join(sorted(open_keys))}',
            next(iter(sorted(open_keys)), None),
        )
    created_at = _time(_get(d, "created_at", path), f"{path}.created_at")
    closed_at = _opt_time(d.get("closed_at"), f"{path}.closed_at")
    if status == DealStatus.OPEN and closed_at is not None:
        _fail(f"{path}.closed_at", "an open deal has no closing time: use null")
    if status != DealStatus.OPEN and closed_at is None:
        _fail(f"{path}.closed_at", f"a {status} deal needs its closing time", TIME_EXAMPLE)
    lost_reason = _opt_text(d.get("lost_reason"), f"{path}.lost_reason", limit=_MAX_SHORT_TEXT)
    if lost_reason is not None and status != DealStatus.LOST:
        _fail(f"{path}.lost_reason", f"only a lost deal has a lost reason; this one is {status}")
    step_text: str | None = None
    step_due: date | None = None
    if d.get("next_step") is not None:
        step = _object(d["next_step"], f"{path}.next_step")
        step_text = _text(
            _get(step, "text", f"{path}.next_step"), f"{path}.next_step.text", limit=_MAX_SHORT_TEXT
        )
        step_due = _opt_date(step.get("due"), f"{path}.next_step.due")

    history = _read_history(_get(d, "history", path), f"{path}.history", team_id)
    if history[0]["at"] < created_at:
        _fail(
            f"{path}.history[0].at",
            f"{_iso(history[0]['at'])} is before the deal was created ({_iso(created_at)})",
        )
    _check_history_matches(path, history, status, stage, closed_at)
    activities = _read_activities(d.get("activities") or [], f"{path}.activities", team_id)
    changes = _read_close_date_changes(
        d.get("close_date_changes") or [], f"{path}.close_date_changes", team_id
    )

    created_by = d.get("created_by")
    last_activity_at = _opt_time(d.get("last_activity_at"), f"{path}.last_activity_at")
    if last_activity_at is None:
        last_activity_at = max([created_at, history[-1]["at"], *(a["at"] for a in activities)])
    updated_at = _opt_time(d.get("updated_at"), f"{path}.updated_at")
    if updated_at is None:
        updated_at = max([last_activity_at, *(c["at"] for c in changes)])
    updated_by = d.get("updated_by")
    deal = {
        "team_id": team_id,
        "number": number,
        "name": name,
        "amount_cents": cents,
        "currency": currency,
        "owner_id": owner,
        "stage": stage,
        "status": status,
        "created_at": created_at,
        "created_by": (
            history[0]["by"] if created_by is None else _actor(created_by, f"{path}.created_by")
        ),
        "closed_at": closed_at,
        "close_date": _opt_date(d.get("close_date"), f"{path}.close_date"),
        "next_step_text": step_text,
        "next_step_due": step_due,
        "lost_reason": lost_reason,
        "source": _opt_text(d.get("source"), f"{path}.source", limit=_MAX_SOURCE),
        "last_activity_at": last_activity_at,
        "snoozed_until": _opt_date(d.get("snoozed_until"), f"{path}.snoozed_until"),
        "updated_at": updated_at,
        "updated_by": (
            history[-1]["by"] if updated_by is None else _actor(updated_by, f"{path}.updated_by")
        ),
        "version": 1,
    }
    return _DealRows(deal, history, activities, changes)


# --- bulk reads and writes -----------------------------------------------------------------


def _count_deals(session: Session, team_id: str) -> int:
    stmt = select(func.count()).select_from(Deal).where(Deal.team_id == team_id)
    return int(session.execute(stmt).scalar_one())


def _lock_team(session: Session, team_id: str) -> int:
    """Hold the team row (deal creators update it) and return its next deal number."""
    stmt = select(Team.next_number).where(Team.id == team_id).with_for_update()
    return int(session.execute(stmt).scalar_one())


def _delete_deals(session: Session, team_id: str) -> int:
    """Delete a team's deals; the database cascades to their history."""
    result = session.execute(
        delete(Deal).where(Deal.team_id == team_id),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0))


def _bulk_insert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows at once: COPY on PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name != "postgresql":
        # Core, not the ORM's bulk path, which splits rows into many small statements.
        session.execute(insert(table), rows)
        return
    # psycopg's executemany sends one statement per row; COPY streams them all in one go.
    # Values are already aware UTC datetimes, as UTCDateTime would have bound them.
    columns = [c.name for c in table.columns if c.name in rows[0]]
    dbapi = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    names = ", ".join(f'"{c}"' for c in columns)
    with dbapi.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _insert_deals(session: Session, team_id: str, batch: Sequence[_DealRows]) -> None:
    """Insert a batch of deals, then their history rows under the new deal ids."""
    _bulk_insert(session, Deal, [r.deal for r in batch])
    numbers = [r.deal["number"] for r in batch]
    stmt = select(Deal.number, Deal.id).where(Deal.team_id == team_id, Deal.number.in_(numbers))
    ids: dict[int, int] = {number: deal_id for number, deal_id in session.execute(stmt)}
    history: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for rows in batch:
        deal_id = ids[rows.deal["number"]]
        for group, target in (
            (rows.history, history),
            (rows.activities, activities),
            (rows.close_date_changes, changes),
        ):
            for row in group:
                row["deal_id"] = deal_id
            target.extend(group)
    _bulk_insert(session, StageChange, history)
    _bulk_insert(session, Activity, activities)
    _bulk_insert(session, CloseDateChange, changes)


def _batches(items: Sequence[T], size: int = _BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_team(
    session: Session,
    team_id: str,
    data: dict[str, Any],
    *,
    replace: bool = False,
    clock: Clock = utcnow,
) -> ImportResult:
    """Load a `pipebot/1` export into a team: its settings, stages, rates and deals."""
    _check_team_id(team_id)
    if not replace and _count_deals(session, team_id):
        raise _already_has_deals(team_id)
    plan = _read_team(data)
    repo.create_team_if_missing(
        session,
        team_id,
        timezone=plan.settings["timezone"],
        currency=plan.settings["currency"],
        now=clock(),
    )
    current_next = _lock_team(session, team_id)
    replaced = 0
    if _count_deals(session, team_id):
        if not replace:
            raise _already_has_deals(team_id)
        replaced = _delete_deals(session, team_id)
    session.execute(
        update(Team)
        .where(Team.id == team_id)
        .values(
            # A number once given in this team is never given again.
            next_number=max(plan.next_number, current_next),
            **plan.settings,
        ),
        execution_options={"synchronize_session": False},
    )
    no_sync = {"synchronize_session": False}
    session.execute(delete(Stage).where(Stage.team_id == team_id), execution_options=no_sync)
    session.execute(insert(Stage), [{"team_id": team_id, **s} for s in plan.stages])
    if plan.rates is not None:
        session.execute(delete(Rate).where(Rate.team_id == team_id), execution_options=no_sync)
        rates = [{"team_id": team_id, "currency": c, "rate": r} for c, r in plan.rates.items()]
        if rates:
            session.execute(insert(Rate), rates)
    open_keys = frozenset(s["key"] for s in plan.stages)
    numbers: list[int] = []
    for start in range(0, len(plan.deals), _BATCH):
        batch = [
            _read_deal(raw, f"deals[{start + i}]", team_id, open_keys)
            for i, raw in enumerate(plan.deals[start : start + _BATCH])
        ]
        _insert_deals(session, team_id, batch)
        numbers.extend(r.deal["number"] for r in batch)
    # Rows were written behind the ORM's back: reload anything this session already holds.
    session.expire_all()
    history, activities, changes = plan.counts
    return ImportResult(
        deals=len(plan.deals),
        stage_changes=history,
        activities=activities,
        close_date_changes=changes,
        replaced=replaced,
        first_number=min(numbers, default=None),
        last_number=max(numbers, default=None),
    )


def _already_has_deals(team_id: str) -> Refused:
    return Refused(
        f"Team {team_id} already has deals; import with replace to delete them first.",
        example=f"pipebot import backup.json --team {team_id} --replace",
    )


# --- CSV import ----------------------------------------------------------------------------

# Header names people and other CRMs use, after lower-casing and turning _ and - into spaces.
_CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "deal", "deal name", "opportunity", "opportunity name", "title", "deal title"),
    "amount": ("amount", "value", "deal value", "deal amount", "opportunity amount"),
    "currency": ("currency", "deal currency", "currency of value", "amount currency"),
    "stage": ("stage", "deal stage", "pipeline stage", "opportunity stage"),
    "owner": ("owner", "deal owner", "owner id", "opportunity owner"),
    "close_date": ("close date", "expected close date", "closing date", "expected close"),
    "created": (
        "created",
        "created at",
        "create date",
        "created date",
        "deal created",
        "created on",
    ),
    "closed": ("closed at", "closed", "close time", "closed time", "won time", "lost time"),
    "status": ("status", "deal status"),
    "lost_reason": ("lost reason", "closed lost reason", "loss reason"),
    "next_step": ("next step",),
    "next_step_due": ("next step due", "next step date", "next activity date"),
    "source": ("source", "lead source", "deal source", "original source"),
    "last_activity": ("last activity at", "last activity", "last activity date"),
}
_HEADER_FIELD = {alias: key for key, aliases in _CSV_HEADERS.items() for alias in aliases}
_WON_WORDS = frozenset({"won", "closedwon"})
_LOST_WORDS = frozenset({"lost", "closedlost"})
_OPEN_WORDS = frozenset({"open", "active", "inprogress"})


def _normal_header(text: str) -> str:
    words = " ".join(text.replace("\ufeff", "").replace("_", " ").lower().split())
    # Pipedrive prefixes every column of a deals export with the entity name.
    for prefix in ("deal - ", "deal: "):
        if words.startswith(prefix):
            words = words[len(prefix) :]
    return " ".join(words.replace("-", " ").split())


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@dataclass(frozen=True)
class _Cell:
    """A value read from a CSV row, with where it came from for error messages."""

    row: int
    header: str
    value: str

    def fail(self, message: str, example: str | None) -> NoReturn:
        """Raise InvalidInput naming the row, the column and the value."""
        shown = _show(self.value)
        where = f'row {self.row}, column "{self.header}"'
        if shown not in message:
            where += f" ({shown})"
        raise InvalidInput(f"{where}: {message}", example=example, field=self.header)

    def parse(self, parse: Callable[[str], T], example: str | None) -> T:
        """Run a domain parser on the value, re-raising its error with the row and column."""
        try:
            return parse(self.value)
        except PipebotError as exc:
            self.fail(exc.message, example or exc.example)


@dataclass(frozen=True)
class _CsvTeam:
    team_id: str
    stages: list[StageOut]
    tz: ZoneInfo
    today: date
    now: datetime
    actor: str
    currency: str


def _csv_reader(text: str) -> Iterator[list[str]]:
    body = text.removeprefix("\ufeff")
    first_line = body.split("\n", 1)[0]
    # Spreadsheets in comma-decimal locales save with semicolons; some tools use tabs.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)


def _csv_time(cell: _Cell, team: _CsvTeam) -> datetime:
    """An ISO time (naive ones in the team's zone), or a date read as midnight there."""
    text = cell.value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        day = cell.parse(
            lambda v: parse_date(v, today=team.today), f"{DAY_EXAMPLE} or {TIME_EXAMPLE}"
        )
        parsed = datetime.combine(day, time(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=team.tz)
    result = parsed.astimezone(UTC)
    if result > team.now:
        cell.fail(f"{_show(cell.value)} is in the future", DAY_EXAMPLE)
    return result


def _csv_date(cell: _Cell, team: _CsvTeam) -> date:
    text = cell.value.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return cell.parse(lambda v: parse_date(v, today=team.today), DAY_EXAMPLE)


def _csv_text(cell: _Cell, limit: int, example: str) -> str:
    text = cell.value.strip()
    if len(text) > limit:
        cell.fail(f"it is {len(text)} characters long; the limit is {limit}", example)
    return text


def _csv_status(cell: _Cell | None) -> str | None:
    if cell is None:
        return None
    word = _letters(cell.value)
    if word in _OPEN_WORDS:
        return DealStatus.OPEN.value
    if word in _WON_WORDS:
        return WON
    if word in _LOST_WORDS:
        return LOST
    cell.fail(f"{_show(cell.value)} is not a status: use open, won or lost", "won")


def _csv_deal(cells: Mapping[str, _Cell], row: int, team: _CsvTeam) -> _DealRows:
    name_cell = cells.get("name")
    if name_cell is None:
        raise InvalidInput(
            f"row {row}: the deal name is empty.", example=NAME_EXAMPLE, field="name"
        )
    name = name_cell.parse(validate_deal_name, NAME_EXAMPLE)

    currency = team.currency
    if "currency" in cells:
        currency = cells["currency"].parse(normalize_currency, CURRENCY_EXAMPLE)
    cents: int | None = None
    if "amount" in cells:
        money = cells["amount"].parse(lambda v: parse_amount(v, currency), AMOUNT_EXAMPLE)
        if "currency" in cells and money.currency != currency:
            cells["amount"].fail(
                f"the amount is in {money.currency} but the currency column says {currency}",
                AMOUNT_EXAMPLE,
            )
        currency = money.currency
        cents = int(money.amount.scaleb(2))

    owner = team.actor
    if "owner" in cells:
        cell = cells["owner"]
        owner = cell.value.strip()
        if len(owner) > _MAX_ID or not owner.replace("-", "").replace("_", "").isalnum():
            cell.fail(f"{_show(cell.value)} is not a Slack user id", USER_EXAMPLE)

    status = _csv_status(cells.get("status"))
    stage = team.stages[0].key
    if "stage" in cells:
        cell = cells["stage"]
        word = _letters(cell.value)
        outcome = WON if word in _WON_WORDS else LOST if word in _LOST_WORDS else None
        if outcome is None:
            names = ", ".join(s.name for s in team.stages)
            stage = cell.parse(
                lambda v: stage_rules.resolve_stage(v, team.stages).key, f"{names}, won or lost"
            )
        elif status not in (None, outcome):
            cells["status"].fail(
                f'"{cells["status"].value}" contradicts the stage {_show(cell.value)}', outcome
            )
        else:
            # Another CRM's "Closed Won" does not say which stage the deal closed from.
            status = outcome
    status = status or DealStatus.OPEN.value

    created = _csv_time(cells["created"], team) if "created" in cells else team.now
    closed_at: datetime | None = None
    if status != DealStatus.OPEN:
        closed_at = created
        if "closed" in cells:
            closed_at = _csv_time(cells["closed"], team)
            if closed_at < created:
                cells["closed"].fail("is before the deal was created", TIME_EXAMPLE)
    close_date = _csv_date(cells["close_date"], team) if "close_date" in cells else None
    if status != DealStatus.OPEN and "closed" not in cells and close_date is not None:
        # Without a closing time, a closed deal's close date is when it closed, if plausible.
        candidate = datetime.combine(close_date, time(0), tzinfo=team.tz).astimezone(UTC)
        if created <= candidate <= team.now:
            closed_at = candidate

    lost_reason: str | None = None
    if status == LOST and "lost_reason" in cells:
        lost_reason = _csv_text(cells["lost_reason"], _MAX_SHORT_TEXT, "went with a competitor")
    step_text: str | None = None
    step_due: date | None = None
    if "next_step" in cells:
        step_text = _csv_text(cells["next_step"], _MAX_SHORT_TEXT, "send the proposal")
        if "next_step_due" in cells:
            step_due = _csv_date(cells["next_step_due"], team)
    source: str | None = None
    if "source" in cells:
        source = _csv_text(cells["source"], _MAX_SOURCE, "webinar")

    last_activity = max(created, closed_at or created)
    if "last_activity" in cells:
        last_activity = max(last_activity, _csv_time(cells["last_activity"], team))

    history: list[dict[str, Any]] = [
        {
            "team_id": team.team_id,
            "from_stage": None,
            "to_stage": stage,
            "at": created,
            "by": team.actor,
            "from_entered_at": None,
        }
    ]
    if closed_at is not None:
        history.append(
            {
                "team_id": team.team_id,
                "from_stage": stage,
                "to_stage": status,
                "at": closed_at,
                "by": team.actor,
                "from_entered_at": created,
            }
        )
    deal = {
        "team_id": team.team_id,
        "number": 0,
        "name": name,
        "amount_cents": cents,
        "currency": currency,
        "owner_id": owner,
        "stage": stage,
        "status": status,
        "created_at": created,
        "created_by": team.actor,
        "closed_at": closed_at,
        "close_date": close_date,
        "next_step_text": step_text,
        "next_step_due": step_due,
        "lost_reason": lost_reason,
        "source": source,
        "last_activity_at": last_activity,
        "snoozed_until": None,
        "updated_at": team.now,
        "updated_by": team.actor,
        "version": 1,
    }
    return _DealRows(deal, history, [], [])


def _csv_deals(text: str, team: _CsvTeam) -> list[_DealRows]:
    reader = _csv_reader(text)
    row = 0
    try:
        header: list[str] | None = None
        for number, record in enumerate(reader, start=1):
            row = number
            if any(cell.strip() for cell in record):
                header = record
                break
        if header is None:
            raise InvalidInput("The CSV file is empty.", example=CSV_EXAMPLE)
        header_row = row
        columns = [
            (i, _HEADER_FIELD.get(_normal_header(h)), h.strip()) for i, h in enumerate(header)
        ]
        if not any(field == "name" for _, field, _ in columns):
            raise InvalidInput(
                f"row {header_row}: no column holds the deal name; name one of them "
                + ", ".join(f'"{h}"' for h in _CSV_HEADERS["name"])
                + ".",
                example=CSV_EXAMPLE,
            )
        deals: list[_DealRows] = []
        for row, record in enumerate(reader, start=header_row + 1):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
                raise InvalidInput(
                    f"row {row}: it has {len(record)} cells but the header has {len(header)}.",
                    example=CSV_EXAMPLE,
                )
            cells: dict[str, _Cell] = {}
            for i, field, name in columns:
                # Several columns may mean one thing (won time, lost time): the first filled wins.
                if field is None or field in cells or i >= len(record) or not record[i].strip():
                    continue
                cell = _Cell(row, name, record[i])
                if "\x00" in cell.value:
                    cell.fail("it contains a NUL character", CSV_EXAMPLE)
                cells[field] = cell
            deals.append(_csv_deal(cells, row, team))
    except csv.Error as exc:
        raise InvalidInput(
            f"row {row + 1}: this is not valid CSV ({exc}).", example=CSV_EXAMPLE
        ) from None
    return deals


def import_csv(
    session: Session,
    team_id: str,
    text: str,
    *,
    actor: str,
    default_currency: str,
    replace: bool = False,
    clock: Clock = utcnow,
    defaults: TeamDefaults | None = None,
) -> ImportResult:
    """Append the deals of a spreadsheet or another CRM's CSV export, with new numbers."""
    _check_team_id(team_id)
    user = actor.strip()
    if not user or len(user) > _MAX_ID or not user.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(
            f'"{actor}" is not a Slack user id.', example=USER_EXAMPLE, field="actor"
        )
    currency = normalize_currency(default_currency)
    service = service_in(session, team_id, clock=clock, defaults=defaults)
    team = _CsvTeam(
        team_id=team_id,
        stages=service.stages(),
        tz=service.tz(),
        today=service.today(),
        now=clock(),
        actor=user,
        currency=currency,
    )
    deals = _csv_deals(text, team)
    if not deals:
        raise InvalidInput("The CSV file has a header but no deals.", example=CSV_EXAMPLE)
    replaced = _delete_deals(session, team_id) if replace else 0
    first = _reserve_numbers(session, team_id, len(deals))
    for offset, rows in enumerate(deals):
        rows.deal["number"] = first + offset
    for batch in _batches(deals):
        _insert_deals(session, team_id, batch)
    session.expire_all()
    return ImportResult(
        deals=len(deals),
        stage_changes=sum(len(r.history) for r in deals),
        replaced=replaced,
        first_number=first,
        last_number=first + len(deals) - 1,
    )


def _reserve_numbers(session: Session, team_id: str, count: int) -> int:
    """The first of `count` consecutive deal numbers, taken in one row update."""
    stmt = (
        update(Team)
        .where(Team.id == team_id)
        .values(next_number=Team.next_number + count)
        .returning(Team.next_number)
    )
    return int(session.execute(stmt).scalar_one()) - count
