"""Read a spreadsheet's or another CRM's CSV export into deal rows, checking every cell.

Column names are matched loosely (HubSpot's "Deal Stage", Pipedrive's "Deal - Value", ...);
stages by the team's own names; times without a zone are in the team's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import NoReturn, TypeVar
from zoneinfo import ZoneInfo

from pipeline import stages as stage_rules
from pipeline.dates import parse_date
from pipeline.errors import InvalidInput, PipebotError
from pipeline.money import AMOUNT_EXAMPLE, CURRENCY_EXAMPLE, normalize_currency, parse_amount
from pipeline.planning import LostReason, default_reasons, key_of, reason_key, split_reason
from pipeline.schemas import StageOut
from pipeline.service import validate_deal_name
from pipeline.transfer.fields import show
from pipeline.transfer.plan import (
    CSV_EXAMPLE,
    DAY_EXAMPLE,
    MAX_ID,
    MAX_REASON,
    MAX_SOURCE,
    MAX_STEP,
    NAME_EXAMPLE,
    TIME_EXAMPLE,
    USER_EXAMPLE,
    DealRow,
    DealRows,
    StageChangeRow,
)
from pipeline.types import LOST, WON, DealStatus

T = TypeVar("T")

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
    "lost_detail": ("lost detail", "loss detail", "lost reason detail"),
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
        shown = show(self.value)
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
class CsvTeam:
    """What reading a CSV file needs to know of the team and of who imports it."""

    team_id: str
    stages: list[StageOut]
    tz: ZoneInfo
    today: date
    now: datetime
    actor: str
    currency: str
    lost_reasons: Sequence[LostReason] = tuple(default_reasons())


def _csv_reader(text: str) -> Iterator[list[str]]:
    body = text.removeprefix("\ufeff")
    first_line = body.split("\n", 1)[0]
    # Spreadsheets in comma-decimal locales save with semicolons; some tools use tabs.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)


def _csv_time(cell: _Cell, team: CsvTeam) -> datetime:
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
        cell.fail(f"{show(cell.value)} is in the future", DAY_EXAMPLE)
    return result


def _csv_date(cell: _Cell, team: CsvTeam) -> date:
    text = cell.value.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return cell.parse(lambda v: parse_date(v, today=team.today), DAY_EXAMPLE)


def _csv_text(cell: _Cell, limit: int, example: str) -> str:
    text = cell.value.strip()
    if len(text) > limit:
        cell.fail(f"it is {len(text):,} characters long; the limit is {limit:,}", example)
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
    cell.fail(f"{show(cell.value)} is not a status: use open, won or lost", "won")


def _csv_money(cells: Mapping[str, _Cell], team: CsvTeam) -> tuple[str, int | None]:
    """The deal's currency and amount in cents: a currency column must agree with the amount."""
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
    return currency, cents


def _csv_owner(cells: Mapping[str, _Cell], team: CsvTeam) -> str:
    if "owner" not in cells:
        return team.actor
    cell = cells["owner"]
    owner = cell.value.strip()
    if len(owner) > MAX_ID or not owner.replace("-", "").replace("_", "").isalnum():
        cell.fail(f"{show(cell.value)} is not a Slack user id", USER_EXAMPLE)
    return owner


def _csv_stage(cells: Mapping[str, _Cell], team: CsvTeam) -> tuple[str, str]:
    """The deal's stage and status; an outcome in the stage column closes the deal."""
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
                f'"{cells["status"].value}" contradicts the stage {show(cell.value)}', outcome
            )
        else:
            # Another CRM's "Closed Won" does not say which stage the deal closed from.
            status = outcome
    return stage, status or DealStatus.OPEN.value


def _csv_times(
    cells: Mapping[str, _Cell], team: CsvTeam, status: str
) -> tuple[datetime, datetime | None, date | None]:
    """When the deal was created and closed, and its expected close date."""
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
    return created, closed_at, close_date


def _csv_notes(
    cells: Mapping[str, _Cell], team: CsvTeam, status: str
) -> tuple[str | None, str | None, date | None, str | None]:
    """The lost reason, next step and its due date, and source."""
    lost_reason: str | None = None
    if status == LOST and "lost_reason" in cells:
        lost_reason = _csv_text(cells["lost_reason"], MAX_REASON, "went with a competitor")
    if status == LOST and "lost_detail" in cells:
        detail = _csv_text(cells["lost_detail"], MAX_REASON, "went with a cheaper vendor")
        lost_reason = f"{lost_reason or ''} {detail}".strip()
    step_text: str | None = None
    step_due: date | None = None
    if "next_step" in cells:
        step_text = _csv_text(cells["next_step"], MAX_STEP, "send the proposal")
        if "next_step_due" in cells:
            step_due = _csv_date(cells["next_step_due"], team)
    source: str | None = None
    if "source" in cells:
        source = key_of(_csv_text(cells["source"], MAX_SOURCE, "referral")) or None
    return lost_reason, step_text, step_due, source


def _csv_history(
    team: CsvTeam, stage: str, status: str, created: datetime, closed_at: datetime | None
) -> list[StageChangeRow]:
    """Created in its stage, then closed from it if it is closed."""
    history: list[StageChangeRow] = [
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
    return history


def _csv_deal(cells: Mapping[str, _Cell], row: int, team: CsvTeam) -> DealRows:
    name_cell = cells.get("name")
    if name_cell is None:
        raise InvalidInput(
            f"row {row}: the deal name is empty.", example=NAME_EXAMPLE, field="name"
        )
    name = name_cell.parse(validate_deal_name, NAME_EXAMPLE)
    currency, cents = _csv_money(cells, team)
    owner = _csv_owner(cells, team)
    stage, status = _csv_stage(cells, team)
    created, closed_at, close_date = _csv_times(cells, team, status)
    lost_text, step_text, step_due, source = _csv_notes(cells, team, status)
    # A reason first, then its detail, as `/deal lost` reads a line; none named: `other`.
    found, rest = split_reason(lost_text or "", team.lost_reasons)
    lost_reason, lost_detail = (
        (found.key, rest or None) if found else reason_key(lost_text, team.lost_reasons)
    )
    last_activity = max(created, closed_at or created)
    if "last_activity" in cells:
        last_activity = max(last_activity, _csv_time(cells["last_activity"], team))
    deal = DealRow(
        team_id=team.team_id,
        number=0,
        name=name,
        amount_cents=cents,
        currency=currency,
        owner_id=owner,
        stage=stage,
        status=status,
        created_at=created,
        created_by=team.actor,
        closed_at=closed_at,
        close_date=close_date,
        next_step_text=step_text,
        next_step_due=step_due,
        lost_reason=lost_reason,
        lost_detail=lost_detail,
        source=source,
        last_activity_at=last_activity,
        snoozed_until=None,
        updated_at=team.now,
        updated_by=team.actor,
        version=1,
    )
    history = _csv_history(team, stage, status, created, closed_at)
    return DealRows(deal, history, [], [])


def read_csv(text: str, team: CsvTeam) -> list[DealRows]:
    """Every deal of a CSV file, numbered 0 until the numbers are reserved."""
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
        deals: list[DealRows] = []
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
    if not deals:
        raise InvalidInput("The CSV file has a header but no deals.", example=CSV_EXAMPLE)
    return deals


def check_actor(actor: str) -> str:
    """The importing user's Slack id, stripped; refused when it is not one."""
    user = actor.strip()
    if not user or len(user) > MAX_ID or not user.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(
            f'"{actor}" is not a Slack user id.', example=USER_EXAMPLE, field="actor"
        )
    return user
