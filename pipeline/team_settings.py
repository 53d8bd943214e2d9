"""A team's pipeline settings and stages: the half of the service that is not about deals."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pipeline import planning
from pipeline import stages as stage_rules
from pipeline.clock import Clock, utcnow
from pipeline.dates import today_in, validate_timezone
from pipeline.errors import InvalidInput, Refused
from pipeline.money import normalize_currency
from pipeline.ports import NewTeam, PipelineStore
from pipeline.schedule import normalize_digest, normalize_reminder_mode, normalize_reminders
from pipeline.schemas import StageOut, TeamOut
from pipeline.validation import DEFAULTS, MAX_ADMINS, TeamDefaults, validate_user

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")


def default_stages() -> list[StageOut]:
    """The pipeline every new team starts with."""
    return [
        StageOut(
            key=spec.key,
            name=spec.name,
            position=position,
            probability=spec.probability,
            stale_days=spec.stale_days,
        )
        for position, spec in enumerate(stage_rules.DEFAULT_STAGES)
    ]


def new_team(team_id: str, *, timezone: str, currency: str) -> TeamOut:
    """The settings a team starts with, before its first write creates its row."""
    return TeamOut(
        id=team_id,
        timezone=timezone,
        currency=currency,
        channel_id=None,
        admins=[],
        stages=default_stages(),
        rates={},
    )


class TeamPipeline:
    """One team's settings and stages, read and changed through its store."""

    def __init__(
        self,
        store: PipelineStore,
        team_id: str,
        *,
        clock: Clock = utcnow,
        defaults: TeamDefaults = DEFAULTS,
    ) -> None:
        if not team_id or len(team_id) > 32:
            raise InvalidInput(f'"{team_id}" is not a team id.', example="T012ABCDEF")
        self.store = store
        self.team_id = team_id
        self.clock = clock
        self.defaults = defaults
        self._team: TeamOut | None = None

    # --- team and stages -------------------------------------------------------------

    @property
    def team(self) -> TeamOut:
        """The team's settings, stages and rates; the team is created on first use."""
        if self._team is None:
            team = self.store.load_team()
            if team is None:
                self.store.create_team(
                    NewTeam(self.defaults.timezone, self.defaults.currency, self.clock()),
                    default_stages(),
                )
                team = self.store.load_team()
                assert team is not None
            self._team = team
        return self._team

    def team_out(self) -> TeamOut:
        """The team's settings, stages and rates."""
        return self.team

    def admins(self) -> list[str]:
        """The pipeline admins (empty: Slack workspace admins and owners only)."""
        return list(self.team.admins)

    def stages(self) -> list[StageOut]:
        """The open stages in pipeline order."""
        return list(self.team.stages)

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
        stages = self.stages()
        if len(stages) >= stage_rules.MAX_STAGES:
            raise Refused(f"A pipeline has at most {stage_rules.MAX_STAGES} stages.")
        if any(s.key == key or s.name.lower() == name.lower() for s in stages):
            raise Refused(f'There is already a stage called "{name}".')
        stage = StageOut(
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
        return self._save_stages(stages)[index]

    def rename_stage(self, stage: str, new_name: str) -> StageOut:
        """Change a stage's display name; its key, used in history, stays."""
        target = self.resolve_stage(stage)
        name = stage_rules.validate_name(new_name)
        if any(s.name.lower() == name.lower() and s.key != target.key for s in self.stages()):
            raise Refused(f'There is already a stage called "{name}".')
        return self._replace_stage(target.model_copy(update={"name": name}))

    def set_stage(
        self, stage: str, *, probability: int | None = None, stale_days: int | None = None
    ) -> StageOut:
        """Change a stage's win probability and/or stale threshold."""
        target = self.resolve_stage(stage)
        changes: dict[str, int] = {}
        if probability is not None:
            changes["probability"] = stage_rules.validate_probability(probability)
        if stale_days is not None:
            changes["stale_days"] = stage_rules.validate_stale_days(stale_days)
        return self._replace_stage(target.model_copy(update=changes))

    def remove_stage(self, stage: str) -> None:
        """Remove a stage that holds no open deal."""
        target = self.resolve_stage(stage)
        held = self.store.count_open_in_stage(target.key)
        if held:
            raise Refused(
                f"{target.name} still holds {held} open deal{'s' if held != 1 else ''}: "
                f"move them to another stage first (`/deal list {target.key}`)."
            )
        if len(self.team.stages) == 1:
            raise Refused("A pipeline needs at least one open stage.")
        self._save_stages([s for s in self.stages() if s.key != target.key])

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
        return self._save_stages([current[key] for key in wanted])

    def _replace_stage(self, changed: StageOut) -> StageOut:
        stages = [changed if s.key == changed.key else s for s in self.stages()]
        self._save_stages(stages)
        return changed

    def _save_stages(self, stages: Sequence[StageOut]) -> list[StageOut]:
        # Positions are not unique-constrained, but keep them dense and ordered.
        numbered = [s.model_copy(update={"position": i}) for i, s in enumerate(stages)]
        self.store.save_stages(numbered)
        self._team = self.team.model_copy(update={"stages": numbered})
        return numbered

    # --- team settings ---------------------------------------------------------------

    def _save_settings(self, **changes: Any) -> None:
        self._team = self.team.model_copy(update=changes)
        self.store.save_settings(self._team)

    def set_timezone(self, name: str) -> None:
        """Set the team's IANA timezone."""
        self._save_settings(timezone=validate_timezone(name))

    def set_currency(self, code: str) -> None:
        """Set the team's reporting currency."""
        self._save_settings(currency=normalize_currency(code))

    def set_rate(self, currency: str, rate: Decimal) -> None:
        """Set 1 `currency` = `rate` in the reporting currency."""
        code = normalize_currency(currency)
        if rate <= 0 or rate >= Decimal(10) ** 9:
            raise InvalidInput(
                f"A rate is a positive number, not {rate}.", example="rate USD 0.92", field="rate"
            )
        team = self.team  # a first use creates the team the rate belongs to
        self.store.save_rate(code, rate)
        self._team = team.model_copy(update={"rates": {**team.rates, code: rate}})

    def rates(self) -> dict[str, Decimal]:
        """The team's conversion rates into its reporting currency."""
        return {code: Decimal(rate) for code, rate in self.team.rates.items()}

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
        self._save_settings(channel_id=channel_id)

    def set_admins(self, user_ids: Sequence[str]) -> list[str]:
        """Replace the pipeline admins (empty: Slack workspace admins and owners only)."""
        admins = list(dict.fromkeys(validate_user(u, what="admin") for u in user_ids))
        if len(admins) > MAX_ADMINS:
            raise InvalidInput(
                f"A pipeline has at most {MAX_ADMINS} admins.",
                example="config admins @alice @bob",
                field="admins",
            )
        self._save_settings(admins=admins)
        return admins

    def set_reminders(self, text: str) -> str:
        """Set the daily reminder schedule (`09:00 mon-fri`, `off`); returns its canonical text."""
        self._save_settings(reminders=normalize_reminders(text))
        return self.team.reminders

    def set_reminder_mode(self, text: str) -> str:
        """Set where reminders go (`channel`, `dm`, `channel+dm`, `off`)."""
        self._save_settings(reminder_mode=normalize_reminder_mode(text))
        return self.team.reminder_mode

    def set_digest(self, text: str) -> str:
        """Set the weekly digest (`mon 09:00`, `off`); returns its canonical text."""
        self._save_settings(digest=normalize_digest(text))
        return self.team.digest

    # --- sources, loss reasons and targets --------------------------------------------

    def add_source(self, name: str) -> str:
        """Add a lead source to the team's list; returns its key."""
        sources = planning.add_source(self.team.sources, name)
        self._save_settings(sources=sources)
        return sources[-1]

    def remove_source(self, name: str) -> str:
        """Take a source off the list (deals keep it); returns its key."""
        key = planning.key_of(name)
        self._save_settings(sources=planning.remove_source(self.team.sources, name))
        return key

    def add_lost_reason(self, name: str) -> planning.LostReason:
        """Add a loss reason, its key made from its name."""
        reasons = planning.add_reason(self.team.lost_reasons, name)
        self._save_settings(lost_reasons=reasons)
        return reasons[-1]

    def remove_lost_reason(self, name: str) -> planning.LostReason:
        """Take a loss reason off the list (deals keep it); `other` stays."""
        gone = planning.find_reason(name, self.team.lost_reasons)
        self._save_settings(lost_reasons=planning.remove_reason(self.team.lost_reasons, name))
        assert gone is not None  # remove_reason refused an unknown one
        return gone

    def set_target(self, owner: str | None, period: str, amount: Decimal) -> planning.TargetOut:
        """Set the team's (owner None) or a rep's target for a month or a quarter."""
        target = planning.TargetOut(
            owner=validate_user(owner) if owner else None,
            period=planning.parse_period(period).text,
            amount=planning.validate_target_amount(amount),
        )
        self._save_targets(planning.set_target(self.team.targets, target))
        return target

    def clear_target(self, owner: str | None, period: str) -> planning.TargetOut:
        """Remove a target; refused when there is none for that owner and period."""
        text = planning.parse_period(period).text
        found = next((t for t in self.team.targets if (t.owner, t.period) == (owner, text)), None)
        if found is None:
            whose = f"<@{owner}>" if owner else "the team"
            raise Refused(f"There is no target for {whose} in {text}.")
        self._save_targets([t for t in self.team.targets if t is not found])
        return found

    def targets(self) -> list[planning.TargetOut]:
        """The team's and the reps' targets, the team first, then each rep by id."""
        return list(self.team.targets)

    def _save_targets(self, targets: Sequence[planning.TargetOut]) -> None:
        ordered = planning.sort_targets(targets)
        self.store.save_targets(ordered)
        self._team = self.team.model_copy(update={"targets": ordered})
