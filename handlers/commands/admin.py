"""/deal admin subcommands: `stages` and `config`, shown to anyone, changed by admins only."""

from __future__ import annotations

from collections.abc import Callable

from handlers.commands import admin_grammar as grammar
from handlers.commands import planning
from handlers.commands.deals import Verb
from handlers.commands.grammar import chosen, first_word
from handlers.common import Request, require_admin
from pipeline.errors import InvalidInput
from pipeline.schedule import REMINDERS_EXAMPLE
from pipeline.service import PipelineService
from views.admin import build_config, build_stages, config_text, stages_text
from views.common import esc

# A change applies itself inside the admin's transaction and says what it did.
Change = Callable[[Request, PipelineService, str], str]

# The changes `/deal stages …` and `/deal config …` offer, by the words that choose them.
STAGE_CHANGES: dict[str, Change] = {}
CONFIG_CHANGES: dict[str, Change] = {}


def chosen_by(table: dict[str, Change], *words: str) -> Callable[[Change], Change]:
    """Register a change in `table` under its words (its name, then any aliases)."""

    def register(change: Change) -> Change:
        table.update(dict.fromkeys(words, change))
        return change

    return register


STAGE_CHOICES = "`set`, `add`, `rename`, `remove` or `order`"
CONFIG_CHOICES = (
    "`channel`, `reminders`, `digest`, `timezone`, `currency`, `rate`, `admins`, `sources` or "
    "`reasons`"
)


# --- stages ---------------------------------------------------------------------------------


@chosen_by(STAGE_CHANGES, "set")
def _stage_set(req: Request, p: PipelineService, text: str) -> str:
    parsed = grammar.parse_stage_set(text)
    stage = p.set_stage(parsed.stage, probability=parsed.probability, stale_days=parsed.stale_days)
    return (
        f"{esc(stage.name)}: {stage.probability}% win probability, stale after {stage.stale_days}d."
    )


@chosen_by(STAGE_CHANGES, "add", "new")
def _stage_add(req: Request, p: PipelineService, text: str) -> str:
    parsed = grammar.parse_stage_add(text)
    stage = p.add_stage(parsed.name, parsed.probability, parsed.stale_days, before=parsed.before)
    return f"Added {esc(stage.name)} (key `{stage.key}`)."


@chosen_by(STAGE_CHANGES, "rename")
def _stage_rename(req: Request, p: PipelineService, text: str) -> str:
    old, new = grammar.split_stage(text, p.stages(), grammar.RENAME_EXAMPLE)
    before = p.resolve_stage(old).name
    stage = p.rename_stage(old, new)
    return f"Renamed {esc(before)} to {esc(stage.name)}; its key `{stage.key}` stays."


@chosen_by(STAGE_CHANGES, "remove", "rm", "delete")
def _stage_remove(req: Request, p: PipelineService, text: str) -> str:
    if not text.strip():
        raise InvalidInput("Which stage?", example=grammar.REMOVE_EXAMPLE)
    name = p.resolve_stage(text).name
    p.remove_stage(text)
    return f"Removed {esc(name)}."


@chosen_by(STAGE_CHANGES, "order", "reorder")
def _stage_order(req: Request, p: PipelineService, text: str) -> str:
    p.reorder_stages(grammar.parse_stage_order(text))
    return "New stage order saved."


def stages(req: Request, text: str) -> None:
    """`stages` shows the stages; `stages set|add|rename|remove|order ...` changes them."""
    sub, rest = first_word(text)
    if sub in ("", "show", "list"):
        with req.pipe.read() as p:
            current = p.stages()
        req.say_ephemeral(stages_text(current), build_stages(current))
        return
    refusal = f"`stages {sub}` is not a stages command: use {STAGE_CHOICES}."
    change = chosen(STAGE_CHANGES, sub, refusal, grammar.SET_EXAMPLE)
    with req.pipe.write() as p:
        require_admin(req.client, p, req.user_id, "change the pipeline stages")
        note = change(req, p, rest)
        current = p.stages()
    req.say_ephemeral(
        f":white_check_mark: {note}",
        build_stages(current, note=f":white_check_mark: {note}"),
    )


# --- config ---------------------------------------------------------------------------------


@chosen_by(CONFIG_CHANGES, "channel")
def _channel(req: Request, p: PipelineService, text: str) -> str:
    choice = grammar.parse_channel(text)
    channel = req.channel_id if choice.here else choice.channel_id
    if choice.here and not channel:
        raise InvalidInput("I can't tell which channel this is.", example="config channel #sales")
    p.set_channel(channel)
    if channel is None:
        return "No pipeline channel: cards stay where they are typed, reminders go by DM."
    return (
        f"Pipeline channel set to <#{channel}>. In a private channel, invite me with "
        "`/invite @pipebot`."
    )


@chosen_by(CONFIG_CHANGES, "reminders", "reminder")
def _reminders(req: Request, p: PipelineService, text: str) -> str:
    words = text.split(maxsplit=1)
    if words and words[0].lower() == "mode":
        return _reminder_mode(req, p, words[1] if len(words) > 1 else "")
    if grammar.is_reminder_mode(text):
        return _reminder_mode(req, p, text)
    if not text.strip():
        raise InvalidInput(
            "When should reminders go out?", example=f"config reminders {REMINDERS_EXAMPLE}"
        )
    saved = p.set_reminders(text)
    return f"Reminders: {saved}." if saved != "off" else "Reminders are off."


@chosen_by(CONFIG_CHANGES, "reminder-mode")
def _reminder_mode(req: Request, p: PipelineService, text: str) -> str:
    saved = p.set_reminder_mode(text)
    return f"Reminders go to: {saved}."


@chosen_by(CONFIG_CHANGES, "digest")
def _digest(req: Request, p: PipelineService, text: str) -> str:
    saved = p.set_digest(text)
    return f"Weekly digest: {saved}." if saved != "off" else "The weekly digest is off."


@chosen_by(CONFIG_CHANGES, "timezone", "tz")
def _timezone(req: Request, p: PipelineService, text: str) -> str:
    p.set_timezone(text)
    return f"Time zone: {p.team.timezone}."


@chosen_by(CONFIG_CHANGES, "currency")
def _currency(req: Request, p: PipelineService, text: str) -> str:
    p.set_currency(text)
    return f"Reporting currency: {p.team.currency}."


@chosen_by(CONFIG_CHANGES, "rate", "rates")
def _rate(req: Request, p: PipelineService, text: str) -> str:
    code, rate = grammar.parse_rate(text)
    p.set_rate(code, rate)
    return f"1 {code.strip().upper()} = {rate.normalize():f} {p.team.currency}."


@chosen_by(CONFIG_CHANGES, "admins", "admin")
def _admins(req: Request, p: PipelineService, text: str) -> str:
    admins = p.set_admins(grammar.parse_admins(text))
    if not admins:
        return "Pipeline admins: the Slack workspace admins and owners."
    note = "Pipeline admins: " + " ".join(f"<@{a}>" for a in admins) + "."
    if req.user_id not in admins:
        note += " You are not in the list any more; workspace admins and owners always are."
    return note


# The settings lists live with the targets (handlers/commands/planning.py).
chosen_by(CONFIG_CHANGES, "sources", "source")(planning.sources)
chosen_by(CONFIG_CHANGES, "reasons", "reason", "lost-reasons")(planning.reasons)


def config(req: Request, text: str) -> None:
    """`config` shows the settings; `config <setting> <value>` changes one."""
    sub, rest = first_word(text)
    if sub in ("", "show"):
        with req.pipe.read() as p:
            team, now = p.team_out(), p.clock()
        req.say_ephemeral(config_text(team), build_config(team, now=now))
        return
    refusal = f"`config {sub}` is not a setting: use {CONFIG_CHOICES}."
    change = chosen(CONFIG_CHANGES, sub, refusal, "config timezone Europe/Paris")
    with req.pipe.write() as p:
        require_admin(req.client, p, req.user_id, "change the settings")
        note = change(req, p, rest)
        team, now = p.team_out(), p.clock()
    req.say_ephemeral(
        f":white_check_mark: {note}",
        build_config(team, now=now, note=f":white_check_mark: {note}"),
    )


VERBS: dict[str, Verb] = {
    "stages": stages,
    "stage": stages,
    "config": config,
    "settings": config,
    "target": planning.target,
    "targets": planning.target,
}
