"""The App Home's "Set a target" button: the target form, for pipeline admins."""

from __future__ import annotations

from slack_bolt.kwargs_injection import Args

from handlers.common import require_admin
from handlers.listeners import acting
from views.planning_modals import build_target_modal


def set_target(args: Args) -> None:
    """Open the target form (admins only)."""
    req = acting(args)
    with req.pipe.read() as p:
        require_admin(req.client, p, req.user_id, "set targets")
        team = p.team_out()
    if req.trigger_id:
        req.client.views_open(
            trigger_id=req.trigger_id, view=build_target_modal(team.currency, team.targets)
        )
