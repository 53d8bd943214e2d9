"""Write the `pipebot/1` JSON document from a team's export records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pipeline.transfer.fields import day_text, deal_values, decimal_text, iso
from pipeline.transfer.plan import CSV_COLUMNS, FORMAT, DealExport, TeamRecord
from pipeline.transfer.planning_fields import planning_document

# The deal's own values before its history (CSV's columns up to the next step, then the lost
# reason), and after it: the order of `pipebot/1`.
_HEAD = (*CSV_COLUMNS[: CSV_COLUMNS.index("next_step")], "lost_reason", "lost_detail")
_TAIL = ("created_by", "source", "last_activity_at", "snoozed_until", "updated_at", "updated_by")


def deal_object(export: DealExport) -> dict[str, Any]:
    """One deal and its history, as the `deals` list of `pipebot/1` holds it."""
    values = deal_values(export.deal)
    step = values["next_step"]
    return {
        **{key: values[key] for key in _HEAD},
        "next_step": None if step is None else {"text": step, "due": values["next_step_due"]},
        "history": [{"stage": h.to_stage, "at": iso(h.at), "by": h.by} for h in export.history],
        "activities": [
            {"kind": a.kind, "text": a.text, "at": iso(a.at), "by": a.by, "link": a.link}
            for a in export.activities
        ],
        **{key: values[key] for key in _TAIL},
        "close_date_changes": [
            {"old": day_text(c.old_date), "new": day_text(c.new_date), "at": iso(c.at), "by": c.by}
            for c in export.close_date_changes
        ],
    }


def team_document(
    team: TeamRecord, deals: Iterable[DealExport], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The team's settings, stages, rates and every deal with its history, as `pipebot/1`.

    `extra` holds team-level keys kept apart from the team's row (its recorded forecasts);
    they come before `deals`, which stays last so that the document can be streamed.
    """
    return {
        "format": FORMAT,
        "team": team.id,
        "timezone": team.timezone,
        "currency": team.currency,
        "rates": {code: decimal_text(team.rates[code]) for code in sorted(team.rates)},
        "stages": [
            {"key": s.key, "name": s.name, "probability": s.probability, "stale_days": s.stale_days}
            for s in team.stages
        ],
        "admins": list(team.admins),
        "channel_id": team.channel_id,
        "next_number": team.next_number,
        "reminders": team.reminders,
        "reminder_mode": team.reminder_mode,
        "digest": team.digest,
        **planning_document(team.sources, team.lost_reasons, team.targets),
        **(extra or {}),
        "deals": [deal_object(d) for d in deals],
    }


def document_text(
    team: TeamRecord, deals: Iterable[DealExport], extra: Mapping[str, Any] | None = None
) -> Iterator[str]:
    """`team_document` as indented JSON text, one deal at a time (never the whole team at once).

    Joined, the pieces are exactly `json.dumps(team_document(...), indent=2,
    ensure_ascii=False)` and a final newline.
    """
    head = json.dumps(team_document(team, (), extra), indent=2, ensure_ascii=False)
    # `deals` is the document's last key: the text ends with its empty list.
    opening = head[: -len("[]\n}")]
    first = True
    for deal in deals:
        body = json.dumps(deal_object(deal), indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield (opening + "[\n    " if first else ",\n    ") + body
        first = False
    yield head + "\n" if first else "\n  ]\n}\n"
