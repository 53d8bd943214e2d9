"""SQLAlchemy models: every row carries its team, the tenant key."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEAM_ID = 32
USER_ID = 32
STAGE_KEY = 40
RATE = Numeric(20, 10)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Team(Base):
    """A Slack workspace or Enterprise Grid org: the tenant."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(TEAM_ID), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    admins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Schedules as people type them (`09:00 mon-fri`, `mon 09:00`, `off`); pipeline/schedule.py
    # parses them.
    reminders: Mapped[str] = mapped_column(String(64), default="09:00 mon-fri")
    reminder_mode: Mapped[str] = mapped_column(String(16), default="channel")
    digest: Mapped[str] = mapped_column(String(64), default="mon 09:00")
    # The lists people pick from: source keys, and loss reasons as {"key", "name"}.
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    lost_reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    stages: Mapped[list[Stage]] = relationship(
        order_by="Stage.position", cascade="all, delete-orphan", back_populates="team"
    )
    rates: Mapped[list[Rate]] = relationship(cascade="all, delete-orphan")
    targets: Mapped[list[Target]] = relationship(cascade="all, delete-orphan")


class Rate(Base):
    """1 unit of `currency` is worth `rate` units of the team's reporting currency."""

    __tablename__ = "rates"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(RATE)


class Target(Base):
    """A revenue target in the reporting currency for a month or a quarter.

    `owner_id` is "" for the team's own target: a unique key cannot rely on NULLs.
    """

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("team_id", "owner_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(USER_ID))
    period: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class Stage(Base):
    """An open stage of a team's pipeline."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(STAGE_KEY))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    stale_days: Mapped[int] = mapped_column(Integer)

    team: Mapped[Team] = relationship(back_populates="stages")


# The columns the covering deal indexes carry after their keys (migrations 0007 and 0009).
OPEN_COVER = (
    "number",
    "last_activity_at",
    "stage",
    "currency",
    "amount_cents",
    "close_date",
    "next_step_due",
    "owner_id",
    "pushes",
)
CLOSED_COVER = (
    "status",
    "currency",
    "amount_cents",
    "created_at",
    "stage",
    "owner_id",
    "source",
    "lost_reason",
)
CREATED_COVER = ("source", "currency", "amount_cents")


class Deal(Base):
    """A deal. `stage` is a stage key; for a closed deal, the stage it closed from."""

    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        # Covering (every column the reports read is in the index, so no row is looked up):
        # the open pipeline in number order (reminders, metrics, forecast and its range), the
        # deals closed in a window (win rate, funnel, losses, sources, the forecast's won) and
        # those created in one (sources, the digest's new deals).
        Index("ix_deals_team_status_activity", "team_id", "status", *OPEN_COVER),
        Index("ix_deals_team_closed_at", "team_id", "closed_at", *CLOSED_COVER),
        Index("ix_deals_team_created_at", "team_id", "created_at", *CREATED_COVER),
        Index("ix_deals_team_owner_status", "team_id", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # Hundredths of the currency unit: integer sums are exact on SQLite, which has no decimal type.
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    owner_id: Mapped[str] = mapped_column(String(USER_ID))
    stage: Mapped[str] = mapped_column(String(STAGE_KEY))
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(USER_ID))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_date: Mapped[date | None] = mapped_column(Date)
    next_step_text: Mapped[str | None] = mapped_column(Text)
    next_step_due: Mapped[date | None] = mapped_column(Date)
    # A loss reason's key; what the rep wrote about it is the detail.
    lost_reason: Mapped[str | None] = mapped_column(Text)
    lost_detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(USER_ID))
    version: Mapped[int] = mapped_column(Integer)
    # How often its close date was moved later (`is_push`), kept with each change: twice or
    # more is a slipped deal, read from the open-deal index without its close-date history.
    pushes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's documented form

    @property
    def amount(self) -> Decimal | None:
        """The amount in the deal's currency."""
        return None if self.amount_cents is None else Decimal(self.amount_cents).scaleb(-2)

    stage_changes: Mapped[list[StageChange]] = relationship(
        order_by="(StageChange.at, StageChange.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="deal",
    )
    activities: Mapped[list[Activity]] = relationship(
        order_by="(Activity.at, Activity.id)", cascade="all, delete-orphan", passive_deletes=True
    )
    close_date_changes: Mapped[list[CloseDateChange]] = relationship(
        order_by="(CloseDateChange.at, CloseDateChange.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class StageChange(Base):
    """A deal entering a stage or an outcome (`won`/`lost`); the first row is its creation."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        # to_stage included: the funnel reads a deal's furthest stage from the index alone.
        # Covering, and in (at, id) order: a deal's last change up to a moment is its first entry.
        Index("ix_stage_changes_deal_at", "deal_id", "at", "id", "to_stage"),
        # Covering: time in stage and the digest's advances read a window from the index alone.
        Index(
            "ix_stage_changes_team_at",
            *("team_id", "at", "from_stage", "to_stage", "from_entered_at", "from_seconds"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(TEAM_ID))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(STAGE_KEY))
    to_stage: Mapped[str] = mapped_column(String(STAGE_KEY))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(USER_ID))

    # When the deal entered `from_stage`: time in stage is a plain subtraction, no self-join.
    from_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # That subtraction in seconds, written with the row (`stage_seconds`): time in stage reads
    # it from its window index instead of computing it per exit (docs/PERFORMANCE.md).
    from_seconds: Mapped[float | None] = mapped_column(Float)

    deal: Mapped[Deal] = relationship(back_populates="stage_changes")


class Activity(Base):
    """A call, email, meeting or note logged on a deal."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_deal_at", "deal_id", "at"),
        # "Did anything happen after as_of?" is asked per team.
        Index("ix_activities_team_at", "team_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(TEAM_ID))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(USER_ID))
    link: Mapped[str | None] = mapped_column(Text)


class CloseDateChange(Base):
    """A change of a deal's expected close date: the record of slippage."""

    __tablename__ = "close_date_changes"
    __table_args__ = (
        Index("ix_close_date_changes_deal", "deal_id"),
        # Covering: the deals pushed twice or more (slipped), read from the index alone.
        Index("ix_close_date_changes_team", "team_id", "deal_id", "old_date", "new_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(TEAM_ID))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    old_date: Mapped[date | None] = mapped_column(Date)
    new_date: Mapped[date | None] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(USER_ID))


class ForecastSnapshot(Base):
    """The forecasts one weekly digest made for a month or a quarter (forecast accuracy).

    One row per team, period and digest week: a retried or re-sent digest records nothing new.
    Amounts are cents of `currency`, the team's reporting currency when it was recorded.
    """

    __tablename__ = "forecast_snapshots"
    __table_args__ = (
        UniqueConstraint("team_id", "period", "digest"),
        ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(TEAM_ID))
    period: Mapped[str] = mapped_column(String(8))  # 2026-Q4 or 2026-11
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(16))  # the digest's ISO week, 2026-W49
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    won_cents: Mapped[int] = mapped_column(BigInteger)
    forecast_cents: Mapped[int] = mapped_column(BigInteger)
    calibrated_cents: Mapped[int] = mapped_column(BigInteger)
    p10_cents: Mapped[int] = mapped_column(BigInteger)
    p50_cents: Mapped[int] = mapped_column(BigInteger)
    p90_cents: Mapped[int] = mapped_column(BigInteger)


class AppliedOperation(Base):
    """An idempotency key seen once: a retried or double-clicked operation applies only once."""

    __tablename__ = "applied_operations"
    __table_args__ = (ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),)

    team_id: Mapped[str] = mapped_column(String(TEAM_ID), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    deal_number: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """The delivery ledger: one row per scheduled post, claimed before it is sent.

    The unique key (team, kind, period, target) is what makes a post happen once across
    re-runs, restarts, daylight-saving double hours and replicas.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "period", "target"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(TEAM_ID))
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)


class InboxEntry(Base):
    """A Slack request written before its ack, so its work survives the process that acked it.

    `done_at` is set in the same transaction as the work's own write (or when work that writes
    nothing has finished); until then whoever holds the lease (`lease_until`) runs it, and once
    the lease runs out any replica may claim it again. `dedupe_key` makes a retry or a double
    click the same row.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # The replayer's "acked, not done, lease run out", the backlog, and pruning by done_at.
        Index("ix_inbox_done_lease", "done_at", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(TEAM_ID))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    # How Bolt received it: `http` (body as signed) or `socket_mode` (body as JSON).
    mode: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# What loading a team brings along: its stages, rates and targets, each in one query.
TEAM_LOADS = (selectinload(Team.stages), selectinload(Team.rates), selectinload(Team.targets))


def stage_seconds(at: datetime, entered: datetime | None) -> float | None:
    """Seconds from entering a stage to leaving it at `at` (None for a deal's first entry)."""
    return None if entered is None else (at - entered).total_seconds()


@event.listens_for(StageChange, "before_insert")
def _stage_seconds(_mapper: object, _connection: object, change: StageChange) -> None:
    # Every stage change the ORM writes carries its seconds; bulk imports add them themselves.
    change.from_seconds = stage_seconds(change.at, change.from_entered_at)


def is_push(old: date | None, new: date | None) -> bool:
    """A close date moved later: from a date to a later one (counts toward slipped)."""
    return old is not None and new is not None and new > old
