"""/deal target, and the settings lists: `config sources ...` and `config reasons ...`."""

from __future__ import annotations

from handlers.commands.grammar import first_word
from handlers.commands.planning_grammar import TargetClear, parse_target
from handlers.common import Request, require_admin
from pipeline.errors import InvalidInput
from pipeline.planning_metrics import targets as target_stats
from pipeline.service import PipelineService
from views.common import esc
from views.planning import build_targets, compact, targets_text

SOURCES_EXAMPLE = "config sources add webinar"
REASONS_EXAMPLE = "config reasons add Legal review"


def target(req: Request, text: str) -> None:
    """`target` lists the targets; `target [@rep] <amount> <period>` or `target clear ...`."""
    if not text.strip():
        with req.pipe.reports() as r:
            team = r.team
            stats = target_stats(r.source, team, r.now)
        listed = targets_text(team.targets, team.currency)
        req.say_ephemeral(listed, build_targets(team.targets, stats, team.currency))
        return
    with req.pipe.write() as p:
        require_admin(req.client, p, req.user_id, "set targets")
        parsed = parse_target(text, p.team.currency)
        whose = f"<@{parsed.owner}>" if parsed.owner else "the team"
        if isinstance(parsed, TargetClear):
            p.clear_target(parsed.owner, parsed.period.text)
            note = f"Removed the target of {whose} for {parsed.period.text}."
        else:
            saved = p.set_target(parsed.owner, parsed.period.text, parsed.amount)
            note = (
                f"Target of {whose} for {saved.period}: {compact(saved.amount, p.team.currency)}."
            )
        team = p.team_out()
    shown = f":white_check_mark: {note}"
    req.say_ephemeral(shown, build_targets(team.targets, [], team.currency, note=shown))


def sources(req: Request, p: PipelineService, text: str) -> str:
    """`config sources add <name>` or `config sources remove <name>` (admins)."""
    verb, rest = first_word(text)
    if verb == "add" and rest.strip():
        return f"Added the source `{esc(p.add_source(rest))}`."
    if verb in ("remove", "rm", "delete") and rest.strip():
        key = p.remove_source(rest)
        return f"Removed the source `{esc(key)}`; deals that have it keep it."
    raise InvalidInput(_list_refusal(text, "source"), example=SOURCES_EXAMPLE)


def reasons(req: Request, p: PipelineService, text: str) -> str:
    """`config reasons add <name>` or `config reasons remove <key or name>` (admins)."""
    verb, rest = first_word(text)
    if verb == "add" and rest.strip():
        reason = p.add_lost_reason(rest)
        return f"Added the loss reason {esc(reason.name)} (`{reason.key}`)."
    if verb in ("remove", "rm", "delete") and rest.strip():
        gone = p.remove_lost_reason(rest)
        return f"Removed the loss reason {esc(gone.name)}; deals lost for it keep it."
    raise InvalidInput(_list_refusal(text, "reason"), example=REASONS_EXAMPLE)


def _list_refusal(text: str, what: str) -> str:
    """Why a list change was not understood, quoting it; `/deal config` shows the lists."""
    start = f'"{text.strip()[:60]}" is not a change: say' if text.strip() else "Say"
    return f"{start} `add` or `remove`, then the {what}. `/deal config` shows the lists."
