"""Pipeline operations: the service API that commands, buttons, jobs and the CLI all call.

A service works inside the caller's session and never commits; the session scope does, so
each operation is one transaction and an error leaves nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pipeline import stages as stage_rules
from pipeline.clock import Clock, utcnow
from pipeline.dates import today_in, validate_timezone
from pipeline.errors import AlreadyApplied, Ambiguous, Conflict, InvalidInput, NotFound, Refused
from pipeline.money import MAX_AMOUNT, Money, normalize_currency
from pipeline.schedule import normalize_digest, normalize_reminder_mode, normalize_reminders
from pipeline.schemas import DealDetail, DealOut, StageOut, TeamOut
from pipeline.types import LOST, OUTCOMES, WON, ActivityKind, DealStatus
from storage import repositories as repo
from storage.models import Activity, CloseDateChange, Deal, Rate, Stage, StageChange, Team

MAX_NAME = 200
MAX_TEXT = 3000
MAX_ADMINS = 50
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")


@dataclass(frozen=True)
class TeamDefaults:
    """What a team starts with the first time pipebot sees it."""

    timezone: str = "UTC"
    currency: str = "USD"


@dataclass(frozen=True)
class NextStep:
    """A follow-up: what to do and by when."""

    text: str
    due: date


class _Unset:
    """Marks an edit field the caller did not touch (None means clear it)."""


UNSET = _Unset()


def _clean_text(value: str, *, what: str, example: str, limit: int = MAX_TEXT) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"The {what} is empty.", example=example, field=what)
    if len(text) > limit:
        raise InvalidInput(
            f"The {what} is {len(text)} characters long; the limit is {limit}.",
            example=example,
            field=what,
        )
    return text


def validate_deal_name(name: str) -> str:
    """A deal name: 1 to 200 characters, not something that reads as a deal number."""
    cleaned = " ".join(_clean_text(name, what="name", example="add Acme Corp 50k").split())
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(
            f"A deal name is at most {MAX_NAME} characters.",
            example="add Acme Corp 50k",
            field="name",
        )
    if cleaned.lstrip("#").isdigit():
        raise InvalidInput(
            f'"{cleaned}" reads as a deal number; give the deal a name with letters in it.',
            example="add Acme Corp 50k",
            field="name",
        )
    return cleaned


def _validate_amount(money: Money | None) -> Money | None:
    if money is None:
        return None
    if money.amount < 0:
        raise InvalidInput("An amount can't be negative.", example="50k", field="amount")
    if money.amount > MAX_AMOUNT:
        raise InvalidInput("That amount is too large.", example="1.2M", field="amount")
    return Money(money.amount, normalize_currency(money.currency))


def _cents(money: Money | None) -> int | None:
    return None if money is None else int(money.amount.scaleb(2).to_integral_value())


def _user(value: str, *, what: str = "owner") -> str:
    user = value.strip()
    if not user or len(user) > 32 or not user.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(f'"{value}" is not a Slack user id.', example="U012ABCDEF", field=what)
    return user


class PipelineService:
    """One team's pipeline, inside one transaction."""

    def __init__(
        self,
        session: Session,
        team_id: str,
        *,
        clock: Clock = utcnow,
        defaults: TeamDefaults = TeamDefaults(),
    ) -> None:
        if not team_id or len(team_id) > 32:
            raise InvalidInput(f'"{team_id}" is not a team id.', example="T012ABCDEF")
        self.session = session
        self.team_id = team_id
        self.clock = clock
        self.defaults = defaults
        self._team: Team | None = None

    # --- team and stages -------------------------------------------------------------

    @property
    def team(self) -> Team:
        """The team row, created with the default pipeline on first use."""
        if self._team is None:
            team = repo.get_team(self.session, self.team_id)
            if team is None:
                if repo.create_team_if_missing(
                    self.session,
                    self.team_id,
                    timezone=self.defaults.timezone,
                    currency=self.defaults.currency,
                    now=self.clock(),
                ):
                    for position, spec in enumerate(stage_rules.DEFAULT_STAGES):
                        self.session.add(
                            Stage(
                                team_id=self.team_id,
                                key=spec.key,
                                name=spec.name,
                                position=position,
                                probability=spec.probability,
                                stale_days=spec.stale_days,
                            )
                        )
                    self.session.flush()
                team = repo.get_team(self.session, self.team_id)
                assert team is not None
            self._team = team
        return self._team

    def team_out(self) -> TeamOut:
        """The team's settings, stages and rates."""
        team = self.team
        return TeamOut(
            id=team.id,
            timezone=team.timezone,
            currency=team.currency,
            channel_id=team.channel_id,
            admins=list(team.admins or []),
            stages=self.stages(),
            rates={r.currency: r.rate for r in team.rates},
            reminders=team.reminders,
            reminder_mode=team.reminder_mode,
            digest=team.digest,
        )

    def stages(self) -> list[StageOut]:
        """The open stages in pipeline order."""
        return [StageOut.model_validate(s) for s in self.team.stages]

    def today(self) -> date:
        """Today's date in the team's timezone."""
        return today_in(self.team.timezone, self.clock())

    def tz(self) -> ZoneInfo:
        """The team's timezone."""
        return ZoneInfo(self.team.timezone)

    def resolve_stage(self, text: str) -> StageOut:
        """The open stage a user means by `text`."""
        return stage_rules.resolve_stage(text, self.stages())

    def add_stage(
        self, name: str, probability: int, stale_days: int, *, before: str | None = None
    ) -> StageOut:
        """Add an open stage, at the end or before another one."""
        name = stage_rules.validate_name(name)
        key = stage_rules.key_for(name)
        stages = list(self.team.stages)
        if len(stages) >= stage_rules.MAX_STAGES:
            raise Refused(f"A pipeline has at most {stage_rules.MAX_STAGES} stages.")
        if any(s.key == key or s.name.lower() == name.lower() for s in stages):
            raise Refused(f'There is already a stage called "{name}".')
        stage = Stage(
            team_id=self.team_id,
            key=key,
            name=name,
            position=len(stages),
            probability=stage_rules.validate_probability(probability),
            stale_days=stage_rules.validate_stale_days(stale_days),
        )
        index = len(stages)
        if before is not None:
            index = [s.key for s in stages].index(self.resolve_stage(before).key)
        stages.insert(index, stage)
        self.team.stages[:] = stages
        self._renumber()
        return StageOut.model_validate(stage)

    def rename_stage(self, stage: str, new_name: str) -> StageOut:
        """Change a stage's display name; its key, used in history, stays."""
        target = self._stage_row(stage)
        name = stage_rules.validate_name(new_name)
        if any(s.name.lower() == name.lower() and s is not target for s in self.team.stages):
            raise Refused(f'There is already a stage called "{name}".')
        target.name = name
        self.session.flush()
        return StageOut.model_validate(target)

    def set_stage(
        self, stage: str, *, probability: int | None = None, stale_days: int | None = None
    ) -> StageOut:
        """Change a stage's win probability and/or stale threshold."""
        target = self._stage_row(stage)
        if probability is not None:
            target.probability = stage_rules.validate_probability(probability)
        if stale_days is not None:
            target.stale_days = stage_rules.validate_stale_days(stale_days)
        self.session.flush()
        return StageOut.model_validate(target)

    def remove_stage(self, stage: str) -> None:
        """Remove a stage that holds no open deal."""
        target = self._stage_row(stage)
        held = repo.count_open_in_stage(self.session, self.team_id, target.key)
        if held:
            raise Refused(
                f"{target.name} still holds {held} open deal{'s' if held != 1 else ''}: "
                f"move them to another stage first (`/deal list {target.key}`)."
            )
        if len(self.team.stages) == 1:
            raise Refused("A pipeline needs at least one open stage.")
        self.team.stages.remove(target)
        self._renumber()

    def reorder_stages(self, order: Sequence[str]) -> list[StageOut]:
        """Put the open stages in the given order; every stage must be named once."""
        wanted = [self.resolve_stage(text).key for text in order]
        current = {s.key: s for s in self.team.stages}
        if sorted(wanted) != sorted(current):
            names = " ".join(s.key for s in self.team.stages)
            raise InvalidInput(
                "Name every stage exactly once, in the new order.",
                example=f"stages order {names}",
            )
        self.team.stages[:] = [current[key] for key in wanted]
        self._renumber()
        return self.stages()

    def _renumber(self) -> None:
        # Two passes: positions are not unique-constrained, but keep them dense and ordered.
        for position, stage in enumerate(self.team.stages):
            stage.position = position
        self.session.flush()

    def _stage_row(self, text: str) -> Stage:
        key = self.resolve_stage(text).key
        return next(s for s in self.team.stages if s.key == key)

    # --- team settings ---------------------------------------------------------------

    def set_timezone(self, name: str) -> None:
        """Set the team's IANA timezone."""
        self.team.timezone = validate_timezone(name)
        self.session.flush()

    def set_currency(self, code: str) -> None:
        """Set the team's reporting currency."""
        self.team.currency = normalize_currency(code)
        self.session.flush()

    def set_rate(self, currency: str, rate: Decimal) -> None:
        """Set 1 `currency` = `rate` in the reporting currency."""
        code = normalize_currency(currency)
        if rate <= 0 or rate >= Decimal(10) ** 9:
            raise InvalidInput(
                f"A rate is a positive number, not {rate}.", example="rate USD 0.92", field="rate"
            )
        for existing in self.team.rates:
            if existing.currency == code:
                existing.rate = rate
                break
        else:
            self.team.rates.append(Rate(team_id=self.team_id, currency=code, rate=rate))
        self.session.flush()

    def rates(self) -> dict[str, Decimal]:
        """The team's conversion rates into its reporting currency."""
        return {r.currency: Decimal(r.rate) for r in self.team.rates}

    def set_channel(self, channel_id: str | None) -> None:
        """Set (or clear, with None) the channel where cards, reminders and digests go."""
        if channel_id is not None:
            channel_id = channel_id.strip()
            if channel_id.startswith("D"):
                raise InvalidInput(
                    "The pipeline channel must be a channel, not a direct message.",
                    example="config channel #sales",
                    field="channel",
                )
            if not _CHANNEL_ID.fullmatch(channel_id):
                raise InvalidInput(
                    f'"{channel_id[:40]}" is not a Slack channel id.',
                    example="config channel #sales",
                    field="channel",
                )
        self.team.channel_id = channel_id
        self.session.flush()

    def set_admins(self, user_ids: Sequence[str]) -> list[str]:
        """Replace the pipeline admins (empty: Slack workspace admins and owners only)."""
        admins = list(dict.fromkeys(_user(u, what="admin") for u in user_ids))
        if len(admins) > MAX_ADMINS:
            raise InvalidInput(
                f"A pipeline has at most {MAX_ADMINS} admins.",
                example="config admins @alice @bob",
                field="admins",
            )
        # A new list object: SQLAlchemy does not see in-place changes to a JSON column.
        self.team.admins = admins
        self.session.flush()
        return admins

    def set_reminders(self, text: str) -> str:
        """Set the daily reminder schedule (`09:00 mon-fri`, `off`); returns its canonical text."""
        self.team.reminders = normalize_reminders(text)
        self.session.flush()
        return self.team.reminders

    def set_reminder_mode(self, text: str) -> str:
        """Set where reminders go (`channel`, `dm`, `channel+dm`, `off`)."""
        self.team.reminder_mode = normalize_reminder_mode(text)
        self.session.flush()
        return self.team.reminder_mode

    def set_digest(self, text: str) -> str:
        """Set the weekly digest (`mon 09:00`, `off`); returns its canonical text."""
        self.team.digest = normalize_digest(text)
        self.session.flush()
        return self.team.digest

    # --- finding deals -----------------------------------------------------------------

    def find(self, ref: str) -> DealOut:
        """A deal by `#12`, `12` or an unambiguous name prefix."""
        return DealOut.model_validate(self._find(ref))

    def detail(self, ref: str) -> DealDetail:
        """A deal with its whole history."""
        return DealDetail.model_validate(self._find(ref))

    def list_deals(
        self,
        *,
        owner_id: str | None = None,
        stage: str | None = None,
        status: DealStatus | None = None,
        text: str | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[DealOut]:
        """Deals matching every given filter, most recent activity first."""
        stage_key = self.resolve_stage(stage).key if stage else None
        flt = repo.DealFilter(
            owner_id=owner_id,
            stage=stage_key,
            status=status.value if status else None,
            text=text,
            limit=limit,
            offset=offset,
        )
        return [DealOut.model_validate(d) for d in repo.list_deals(self.session, self.team_id, flt)]

    def stale_deals(
        self, *, limit: int = 500, offset: int = 0, skip_snoozed: bool = False
    ) -> list[DealOut]:
        """Open deals gone quiet past their stage's threshold with no next step ahead."""
        from storage.conditions import stale_condition

        now, today = self.clock(), self.today()
        stmt = select(Deal).where(
            Deal.team_id == self.team_id,
            Deal.status == DealStatus.OPEN.value,
            stale_condition(Deal.stage, Deal.last_activity_at, self.team.stages, now, today),
        )
        if skip_snoozed:
            stmt = stmt.where(or_(Deal.snoozed_until.is_(None), Deal.snoozed_until <= today))
        stmt = stmt.order_by(Deal.last_activity_at, Deal.number).limit(limit).offset(offset)
        return [DealOut.model_validate(d) for d in self.session.scalars(stmt)]

    def _find(self, ref: str, *, lock: bool = False) -> Deal:
        text = ref.strip()
        example = "show #12"
        if not text:
            raise InvalidInput(
                "Which deal? Give its number or the start of its name.", example=example
            )
        number_text = text[1:] if text.startswith("#") else text
        if number_text.isdigit():
            deal = repo.deal_by_number(self.session, self.team_id, int(number_text), lock=lock)
            if deal is None:
                raise NotFound(f"There is no deal #{int(number_text)}.", example=example)
            return deal
        if text.startswith("#"):
            raise InvalidInput(f'"{text}" is not a deal number.', example=example)
        matches = repo.deals_by_name(self.session, self.team_id, text, lock=lock)
        if not matches:
            raise NotFound(f'No deal\'s name starts with "{text}".', example=example)
        exact = [d for d in matches if d.name.lower() == text.lower()]
        if len(exact) == 1:
            return exact[0]
        if len(matches) == 1:
            return matches[0]
        shown = (exact or matches)[:10]
        raise Ambiguous(
            f'"{text}" matches several deals: '
            + ", ".join(f"#{d.number} {d.name}" for d in shown)
            + ". Use the number.",
            [f"#{d.number} {d.name}" for d in shown],
            example=f"show #{shown[0].number}",
        )

    def _load(self, ref: str | int, expected_version: int | None) -> Deal:
        # Lock the row (PostgreSQL) so a concurrent writer waits, then sees the new version.
        deal = self._find(f"#{ref}" if isinstance(ref, int) else ref, lock=True)
        if expected_version is not None and deal.version != expected_version:
            raise self._conflict(deal)
        return deal

    def _conflict(self, deal: Deal) -> Conflict:
        where = self._where(deal)
        return Conflict(
            f"#{deal.number} {deal.name} changed since you saw it: it is now {where} "
            f"(last change by <@{deal.updated_by}>). Nothing was changed.",
            current_version=deal.version,
            changed_by=deal.updated_by,
        )

    def _where(self, deal: Deal) -> str:
        if deal.status == DealStatus.WON:
            return "won"
        if deal.status == DealStatus.LOST:
            return "lost"
        return f"in {self._stage_name(deal.stage)}"

    def _stage_name(self, key: str) -> str:
        for stage in self.team.stages:
            if stage.key == key:
                return stage.name
        return key

    def _touch(self, deal: Deal, actor: str, now: datetime) -> None:
        deal.updated_at = now
        deal.updated_by = actor

    def _flush(self, deal: Deal) -> DealOut:
        number = deal.number
        try:
            self.session.flush()
        except StaleDataError:
            # Another transaction changed the row between our read and our write.
            raise Conflict(
                f"#{number} changed while you were changing it. Nothing was changed; "
                "look at it again and retry."
            ) from None
        return DealOut.model_validate(deal)

    def _claim(self, key: str | None, now: datetime) -> None:
        if key is None:
            return
        if not repo.claim_operation(self.session, self.team_id, key, now=now):
            number = repo.operation_deal(self.session, self.team_id, key)
            raise AlreadyApplied("That was already done.", deal_number=number)

    def claim(self, idempotency_key: str) -> None:
        """Record a key for what follows in this transaction; AlreadyApplied when seen before."""
        _ = self.team  # the key's row refers to the team's row
        self._claim(idempotency_key, self.clock())

    def expect(self, ref: str | int, expected_version: int) -> DealOut:
        """The deal as it is now; Conflict when it changed since `expected_version`."""
        deal = self._find(f"#{ref}" if isinstance(ref, int) else ref)
        if deal.version != expected_version:
            raise self._conflict(deal)
        return DealOut.model_validate(deal)

    # --- operations ----------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        actor: str,
        amount: Money | None = None,
        stage: str | None = None,
        owner_id: str | None = None,
        close_date: date | None = None,
        next_step: NextStep | None = None,
        source: str | None = None,
        idempotency_key: str | None = None,
    ) -> DealOut:
        """Create an open deal; it starts in `stage` or the first stage."""
        now = self.clock()
        actor = _user(actor, what="actor")
        clean_name = validate_deal_name(name)
        money = _validate_amount(amount)
        stages = self.stages()
        if not stages:
            raise Refused("This pipeline has no open stage; add one with `/deal stages add`.")
        stage_key = self.resolve_stage(stage).key if stage else stages[0].key
        clean_source = (
            _clean_text(source, what="source", example="source:webinar", limit=200)
            if source
            else None
        )
        step_text, step_due = self._validate_next_step(next_step)
        self._claim(idempotency_key, now)
        deal = Deal(
            team_id=self.team_id,
            number=repo.allocate_number(self.session, self.team_id),
            name=clean_name,
            amount_cents=_cents(money),
            currency=money.currency if money else self.team.currency,
            owner_id=_user(owner_id) if owner_id else actor,
            stage=stage_key,
            status=DealStatus.OPEN.value,
            created_at=now,
            created_by=actor,
            close_date=close_date,
            next_step_text=step_text,
            next_step_due=step_due,
            source=clean_source,
            last_activity_at=now,
            updated_at=now,
            updated_by=actor,
        )
        deal.stage_changes.append(
            StageChange(team_id=self.team_id, from_stage=None, to_stage=stage_key, at=now, by=actor)
        )
        self.session.add(deal)
        out = self._flush(deal)
        if idempotency_key is not None:
            repo.set_operation_deal(self.session, self.team_id, idempotency_key, deal.number)
        return out

    def edit(
        self,
        ref: str | int,
        *,
        actor: str,
        expected_version: int | None = None,
        name: str | _Unset = UNSET,
        amount: Money | _Unset | None = UNSET,
        close_date: date | _Unset | None = UNSET,
        source: str | _Unset | None = UNSET,
    ) -> DealOut:
        """Change a deal's name, amount, close date or source."""
        now = self.clock()
        deal = self._load(ref, expected_version)
        if not isinstance(name, _Unset):
            deal.name = validate_deal_name(name)
        if not isinstance(amount, _Unset):
            money = _validate_amount(amount)
            deal.amount_cents = _cents(money)
            if money is not None:
                deal.currency = money.currency
        if not isinstance(close_date, _Unset):
            self._change_close_date(deal, close_date, actor, now)
        if not isinstance(source, _Unset):
            deal.source = (
                _clean_text(source, what="source", example="source:webinar", limit=200)
                if source
                else None
            )
        self._touch(deal, actor, now)
        return self._flush(deal)

    def _change_close_date(self, deal: Deal, new: date | None, actor: str, now: datetime) -> None:
        if new == deal.close_date:
            return
        deal.close_date_changes.append(
            CloseDateChange(
                team_id=self.team_id, old_date=deal.close_date, new_date=new, at=now, by=actor
            )
        )
        deal.close_date = new

    def push_close_date(
        self, ref: str | int, new: date, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Move a deal's expected close date (recorded as slippage when later)."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "push its close date")
        self._change_close_date(deal, new, actor, now)
        self._touch(deal, actor, now)
        return self._flush(deal)

    def _require_open(self, deal: Deal, doing: str) -> Deal:
        if deal.status != DealStatus.OPEN:
            raise Refused(
                f"#{deal.number} {deal.name} is {deal.status}: reopen it to {doing}.",
                example=f"reopen #{deal.number}",
            )
        return deal

    def _enter(self, deal: Deal, to_stage: str, actor: str, now: datetime) -> None:
        last = deal.stage_changes[-1] if deal.stage_changes else None
        deal.stage_changes.append(
            StageChange(
                team_id=self.team_id,
                from_stage=last.to_stage if last else None,
                from_entered_at=last.at if last else None,
                to_stage=to_stage,
                at=now,
                by=actor,
            )
        )
        deal.last_activity_at = now
        self._touch(deal, actor, now)

    def move(
        self, ref: str | int, stage: str, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Move an open deal to another open stage."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "move it")
        if stage.strip().lower() in OUTCOMES:
            raise InvalidInput(
                f"To close a deal, use won or lost rather than move: `{stage.strip().lower()} "
                f"#{deal.number}`.",
                example=f"won #{deal.number}",
            )
        return self._move_to(deal, self.resolve_stage(stage), actor, now)

    def advance(
        self, ref: str | int, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Move an open deal to the next stage; on the last stage, refuse and suggest won."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "move it")
        following = stage_rules.next_stage(deal.stage, self.stages())
        if following is None:
            raise Refused(
                f"#{deal.number} {deal.name} is in the last stage: mark it won.",
                example=f"won #{deal.number}",
            )
        return self._move_to(deal, following, actor, now)

    def _move_to(self, deal: Deal, target: StageOut, actor: str, now: datetime) -> DealOut:
        if target.key == deal.stage:
            raise Refused(f"#{deal.number} {deal.name} is already in {target.name}.")
        deal.stage = target.key
        self._enter(deal, target.key, actor, now)
        return self._flush(deal)

    def win(self, ref: str | int, *, actor: str, expected_version: int | None = None) -> DealOut:
        """Close an open deal as won."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "win it")
        deal.status = DealStatus.WON.value
        deal.closed_at = now
        deal.lost_reason = None
        self._enter(deal, WON, actor, now)
        return self._flush(deal)

    def lose(
        self, ref: str | int, reason: str, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Close an open deal as lost, with the reason."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "lose it")
        deal.lost_reason = _clean_text(
            reason, what="reason", example=f"lost #{deal.number} went with a competitor", limit=500
        )
        deal.status = DealStatus.LOST.value
        deal.closed_at = now
        self._enter(deal, LOST, actor, now)
        return self._flush(deal)

    def reopen(
        self,
        ref: str | int,
        *,
        actor: str,
        stage: str | None = None,
        expected_version: int | None = None,
    ) -> DealOut:
        """Reopen a won or lost deal, in the stage it closed from or the one given."""
        now = self.clock()
        deal = self._load(ref, expected_version)
        if deal.status == DealStatus.OPEN:
            raise Refused(f"#{deal.number} {deal.name} is already open.")
        stages = self.stages()
        if stage:
            target = self.resolve_stage(stage).key
        elif any(s.key == deal.stage for s in stages):
            target = deal.stage
        else:
            target = stages[0].key
        deal.status = DealStatus.OPEN.value
        deal.closed_at = None
        deal.lost_reason = None
        deal.stage = target
        self._enter(deal, target, actor, now)
        return self._flush(deal)

    def log_activity(
        self,
        ref: str | int,
        kind: ActivityKind | str,
        text: str,
        *,
        actor: str,
        link: str | None = None,
        idempotency_key: str | None = None,
    ) -> DealOut:
        """Record a call, email, meeting or note on a deal."""
        now = self.clock()
        try:
            activity_kind = ActivityKind(str(kind).strip().lower())
        except ValueError:
            raise InvalidInput(
                f'"{kind}" is not an activity kind: use call, email, meeting or note.',
                example="log #12 call Spoke with their CFO",
                field="kind",
            ) from None
        body = _clean_text(text, what="text", example="log #12 call Spoke with their CFO")
        deal = self._load(ref, None)
        self._claim(idempotency_key, now)
        deal.activities.append(
            Activity(
                team_id=self.team_id,
                kind=activity_kind.value,
                text=body,
                at=now,
                by=_user(actor, what="actor"),
                link=link,
            )
        )
        deal.last_activity_at = now
        self._touch(deal, actor, now)
        return self._flush(deal)

    def _validate_next_step(self, step: NextStep | None) -> tuple[str | None, date | None]:
        if step is None:
            return None, None
        text = _clean_text(
            step.text, what="next step", example="next #12 send the proposal by friday", limit=500
        )
        return text, step.due

    def set_next_step(
        self,
        ref: str | int,
        step: NextStep | None,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> DealOut:
        """Set (or clear, with None) a deal's next step and its due date."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "plan a next step")
        deal.next_step_text, deal.next_step_due = self._validate_next_step(step)
        self._touch(deal, actor, now)
        return self._flush(deal)

    def assign(
        self, ref: str | int, owner_id: str, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Give a deal to another owner."""
        now = self.clock()
        deal = self._load(ref, expected_version)
        deal.owner_id = _user(owner_id)
        self._touch(deal, actor, now)
        return self._flush(deal)

    def snooze(
        self, ref: str | int, until: date, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Keep a deal out of reminders until a date."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "snooze it")
        if until <= self.today():
            raise InvalidInput(
                "Snooze until a date after today.", example="snooze #12 next monday", field="date"
            )
        deal.snoozed_until = until
        self._touch(deal, actor, now)
        return self._flush(deal)

    def delete(self, ref: str | int, *, actor: str, expected_version: int | None = None) -> DealOut:
        """Delete a deal and its history; its number is never reused."""
        deal = self._load(ref, expected_version)
        out = DealOut.model_validate(deal)
        self.session.delete(deal)
        self._flush(deal)
        return out
