"""Pipeline operations: the service API that commands, buttons, jobs and the CLI all call.

A service works inside the caller's unit of work and never commits: its store writes into
the caller's transaction, so each operation is one transaction and an error leaves nothing
written. The rules live here; the store (`pipeline.ports.PipelineStore`) only reads and writes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pipeline import stages as stage_rules
from pipeline.errors import AlreadyApplied, Ambiguous, Conflict, InvalidInput, NotFound, Refused
from pipeline.limits import TextField, check_text
from pipeline.money import Money
from pipeline.names import same_company
from pipeline.planning import OTHER, find_reason, resolve_source, split_reason
from pipeline.ports import DealHistory, DealQuery, NewDeal, StageEntry, StaleQuery
from pipeline.schemas import ActivityOut, CloseDateChangeOut, DealDetail, DealOut, StageOut
from pipeline.team_settings import TeamPipeline
from pipeline.types import LOST, OUTCOMES, WON, ActivityKind, DealStatus
from pipeline.validation import (
    MAX_ADMINS,
    MAX_NAME,
    MAX_TEXT,
    UNSET,
    NextStep,
    TeamDefaults,
    _Unset,
    validate_amount,
    validate_deal_name,
    validate_source,
    validate_user,
)

__all__ = [
    "MAX_ADMINS",
    "MAX_NAME",
    "MAX_TEXT",
    "UNSET",
    "NextStep",
    "PipelineService",
    "TeamDefaults",
    "validate_deal_name",
]


# A warning names a few look-alikes; more than that is a naming problem, not a duplicate.
MAX_TWINS = 5


class PipelineService(TeamPipeline):
    """One team's pipeline, inside one transaction."""

    # --- finding deals -----------------------------------------------------------------

    def find(self, ref: str) -> DealOut:
        """A deal by `#12`, `12` or an unambiguous name prefix."""
        return self._find(ref)

    def open_deals_named_like(self, name: str) -> list[DealOut]:
        """Open deals that are the same company as `name` (case, accents, legal form aside)."""
        numbers = sorted(same_company(name, self.store.open_names()))
        return [self._find(f"#{number}") for number in numbers[:MAX_TWINS]]

    def detail(self, ref: str) -> DealDetail:
        """A deal with its whole history."""
        return self.store.deal_detail(self._find(ref).number)

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
        query = DealQuery(
            owner_id=owner_id,
            stage=stage_key,
            status=status.value if status else None,
            text=text,
            limit=limit,
            offset=offset,
        )
        return self.store.list_deals(query)

    def stale_deals(
        self, *, limit: int = 500, offset: int = 0, skip_snoozed: bool = False
    ) -> list[DealOut]:
        """Open deals gone quiet past their stage's threshold with no next step ahead."""
        query = StaleQuery(
            stages=self.stages(),
            now=self.clock(),
            today=self.today(),
            skip_snoozed=skip_snoozed,
            limit=limit,
            offset=offset,
        )
        return self.store.stale_deals(query)

    def _find(self, ref: str, *, lock: bool = False) -> DealOut:
        text = ref.strip()
        example = "show #12"
        if not text:
            raise InvalidInput(
                "Which deal? Give its number or the start of its name.", example=example
            )
        number_text = text[1:] if text.startswith("#") else text
        if number_text.isdigit():
            deal = self.store.deal_by_number(int(number_text), lock=lock)
            if deal is None:
                raise NotFound(f"There is no deal #{int(number_text)}.", example=example)
            return deal
        if text.startswith("#"):
            raise InvalidInput(f'"{text}" is not a deal number.', example=example)
        matches = self.store.deals_by_name(text, lock=lock)
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

    def _load(self, ref: str | int, expected_version: int | None) -> DealOut:
        # Lock the row (PostgreSQL) so a concurrent writer waits, then sees the new version.
        deal = self._find(f"#{ref}" if isinstance(ref, int) else ref, lock=True)
        if expected_version is not None and deal.version != expected_version:
            raise self._conflict(deal)
        return deal

    def _conflict(self, deal: DealOut) -> Conflict:
        where = self._where(deal)
        return Conflict(
            f"#{deal.number} {deal.name} changed since you saw it: it is now {where} "
            f"(last change by <@{deal.updated_by}>). Nothing was changed.",
            current_version=deal.version,
            changed_by=deal.updated_by,
        )

    def _where(self, deal: DealOut) -> str:
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

    def _save(
        self,
        deal: DealOut,
        actor: str,
        now: datetime,
        history: DealHistory | None = None,
        **changes: Any,
    ) -> DealOut:
        """Write `changes` to a loaded deal, stamped with who changed it and when."""
        changed = deal.model_copy(update={**changes, "updated_at": now, "updated_by": actor})
        return self.store.save_deal(changed, history)

    def _claim(self, key: str | None, now: datetime) -> None:
        if key is None:
            return
        if not self.store.claim_operation(key, now):
            number = self.store.operation_deal(key)
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
        return deal

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
        actor = validate_user(actor, what="actor")
        clean_name = validate_deal_name(name)
        money = validate_amount(amount)
        stages = self.stages()
        if not stages:
            raise Refused("This pipeline has no open stage; add one with `/deal stages add`.")
        stage_key = self.resolve_stage(stage).key if stage else stages[0].key
        clean_source = resolve_source(validate_source(source), self.team.sources)
        step_text, step_due = self._validate_next_step(next_step)
        self._claim(idempotency_key, now)
        new = NewDeal(
            number=self.store.allocate_number(),
            name=clean_name,
            amount=money.amount if money else None,
            currency=money.currency if money else self.team.currency,
            owner_id=validate_user(owner_id) if owner_id else actor,
            stage=stage_key,
            created_at=now,
            created_by=actor,
            close_date=close_date,
            next_step_text=step_text,
            next_step_due=step_due,
            source=clean_source,
        )
        deal = self.store.insert_deal(new, StageEntry(stage_key, now, actor))
        if idempotency_key is not None:
            self.store.set_operation_deal(idempotency_key, deal.number)
        return deal

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
        changes: dict[str, Any] = {}
        if not isinstance(name, _Unset):
            changes["name"] = validate_deal_name(name)
        if not isinstance(amount, _Unset):
            money = validate_amount(amount)
            changes["amount"] = money.amount if money else None
            if money is not None:
                changes["currency"] = money.currency
        history = DealHistory()
        if not isinstance(close_date, _Unset):
            history = self._close_date_history(deal, close_date, actor, now)
            changes["close_date"] = close_date
        # A source taken off the team's list stays on the deals that have it, through edits.
        if not isinstance(source, _Unset) and source != deal.source:
            changes["source"] = resolve_source(validate_source(source), self.team.sources)
        return self._save(deal, actor, now, history, **changes)

    def _close_date_history(
        self, deal: DealOut, new: date | None, actor: str, now: datetime
    ) -> DealHistory:
        if new == deal.close_date:
            return DealHistory()
        change = CloseDateChangeOut(old_date=deal.close_date, new_date=new, at=now, by=actor)
        return DealHistory(close_date_change=change)

    def push_close_date(
        self, ref: str | int, new: date, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Move a deal's expected close date (recorded as slippage when later)."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "push its close date")
        history = self._close_date_history(deal, new, actor, now)
        return self._save(deal, actor, now, history, close_date=new)

    def _require_open(self, deal: DealOut, doing: str) -> DealOut:
        if deal.status != DealStatus.OPEN:
            raise Refused(
                f"#{deal.number} {deal.name} is {deal.status}: reopen it to {doing}.",
                example=f"reopen #{deal.number}",
            )
        return deal

    def _enter(
        self, deal: DealOut, to_stage: str, actor: str, now: datetime, **changes: Any
    ) -> DealOut:
        """Record the deal entering a stage or an outcome: that is activity too."""
        history = DealHistory(entered=StageEntry(to_stage, now, actor))
        return self._save(deal, actor, now, history, last_activity_at=now, **changes)

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

    def _move_to(self, deal: DealOut, target: StageOut, actor: str, now: datetime) -> DealOut:
        if target.key == deal.stage:
            raise Refused(f"#{deal.number} {deal.name} is already in {target.name}.")
        return self._enter(deal, target.key, actor, now, stage=target.key)

    def win(self, ref: str | int, *, actor: str, expected_version: int | None = None) -> DealOut:
        """Close an open deal as won."""
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "win it")
        return self._enter(
            deal,
            WON,
            actor,
            now,
            status=DealStatus.WON,
            closed_at=now,
            lost_reason=None,
            lost_detail=None,
        )

    def lose(
        self,
        ref: str | int,
        reason: str,
        *,
        actor: str,
        detail: str | None = None,
        expected_version: int | None = None,
    ) -> DealOut:
        """Close an open deal as lost.

        With `detail` (a form), `reason` is a reason's key or name. Without it (a typed line),
        the line starts with a reason and the rest is the detail; a line naming no reason is
        filed under `other`, the whole line kept as the detail.
        """
        now = self.clock()
        deal = self._require_open(self._load(ref, expected_version), "lose it")
        example = f"lost #{deal.number} price went with a cheaper vendor"
        text = check_text(reason, TextField.LOST_REASON, example=example)
        key, why = self.lost_reason_of(text, detail, example=example)
        return self._enter(
            deal,
            LOST,
            actor,
            now,
            status=DealStatus.LOST,
            closed_at=now,
            lost_reason=key,
            lost_detail=why,
        )

    def lost_reason_of(
        self, text: str, detail: str | None, *, example: str
    ) -> tuple[str, str | None]:
        """(reason key, detail or None) for a typed line or a form's reason and detail."""
        reasons = self.team.lost_reasons
        if detail is None:
            found, rest = split_reason(text, reasons)
            key, detail = (found.key, rest) if found else (OTHER, text)
        else:
            chosen = find_reason(text, reasons)
            if chosen is None:
                listed = ", ".join(r.key for r in reasons)
                raise InvalidInput(
                    f'"{text[:60]}" is not a loss reason: {listed}.',
                    example=example,
                    field="reason",
                )
            key = chosen.key
        why = check_text(detail, TextField.LOST_REASON, example=example) if detail.strip() else None
        return key, why

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
        return self._enter(
            deal,
            target,
            actor,
            now,
            status=DealStatus.OPEN,
            closed_at=None,
            lost_reason=None,
            lost_detail=None,
            stage=target,
        )

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
        body = check_text(text, TextField.ACTIVITY, example="log #12 call Spoke with their CFO")
        deal = self._load(ref, None)
        self._claim(idempotency_key, now)
        activity = ActivityOut(
            kind=activity_kind, text=body, at=now, by=validate_user(actor, what="actor"), link=link
        )
        history = DealHistory(activity=activity)
        return self._save(deal, actor, now, history, last_activity_at=now)

    def _validate_next_step(self, step: NextStep | None) -> tuple[str | None, date | None]:
        if step is None:
            return None, None
        text = check_text(
            step.text, TextField.NEXT_STEP, example="next #12 send the proposal by friday"
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
        step_text, step_due = self._validate_next_step(step)
        return self._save(deal, actor, now, next_step_text=step_text, next_step_due=step_due)

    def assign(
        self, ref: str | int, owner_id: str, *, actor: str, expected_version: int | None = None
    ) -> DealOut:
        """Give a deal to another owner."""
        now = self.clock()
        deal = self._load(ref, expected_version)
        return self._save(deal, actor, now, owner_id=validate_user(owner_id))

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
        return self._save(deal, actor, now, snoozed_until=until)

    def delete(self, ref: str | int, *, actor: str, expected_version: int | None = None) -> DealOut:
        """Delete a deal and its history; its number is never reused."""
        deal = self._load(ref, expected_version)
        self.store.delete_deal(deal)
        return deal
