"""Export and import a team's whole pipeline: the database side of `pipeline.transfer`.

Exports stream the team's rows as typed records for the pure writers. Imports have the pure
readers validate each row before it is written, in bulk. They never commit: on any error the
caller's session scope rolls back, so nothing partial is ever written.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from pipeline.clock import Clock, utcnow
from pipeline.errors import NotFound
from pipeline.money import normalize_currency
from pipeline.service import TeamDefaults
from pipeline.transfer.csv_export import csv_lines, deals_csv
from pipeline.transfer.csv_import import CsvTeam, check_actor, read_csv
from pipeline.transfer.fields import check_team_id
from pipeline.transfer.forecasts import KEY as FORECASTS
from pipeline.transfer.forecasts import forecasts_list, read_forecasts
from pipeline.transfer.json_export import document_text, team_document
from pipeline.transfer.json_import import DealReader, already_has_deals, read_team
from pipeline.transfer.plan import (
    ActivityRecord,
    CloseDateChangeRecord,
    DealExport,
    DealRecord,
    DealRows,
    ImportResult,
    StageChangeRecord,
    StageRecord,
    TeamPlan,
    TeamRecord,
)
from storage import accuracy_queries
from storage import repositories as repo
from storage.models import (
    TEAM_LOADS,
    Activity,
    Base,
    CloseDateChange,
    Deal,
    Rate,
    Stage,
    StageChange,
    Team,
    is_push,
    stage_seconds,
)
from storage.planning_queries import merge_sources, planning_lists, write_planning
from storage.services import service_in
from storage.types import UTCDateTime, sqlite_date_text, sqlite_utc_text

if TYPE_CHECKING:
    import psycopg

# Deals per bulk write: keeps memory flat on a 100,000-deal import.
BATCH = 1000

# How SQLAlchemy binds each column type of the imported tables on SQLite: None passes the value
# as it is. Any other type makes an insert go through SQLAlchemy.
_SQLITE_BINDS: dict[type[Any], Callable[[Any], Any] | None] = {
    String: None,
    Text: None,
    Integer: None,
    BigInteger: None,
    Float: None,
    UTCDateTime: sqlite_utc_text,
    Date: sqlite_date_text,
}
# The PostgreSQL type of each column type of the imported tables, for binary COPY.
_PG_TYPES: dict[type[Any], str] = {
    String: "text",
    Text: "text",
    Integer: "int4",
    BigInteger: "int8",
    Float: "float8",
    UTCDateTime: "timestamptz",
    Date: "date",
}

R = TypeVar("R")
T = TypeVar("T")


# --- export --------------------------------------------------------------------------------


def _team_record(session: Session, team_id: str) -> TeamRecord:
    team = session.get(Team, team_id, options=TEAM_LOADS)
    if team is None:
        raise NotFound(f'There is no team "{team_id}" in this database.')
    lists = planning_lists(team)
    return TeamRecord(
        id=team.id,
        timezone=team.timezone,
        currency=team.currency,
        rates={r.currency: r.rate for r in team.rates},
        stages=[StageRecord(s.key, s.name, s.probability, s.stale_days) for s in team.stages],
        admins=list(team.admins or []),
        channel_id=team.channel_id,
        next_number=team.next_number,
        reminders=team.reminders,
        reminder_mode=team.reminder_mode,
        digest=team.digest,
        sources=lists["sources"],
        lost_reasons=lists["lost_reasons"],
        targets=lists["targets"],
    )


def _grouped(
    session: Session,
    record: Callable[..., R],
    fields: Sequence[str],
    model: Any,
    deal_ids: Sequence[int],
) -> dict[int, list[R]]:
    """Some deals' history rows of one kind, by deal id, oldest first (the relationship order)."""
    stmt = (
        select(model.deal_id, *(getattr(model, f) for f in fields))
        .where(model.deal_id.in_(deal_ids))
        .order_by(model.deal_id, model.at, model.id)
    )
    groups: dict[int, list[R]] = defaultdict(list)
    for deal_id, *values in session.execute(stmt):
        groups[deal_id].append(record(*values))
    return groups


def _deal_records(session: Session, team_id: str) -> Iterator[DealRecord]:
    """A team's deals as plain rows: no ORM objects, which a 100,000-deal team would pile up."""
    table = cast(Table, Deal.__table__)
    stmt = (
        select(*(table.c[f] for f in DealRecord.__annotations__))
        .where(Deal.team_id == team_id)
        .order_by(Deal.number)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(stmt):
        yield cast(DealRecord, row._asdict())


def _deal_exports(session: Session, team_id: str) -> Iterator[DealExport]:
    """Every deal of the team with its stage changes, activities and close-date changes.

    A batch of deals at a time, each batch's history read by deal id: memory stays flat
    whatever the size of the team.
    """
    deals = _deal_records(session, team_id)
    while batch := list(itertools.islice(deals, BATCH)):
        ids = [d["id"] for d in batch]
        history = _grouped(session, StageChangeRecord, StageChangeRecord._fields, StageChange, ids)
        activities = _grouped(session, ActivityRecord, ActivityRecord._fields, Activity, ids)
        changes = _grouped(
            session, CloseDateChangeRecord, CloseDateChangeRecord._fields, CloseDateChange, ids
        )
        for deal in batch:
            yield DealExport(
                deal,
                history.get(deal["id"], []),
                activities.get(deal["id"], []),
                changes.get(deal["id"], []),
            )


def export_team(session: Session, team_id: str) -> dict[str, Any]:
    """The team's settings, stages, rates and every deal with its history, as `pipebot/1`."""
    team = _team_record(session, team_id)
    return team_document(team, _deal_exports(session, team_id), _kept_apart(session, team_id))


def export_team_text(session: Session, team_id: str) -> Iterator[str]:
    """`export_team` as indented JSON text, streamed deal by deal; NotFound before any text."""
    team = _team_record(session, team_id)
    return document_text(team, _deal_exports(session, team_id), _kept_apart(session, team_id))


def _kept_apart(session: Session, team_id: str) -> dict[str, Any]:
    """Team-level keys of the document that are not the team's row: its recorded forecasts."""
    return {FORECASTS: forecasts_list(accuracy_queries.all_snapshots(session, team_id))}


def export_csv(session: Session, team_id: str) -> str:
    """One row per deal, for spreadsheets; the columns are `CSV_COLUMNS`."""
    return "".join(export_csv_lines(session, team_id))


def export_csv_lines(session: Session, team_id: str) -> Iterator[str]:
    """`export_csv`, streamed a line at a time; NotFound before any line."""
    if session.get(Team, team_id) is None:
        raise NotFound(f'There is no team "{team_id}" in this database.')
    return csv_lines(_deal_records(session, team_id))


def team_csv(session: Session, team_id: str) -> str:
    """`export_csv`, where a team not stored yet has the header alone."""
    if session.get(Team, team_id) is None:
        return deals_csv(())
    return export_csv(session, team_id)


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


def _reserve_numbers(session: Session, team_id: str, count: int) -> int:
    """The first of `count` consecutive deal numbers, taken in one row update."""
    stmt = (
        update(Team)
        .where(Team.id == team_id)
        .values(next_number=Team.next_number + count)
        .returning(Team.next_number)
    )
    return int(session.execute(stmt).scalar_one()) - count


def _bulk_insert(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows at once: COPY on PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    columns = [c for c in table.columns if c.name in rows[0]]
    if session.get_bind().dialect.name != "postgresql":
        _executemany(session, table, columns, rows)
        return
    # psycopg's executemany sends one statement per row; COPY streams them all in one go, in
    # the binary format, which the server reads with less work than text (times above all).
    # Values are already aware datetimes: the column keeps the instant, as through UTCDateTime.
    dbapi = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    names = ", ".join(f'"{c.name}"' for c in columns)
    get = itemgetter(*(c.name for c in columns))
    statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)'
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_PG_TYPES[type(c.type)] for c in columns])
        for row in rows:
            copy.write_row(get(row))


def _executemany(
    session: Session,
    table: Table,
    columns: Sequence[Column[Any]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """SQLite's executemany on the DBAPI cursor, values converted as SQLAlchemy would bind them.

    SQLAlchemy's per-value bind processing cost as much as SQLite's own executemany.
    """
    if any(type(c.type) not in _SQLITE_BINDS for c in columns):
        # A column type this path does not know: SQLAlchemy binds it.
        session.execute(insert(table), rows)
        return
    converters = [_SQLITE_BINDS[type(c.type)] for c in columns]
    converted = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    get = itemgetter(*(c.name for c in columns))
    values: list[Sequence[Any]] = []
    for row in rows:
        value = list(get(row))
        for i, convert in converted:
            value[i] = convert(value[i])
        values.append(value)
    names = ", ".join(f'"{c.name}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', values)
    finally:
        cursor.close()


def _deal_ids(session: Session, team_id: str, batch: Sequence[DealRows]) -> dict[int, int]:
    """Insert a batch of deals; their new ids by number."""
    numbers = [r.deal["number"] for r in batch]
    if session.get_bind().dialect.name == "postgresql":
        # Ids taken from the sequence first, so COPY writes them: asking for them afterwards by
        # number made the planner, without statistics on a fresh table yet, scan every deal of
        # the team once per batch (17 s of a 100,000-deal import).
        taken = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('deals', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": len(batch)},
        )
        ids = dict(zip(numbers, taken.scalars(), strict=True))
        _bulk_insert(session, Deal, [{**r.deal, "id": ids[r.deal["number"]]} for r in batch])
        return ids
    _bulk_insert(session, Deal, [r.deal for r in batch])
    stmt = select(Deal.number, Deal.id).where(Deal.team_id == team_id, Deal.number.in_(numbers))
    return {number: deal_id for number, deal_id in session.execute(stmt)}


def _insert_deals(session: Session, team_id: str, batch: Sequence[DealRows]) -> None:
    """Insert a batch of deals, then their history rows under the new deal ids."""
    # The values the ORM keeps on each write (storage/models.py), set here for the bulk path:
    # each deal's close-date pushes, and each stage change's seconds in the stage it left.
    for rows in batch:
        pushes = sum(is_push(c["old_date"], c["new_date"]) for c in rows.close_date_changes)
        cast(dict[str, Any], rows.deal)["pushes"] = pushes
    ids = _deal_ids(session, team_id, batch)
    history: list[Mapping[str, Any]] = []
    activities: list[Mapping[str, Any]] = []
    changes: list[Mapping[str, Any]] = []
    for rows in batch:
        deal_id = ids[rows.deal["number"]]
        for entry in rows.history:
            entry["deal_id"] = deal_id
            seconds = stage_seconds(entry["at"], entry["from_entered_at"])
            cast(dict[str, Any], entry)["from_seconds"] = seconds
        for activity in rows.activities:
            activity["deal_id"] = deal_id
        for change in rows.close_date_changes:
            change["deal_id"] = deal_id
        history.extend(rows.history)
        activities.extend(rows.activities)
        changes.extend(rows.close_date_changes)
    _bulk_insert(session, StageChange, history)
    _bulk_insert(session, Activity, activities)
    _bulk_insert(session, CloseDateChange, changes)


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- import --------------------------------------------------------------------------------


def _write_team(session: Session, team_id: str, plan: TeamPlan) -> None:
    """Set the team's settings and replace its stages, and its rates when the file has them."""
    no_sync = {"synchronize_session": False}
    session.execute(
        update(Team).where(Team.id == team_id).values(**plan.settings), execution_options=no_sync
    )
    session.execute(delete(Stage).where(Stage.team_id == team_id), execution_options=no_sync)
    session.execute(insert(Stage), [{"team_id": team_id, **s} for s in plan.stages])
    if plan.rates is not None:
        session.execute(delete(Rate).where(Rate.team_id == team_id), execution_options=no_sync)
        rates = [{"team_id": team_id, "currency": c, "rate": r} for c, r in plan.rates.items()]
        if rates:
            session.execute(insert(Rate), rates)


def import_team(
    session: Session,
    team_id: str,
    data: dict[str, Any],
    *,
    replace: bool = False,
    clock: Clock = utcnow,
) -> ImportResult:
    """Load a `pipebot/1` export into a team: its settings, stages, rates and deals."""
    check_team_id(team_id)
    if not replace and _count_deals(session, team_id):
        raise already_has_deals(team_id)
    plan = read_team(data)
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
            raise already_has_deals(team_id)
        replaced = _delete_deals(session, team_id)
    _write_team(session, team_id, plan)
    reasons = write_planning(session, team_id, plan.planning)
    # Each deal is read once, as it is written: a refusal part-way rolls the batches back.
    deals = DealReader(plan, team_id, reasons)
    for batch in deals.batches(BATCH):
        _insert_deals(session, team_id, batch)
    next_number = deals.next_number()
    forecasts = read_forecasts(data)
    merge_sources(session, team_id, deals.sources)
    session.execute(
        update(Team)
        .where(Team.id == team_id)
        # A number once given in this team is never given again.
        .values(next_number=max(next_number, current_next)),
        execution_options={"synchronize_session": False},
    )
    if forecasts is not None:
        accuracy_queries.replace(session, team_id, forecasts)
    # Rows were written behind the ORM's back: reload anything this session already holds.
    session.expire_all()
    history, activities, changes = deals.counts
    first, last = deals.numbers or (None, None)
    return ImportResult(
        deals=len(plan.deals),
        stage_changes=history,
        activities=activities,
        close_date_changes=changes,
        replaced=replaced,
        first_number=first,
        last_number=last,
    )


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
    check_team_id(team_id)
    user = check_actor(actor)
    currency = normalize_currency(default_currency)
    # The service creates a new team with the default pipeline, as its first command would.
    service = service_in(session, team_id, clock=clock, defaults=defaults)
    team = CsvTeam(
        team_id=team_id,
        stages=service.stages(),
        tz=service.tz(),
        today=service.today(),
        now=clock(),
        actor=user,
        currency=currency,
        lost_reasons=service.team.lost_reasons,
    )
    deals = read_csv(text, team)
    merge_sources(session, team_id, [d.deal["source"] for d in deals])
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
