"""Admin views: the pipeline's stages and the team's configuration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from pipeline.errors import InvalidInput
from pipeline.schedule import (
    OFF,
    ReminderMode,
    Schedule,
    format_schedule,
    next_fire_time,
    parse_digest,
    parse_reminder_mode,
    parse_reminders,
)
from pipeline.schemas import StageOut, TeamOut
from views.common import MAX_FIELD, Blocks, clip, dump, esc, user, when
from views.planning import lists_field
from views.tables import cell, code_sections, table_lines

T = TypeVar("T")

NAME_WIDTH = 28
KEY_WIDTH = 24

STAGE_HELP = (
    "`/deal stages set demo 40% 10d` · `/deal stages add Contract Sent 70% 7d` · "
    "`/deal stages rename demo Product Demo` · `/deal stages remove demo` · "
    "`/deal stages order lead qualified demo ...` (admins only)"
)
CONFIG_HELP = (
    "`/deal config channel here` · `/deal config reminders 09:00 mon-fri` · "
    "`/deal config reminders dm` · `/deal config digest mon 09:00` · "
    "`/deal config timezone Europe/Paris` · `/deal config currency EUR` · "
    "`/deal config rate USD 0.92` · `/deal config admins @alice @bob` · "
    "`/deal config sources add webinar` · `/deal config reasons add Legal review` (admins only)"
)
MODE_TEXT = {
    ReminderMode.CHANNEL: "the pipeline channel",
    ReminderMode.DM: "each owner, by DM",
    ReminderMode.BOTH: "the pipeline channel and each owner by DM",
    ReminderMode.OFF: "nowhere (off)",
}


def stage_lines(stages: list[StageOut]) -> list[str]:
    """The stages as table lines: order, name, key, win probability, stale threshold."""
    rows = [
        [
            str(i),
            cell(s.name, NAME_WIDTH),
            cell(s.key, KEY_WIDTH),
            f"{s.probability}%",
            f"{s.stale_days}d",
        ]
        for i, s in enumerate(stages, start=1)
    ]
    return table_lines(["#", "Stage", "Key", "Win", "Stale after"], rows, align="rllrr")


def stages_text(stages: list[StageOut]) -> str:
    """The plain-text fallback of the stages view."""
    listed = ", ".join(f"{esc(s.name)} {s.probability}% {s.stale_days}d" for s in stages)
    return clip(f"Pipeline stages: {listed}", 3000)


def build_stages(stages: list[StageOut], *, note: str | None = None) -> Blocks:
    """The open stages in order, with what each setting means and how to change it."""
    blocks: list[Block] = []
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(note, 2900))))
    blocks.append(HeaderBlock(text=f"Pipeline stages ({len(stages)})"))
    blocks.extend(code_sections(stage_lines(stages), max_blocks=6))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="*Win*: probability used to weight the pipeline · *Stale after*: days "
                    "without activity before a deal counts as stale. Won and lost are the "
                    "outcomes every pipeline has."
                ),
                MarkdownTextObject(text=STAGE_HELP),
            ]
        )
    )
    return dump(blocks)


def _field(title: str, body: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(f"*{title}*\n{body}", MAX_FIELD))


def _schedule_field(schedule: Schedule | None, *, on: bool, tz: str, now: datetime) -> str:
    shown = esc(format_schedule(schedule))
    fire = next_fire_time(schedule, tz, after=now) if on else None
    return f"{shown}\nnext {when(fire)}" if fire is not None else shown


def _parsed(parse: Callable[[str], T], text: str) -> T | None:
    try:
        return parse(text)
    except InvalidInput:
        return None


def build_config(team: TeamOut, *, now: datetime, note: str | None = None) -> Blocks:
    """The team's settings, with the next reminder and digest times."""
    # A stored value this version cannot read is shown as is rather than failing the view.
    reminders_at = _parsed(parse_reminders, team.reminders)
    mode = _parsed(parse_reminder_mode, team.reminder_mode)
    digest_at = _parsed(parse_digest, team.digest)
    channel = (
        f"<#{team.channel_id}>"
        if team.channel_id
        else "not set: cards stay where they are typed. `/deal config channel here`"
    )
    rates = (
        ", ".join(
            f"1 {code} = {rate.normalize():f} {team.currency}"
            for code, rate in sorted(team.rates.items())
        )
        or "none"
    )
    reminders = (
        _schedule_field(
            reminders_at,
            on=mode not in (None, ReminderMode.OFF),
            tz=team.timezone,
            now=now,
        )
        if reminders_at is not None or team.reminders == OFF
        else f":warning: unreadable: `{esc(team.reminders)}`"
    )
    digest = (
        _schedule_field(digest_at, on=True, tz=team.timezone, now=now)
        if digest_at is not None or team.digest == OFF
        else f":warning: unreadable: `{esc(team.digest)}`"
    )
    mode_text = (
        MODE_TEXT[mode]
        if mode is not None
        else f":warning: unreadable: `{esc(team.reminder_mode)}`"
    )
    admins = (
        " ".join(user(a) for a in team.admins)
        if team.admins
        else "Slack workspace admins and owners"
    )
    sources, reasons = lists_field(team.sources, team.lost_reasons)
    blocks: list[Block] = []
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(note, 2900))))
    blocks.extend(
        [
            HeaderBlock(text="pipebot settings"),
            SectionBlock(
                fields=[
                    _field("Pipeline channel", channel),
                    _field("Time zone", esc(team.timezone)),
                    _field("Reporting currency", team.currency),
                    _field("Exchange rates", rates),
                    _field("Reminders", reminders),
                    _field("Reminders go to", mode_text),
                    _field("Weekly digest", digest),
                    _field("Pipeline admins", admins),
                    _field("Lead sources", sources),
                    _field("Loss reasons", reasons),
                ]
            ),
            ContextBlock(elements=[MarkdownTextObject(text=CONFIG_HELP)]),
        ]
    )
    return dump(blocks)


def config_text(team: TeamOut) -> str:
    """The plain-text fallback of the config view."""
    channel = f"<#{team.channel_id}>" if team.channel_id else "no channel"
    return (
        f"pipebot settings: {channel}, {team.timezone}, {team.currency}, reminders "
        f"{team.reminders} to {team.reminder_mode}, digest {team.digest}"
    )
