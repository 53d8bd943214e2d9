"""App Home: published when a user opens the Home tab, and after a click changes a deal there."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers.common import is_admin
from handlers.listeners import ack_now, guarded
from pipeline.metrics import compute
from pipeline.types import DealStatus
from storage.unit_of_work import Pipe
from views.home import build_home

# More open deals than this for one person is a list to page through, not a home.
MAX_MINE = 500


def publish_home(client: WebClient, pipe: Pipe, user_id: str) -> None:
    """Build the user's Home tab from the current pipeline and publish it."""
    with pipe.reports() as r:
        stages, today = r.team.stages, r.today
        mine = r.service.list_deals(owner_id=user_id, status=DealStatus.OPEN, limit=MAX_MINE + 1)
        metrics = compute(r.source, as_of=r.now)
        admin = is_admin(client, r.service, user_id)
    view = build_home(
        user_id=user_id,
        deals=mine[:MAX_MINE],
        stages=stages,
        metrics=metrics,
        today=today,
        truncated=len(mine) > MAX_MINE,
        admin=admin,
    )
    client.views_publish(user_id=user_id, view=view)


def app_home_opened(event: dict[str, Any], client: WebClient, pipe: Pipe) -> None:
    """Refresh the Home tab each time it is opened; the Messages tab is left alone."""
    if event.get("tab") != "home":
        return
    publish_home(client, pipe, event["user"])


def register(app: App) -> None:
    """Register the App Home listener."""
    app.event("app_home_opened")(ack=ack_now, lazy=[guarded(app_home_opened)])
