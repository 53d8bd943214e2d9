"""Slack views listeners: modal submissions."""

from __future__ import annotations

from slack_bolt import App

from bot.ids import Callback
from handlers.views import submissions


def register(app: App) -> None:
    """Register the views listeners."""
    app.view(Callback.CREATE)(submissions.create_submitted)
    app.view(Callback.EDIT)(submissions.edit_submitted)
    app.view(Callback.LOST)(submissions.lost_submitted)
    app.view(Callback.LOG)(submissions.log_submitted)
    app.view(Callback.SNOOZE)(submissions.snooze_submitted)
    app.view(Callback.LOG_TO_DEAL_SUBMIT)(submissions.log_to_deal_submitted)
