"""Slack views listeners: modal submissions."""

from __future__ import annotations

from slack_bolt import App

from handlers.views import submissions
from views.ids import Callback


def register(app: App) -> None:
    """Register the views listeners."""
    # The first part answers the modal (inline); the second shows the result after the ack.
    app.view(Callback.CREATE)(ack=submissions.create_submitted, lazy=[submissions.create_shown])
    changed = [submissions.change_shown]
    app.view(Callback.EDIT)(ack=submissions.edit_submitted, lazy=changed)
    app.view(Callback.LOST)(ack=submissions.lost_submitted, lazy=changed)
    app.view(Callback.LOG)(ack=submissions.log_submitted, lazy=changed)
    app.view(Callback.SNOOZE)(ack=submissions.snooze_submitted, lazy=changed)
    app.view(Callback.LOG_TO_DEAL_SUBMIT)(
        ack=submissions.log_to_deal_submitted, lazy=[submissions.log_to_deal_shown]
    )
