"""Read a `pipebot/1` JSON document into a validated import plan, checking every field.

The team's keys are read first; the deals then once each, in batches, so a 100,000-deal file
never sits in memory as rows all at once. A refusal may come after some batches were written:
the import's transaction rolls them back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pipeline import stages as stage_rules
from pipeline.dates import TIMEZONE_EXAMPLE, validate_timezone
from pipeline.errors import InvalidInput, Refused
from pipeline.money import CURRENCY_EXAMPLE, normalize_currency
from pipeline.planning import LostReason, default_reasons
from pipeline.schedule import normalize_digest, normalize_reminder_mode, normalize_reminders
from pipeline.service import MAX_ADMINS, MAX_TEXT, validate_deal_name
from pipeline.transfer.fields import (
    STAGE_KEY,
    as_actor,
    as_cents,
    as_choice,
    as_currency,
    as_int,
    as_list,
    as_object,
    as_owner,
    as_stage_key,
    as_string,
    as_text,
    as_time,
    fail,
    get,
    is_actor,
    iso,
    number_text,
    opt_date,
    opt_text,
    opt_time,
    parse_time,
    show,
    validated,
)
from pipeline.transfer.plan import (
    FORMAT,
    MAX_ID,
    MAX_NUMBER,
    MAX_STEP,
    NAME_EXAMPLE,
    TIME_EXAMPLE,
    ActivityRow,
    CloseDateChangeRow,
    DealRow,
    DealRows,
    StageChangeRow,
    StageRow,
    TeamPlan,
    TeamSettings,
)
from pipeline.transfer.planning_fields import deal_planning, read_planning
from pipeline.types import OUTCOMES, ActivityKind, DealStatus

_MAX_RATE = Decimal(10) ** 9
# Numeric(20, 10): more decimals would be rounded by the database and break the round trip.
_RATE = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,10})?")
# Team settings kept as people type them; absent from a file, the team keeps its own.
_SCHEDULES: dict[Literal["reminders", "reminder_mode", "digest"], Callable[[str], str]] = {
    "reminders": normalize_reminders,
    "reminder_mode": normalize_reminder_mode,
    "digest": normalize_digest,
}
DEFAULT_REASONS = tuple(default_reasons())
_STATUSES = tuple(s.value for s in DealStatus)
_KINDS = tuple(k.value for k in ActivityKind)


def _read_rates(value: object) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for code, raw in as_object(value, "rates").items():
        path = f"rates.{code}"
        currency = validated(path, normalize_currency, code, CURRENCY_EXAMPLE)
        text = number_text(raw)
        if text is None or not _RATE.fullmatch(text) or not 0 < Decimal(text) < _MAX_RATE:
            fail(path, f'{show(raw)} is not a positive rate like "0.92"', '"USD": "0.92"')
        if currency in rates:
            fail(path, f"{currency} is given twice")
        rates[currency] = Decimal(text)
    return rates


def _read_stages(value: object) -> list[StageRow]:
    items = as_list(value, "stages")
    if not items:
        fail("stages", "is empty: a pipeline needs at least one open stage")
    if len(items) > stage_rules.MAX_STAGES:
        fail("stages", f"has {len(items)} stages; the limit is {stage_rules.MAX_STAGES}")
    stages: list[StageRow] = []
    keys: set[str] = set()
    names: set[str] = set()
    for position, raw in enumerate(items):
        path = f"stages[{position}]"
        obj = as_object(raw, path)
        key = as_stage_key(get(obj, "key", path), f"{path}.key")
        name = validated(
            f"{path}.name",
            stage_rules.validate_name,
            as_string(get(obj, "name", path), f"{path}.name"),
            "Proposal",
        )
        probability = as_int(get(obj, "probability", path), f"{path}.probability", 0, 100)
        stale_days = as_int(get(obj, "stale_days", path), f"{path}.stale_days", 1, 365)
        if key in keys:
            fail(f"{path}.key", f'"{key}" is given twice')
        if name.lower() in names:
            fail(f"{path}.name", f'"{name}" is given twice')
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


def read_team(data: object) -> TeamPlan:
    """Validate a `pipebot/1` document's team keys; its deals are read by `DealReader`."""
    if not isinstance(data, dict):
        raise InvalidInput(
            f"This is not a pipebot export: expected a JSON object, not {show(data)}.",
            example='{"format": "pipebot/1", ...}',
        )
    fmt = get(data, "format", "")
    if fmt != FORMAT:
        fail("format", f'{show(fmt)} is not a format I can import; expected "{FORMAT}"', FORMAT)
    timezone = validated(
        "timezone",
        validate_timezone,
        as_string(get(data, "timezone", ""), "timezone", TIMEZONE_EXAMPLE),
        TIMEZONE_EXAMPLE,
    )
    currency = as_currency(get(data, "currency", ""), "currency")
    settings: TeamSettings = {"timezone": timezone, "currency": currency}
    rates = None if data.get("rates") is None else _read_rates(data["rates"])
    stages = _read_stages(get(data, "stages", ""))
    if "admins" in data:
        admins = [
            as_owner(raw, f"admins[{i}]")
            for i, raw in enumerate(as_list(data["admins"] or [], "admins"))
        ]
        if len(admins) > MAX_ADMINS:
            fail("admins", f"has {len(admins)} admins; the limit is {MAX_ADMINS}")
        settings["admins"] = admins
    if "channel_id" in data:
        settings["channel_id"] = opt_text(data["channel_id"], "channel_id", limit=MAX_ID)
    for key, normalize in _SCHEDULES.items():
        if data.get(key) is not None:
            settings[key] = validated(key, normalize, as_string(data[key], key))
    deals = as_list(get(data, "deals", ""), "deals")
    return TeamPlan(
        settings=settings,
        rates=rates,
        stages=stages,
        deals=deals,
        planning=read_planning(data),
        next_number=data.get("next_number"),
    )


class DealReader:
    """A plan's deals, read once each and in order, batch by batch, as rows for a team.

    A batch is handed out only once each of its deals is valid and its number new; what the
    team needs from all the deals (counts, sources, next number) is kept on the way.
    """

    def __init__(
        self, plan: TeamPlan, team_id: str, reasons: Sequence[LostReason] = DEFAULT_REASONS
    ) -> None:
        self._plan = plan
        self._team_id = team_id
        self._reasons = reasons
        self._open_keys = frozenset(s["key"] for s in plan.stages)
        self._seen: dict[int, int] = {}
        self._sources: dict[str, None] = {}
        self._counts = [0, 0, 0]

    def batches(self, size: int) -> Iterator[list[DealRows]]:
        """The deals, `size` at a time, in the file's order."""
        deals = self._plan.deals
        for start in range(0, len(deals), size):
            yield [self._read(i, deals[i]) for i in range(start, min(start + size, len(deals)))]

    def _read(self, index: int, raw: object) -> DealRows:
        rows = read_deal(raw, f"deals[{index}]", self._team_id, self._open_keys, self._reasons)
        number = rows.deal["number"]
        if number in self._seen:
            where = f"deals[{index}].number"
            fail(where, f"#{number} is also deals[{self._seen[number]}]'s number")
        self._seen[number] = index
        if rows.deal["source"] is not None:
            self._sources[rows.deal["source"]] = None
        self._counts[0] += len(rows.history)
        self._counts[1] += len(rows.activities)
        self._counts[2] += len(rows.close_date_changes)
        return rows

    @property
    def counts(self) -> tuple[int, int, int]:
        """Stage changes, activities and close-date changes of the deals read so far."""
        return self._counts[0], self._counts[1], self._counts[2]

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources of the deals read so far, in order of first use."""
        return tuple(self._sources)

    @property
    def numbers(self) -> tuple[int, int] | None:
        """The lowest and highest number of the deals read so far; None before any."""
        return (min(self._seen), max(self._seen)) if self._seen else None

    def next_number(self) -> int:
        """The team's next deal number once every deal is read: the file's, checked, or the next."""
        highest = max(self._seen, default=0)
        given = self._plan.next_number
        if given is None:
            return highest + 1
        next_number = as_int(given, "next_number", 1, MAX_NUMBER)
        if next_number <= highest:
            fail("next_number", f"{next_number} is not above the highest deal number #{highest}")
        return next_number


def _history_entry(raw: object, item: str) -> tuple[str, datetime, str]:
    """One history entry read with full checks: the slow path, which explains what is wrong."""
    entry = as_object(raw, item)
    stage = as_stage_key(get(entry, "stage", item), f"{item}.stage", outcome_ok=True)
    at = as_time(get(entry, "at", item), f"{item}.at")
    return stage, at, as_actor(get(entry, "by", item), f"{item}.by")


def _read_history(value: object, path: str, team_id: str) -> list[StageChangeRow]:
    entries = as_list(value, path)
    if not entries:
        fail(path, "is empty: it starts with the stage the deal was created in")
    rows: list[StageChangeRow] = []
    prev_stage: str | None = None
    prev_at: datetime | None = None
    for i, raw in enumerate(entries):
        # A million entries: check well-formed ones inline, explain the others in the slow path.
        at: datetime | None = None
        if type(raw) is dict:
            stage, by = raw.get("stage"), raw.get("by")
            at = parse_time(raw.get("at"))
        if (
            at is None
            or type(stage) is not str
            or not (stage in OUTCOMES or STAGE_KEY.fullmatch(stage))
            or type(by) is not str
            or not is_actor(by)
        ):
            stage, at, by = _history_entry(raw, f"{path}[{i}]")
        if prev_at is None:
            if stage in OUTCOMES:
                fail(f"{path}[{i}].stage", f'a deal is created in an open stage, not "{stage}"')
        else:
            if at < prev_at:
                fail(
                    f"{path}[{i}].at",
                    f"{iso(at)} is before the entry above it ({iso(prev_at)}); "
                    "history is oldest first",
                    TIME_EXAMPLE,
                )
            if stage == prev_stage:
                fail(f"{path}[{i}].stage", f'"{stage}" repeats the entry above it')
            if stage in OUTCOMES and prev_stage in OUTCOMES:
                fail(
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


def _ordered(
    value: object, path: str, what: str
) -> Iterator[tuple[str, dict[str, object], datetime]]:
    """Each entry of a list kept oldest first, with its path and its time."""
    prev_at: datetime | None = None
    for i, raw in enumerate(as_list(value, path)):
        item = f"{path}[{i}]"
        entry = as_object(raw, item)
        at = as_time(get(entry, "at", item), f"{item}.at")
        if prev_at is not None and at < prev_at:
            fail(f"{item}.at", f"{show(entry['at'])} is before the {what} above it")
        yield item, entry, at
        prev_at = at


def _read_activities(value: object, path: str, team_id: str) -> list[ActivityRow]:
    return [
        {
            "team_id": team_id,
            "kind": as_choice(get(entry, "kind", item), f"{item}.kind", _KINDS),
            "text": as_text(get(entry, "text", item), f"{item}.text", limit=MAX_TEXT),
            "at": at,
            "by": as_actor(get(entry, "by", item), f"{item}.by"),
            "link": None if entry.get("link") is None else as_string(entry["link"], f"{item}.link"),
        }
        for item, entry, at in _ordered(value, path, "activity")
    ]


def _read_close_date_changes(value: object, path: str, team_id: str) -> list[CloseDateChangeRow]:
    return [
        {
            "team_id": team_id,
            "old_date": opt_date(entry.get("old"), f"{item}.old"),
            "new_date": opt_date(entry.get("new"), f"{item}.new"),
            "at": at,
            "by": as_actor(get(entry, "by", item), f"{item}.by"),
        }
        for item, entry, at in _ordered(value, path, "change")
    ]


def _with_outcome(
    path: str, history: list[StageChangeRow], status: str, stage: str, closed_at: datetime | None
) -> list[StageChangeRow]:
    """The history, ending where the deal is: its stage, or its outcome at its closing time.

    A closed deal's history may end with its outcome entry (as export writes it) or with the
    stage it closed from (as other tools write it): the outcome entry is then derived from
    `status` and `closed_at`, by the last entry's author.
    """
    last = history[-1]
    where = f"{path}.history[{len(history) - 1}].stage"
    if status == DealStatus.OPEN:
        if last["to_stage"] != stage:
            fail(
                where,
                f'an open deal\'s last entry is its stage "{stage}", not "{last["to_stage"]}"',
            )
        return history
    if last["to_stage"] not in OUTCOMES and closed_at is not None:
        if last["to_stage"] != stage:
            fail(
                f"{path}.stage",
                f'"{stage}" is not the stage the deal closed from ("{last["to_stage"]}")',
            )
        if closed_at < last["at"]:
            fail(
                f"{path}.closed_at",
                f"{iso(closed_at)} is before the last history entry ({iso(last['at'])})",
                TIME_EXAMPLE,
            )
        outcome: StageChangeRow = {
            "team_id": last["team_id"],
            "from_stage": last["to_stage"],
            "to_stage": status,
            "at": closed_at,
            "by": last["by"],
            "from_entered_at": last["at"],
        }
        return [*history, outcome]
    if last["to_stage"] != status:
        fail(
            where,
            f'a {status} deal\'s last entry is "{status}" or a stage, not "{last["to_stage"]}"',
        )
    if last["from_stage"] != stage:
        fail(
            f"{path}.stage",
            f'"{stage}" is not the stage the deal closed from ("{last["from_stage"]}")',
        )
    if last["at"] != closed_at:
        fail(
            f"{path}.closed_at",
            f"{iso(closed_at)} is not the time of the last history entry ({iso(last['at'])})",
            TIME_EXAMPLE,
        )
    return history


def _read_next_step(d: dict[str, object], path: str) -> tuple[str | None, date | None]:
    if d.get("next_step") is None:
        return None, None
    step = as_object(d["next_step"], f"{path}.next_step")
    step_text = as_text(
        get(step, "text", f"{path}.next_step"), f"{path}.next_step.text", limit=MAX_STEP
    )
    return step_text, opt_date(step.get("due"), f"{path}.next_step.due")


def _read_deal_history(
    d: dict[str, object],
    path: str,
    team_id: str,
    *,
    status: str,
    stage: str,
    created_at: datetime,
    closed_at: datetime | None,
) -> tuple[list[StageChangeRow], list[ActivityRow], list[CloseDateChangeRow]]:
    history = _read_history(get(d, "history", path), f"{path}.history", team_id)
    if history[0]["at"] < created_at:
        fail(
            f"{path}.history[0].at",
            f"{iso(history[0]['at'])} is before the deal was created ({iso(created_at)})",
        )
    history = _with_outcome(path, history, status, stage, closed_at)
    activities = _read_activities(d.get("activities") or [], f"{path}.activities", team_id)
    changes = _read_close_date_changes(
        d.get("close_date_changes") or [], f"{path}.close_date_changes", team_id
    )
    return history, activities, changes


def read_deal(
    raw: object,
    path: str,
    team_id: str,
    open_keys: frozenset[str],
    reasons: Sequence[LostReason] = DEFAULT_REASONS,
) -> DealRows:
    """One deal of the `deals` list, with its history, as rows for `team_id`."""
    d = as_object(raw, path)
    number = as_int(get(d, "number", path), f"{path}.number", 1, MAX_NUMBER)
    name = validated(
        f"{path}.name",
        validate_deal_name,
        as_string(get(d, "name", path), f"{path}.name", NAME_EXAMPLE),
        NAME_EXAMPLE,
    )
    cents = as_cents(d.get("amount"), f"{path}.amount")
    currency = as_currency(get(d, "currency", path), f"{path}.currency")
    owner = as_owner(get(d, "owner", path), f"{path}.owner")
    status = as_choice(get(d, "status", path), f"{path}.status", _STATUSES)
    stage = as_stage_key(get(d, "stage", path), f"{path}.stage")
    if status == DealStatus.OPEN and stage not in open_keys:
        fail(
            f"{path}.stage",
            f'"{stage}" is not one of the stages: {", ".join(sorted(open_keys))}',
            next(iter(sorted(open_keys)), None),
        )
    created_at = as_time(get(d, "created_at", path), f"{path}.created_at")
    closed_at = opt_time(d.get("closed_at"), f"{path}.closed_at")
    if status == DealStatus.OPEN and closed_at is not None:
        fail(f"{path}.closed_at", "an open deal has no closing time: use null")
    if status != DealStatus.OPEN and closed_at is None:
        fail(f"{path}.closed_at", f"a {status} deal needs its closing time", TIME_EXAMPLE)
    source, lost_reason, lost_detail = deal_planning(d, path, status, reasons)
    step_text, step_due = _read_next_step(d, path)
    history, activities, changes = _read_deal_history(
        d, path, team_id, status=status, stage=stage, created_at=created_at, closed_at=closed_at
    )

    created_by = d.get("created_by")
    last_activity_at = opt_time(d.get("last_activity_at"), f"{path}.last_activity_at")
    if last_activity_at is None:
        last_activity_at = max([created_at, history[-1]["at"], *(a["at"] for a in activities)])
    updated_at = opt_time(d.get("updated_at"), f"{path}.updated_at")
    if updated_at is None:
        updated_at = max([last_activity_at, *(c["at"] for c in changes)])
    updated_by = d.get("updated_by")
    deal: DealRow = {
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
            history[0]["by"] if created_by is None else as_actor(created_by, f"{path}.created_by")
        ),
        "closed_at": closed_at,
        "close_date": opt_date(d.get("close_date"), f"{path}.close_date"),
        "next_step_text": step_text,
        "next_step_due": step_due,
        "lost_reason": lost_reason,
        "lost_detail": lost_detail,
        "source": source,
        "last_activity_at": last_activity_at,
        "snoozed_until": opt_date(d.get("snoozed_until"), f"{path}.snoozed_until"),
        "updated_at": updated_at,
        "updated_by": (
            history[-1]["by"] if updated_by is None else as_actor(updated_by, f"{path}.updated_by")
        ),
        "version": 1,
    }
    return DealRows(deal, history, activities, changes)


def already_has_deals(team_id: str) -> Refused:
    """The refusal to import over a team's deals without `replace`."""
    return Refused(
        f"Team {team_id} already has deals; import with replace to delete them first.",
        example=f"pipebot import backup.json --team {team_id} --replace",
    )
