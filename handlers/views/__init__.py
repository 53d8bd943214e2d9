"""Slack views listeners: modal submissions."""

from __future__ import annotations

from slack_bolt import App

from handlers.listeners import guarded
from handlers.views import submissions, targets
from views.ids import Callback


def register(app: App) -> None:
    """Register the views listeners."""
    # The `ack=` part writes and answers the modal; the `lazy=` part shows the result after.
    app.view(Callback.CREATE)(
        ack=guarded(submissions.create_submitted), lazy=[guarded(submissions.create_shown)]
    )
    changed = [guarded(submissions.change_shown)]
    app.view(Callback.EDIT)(ack=guarded(submissions.edit_submitted), lazy=changed)
    app.view(Callback.LOST)(ack=guarded(submissions.lost_submitted), lazy=changed)
    app.view(Callback.LOG)(ack=guarded(submissions.log_submitted), lazy=changed)
    app.view(Callback.SNOOZE)(ack=guarded(submissions.snooze_submitted), lazy=changed)
    app.view(Callback.DELETE)(
        ack=guarded(submissions.delete_submitted), lazy=[guarded(submissions.deleted_shown)]
    )
    app.view(Callback.TARGET)(
        ack=guarded(targets.target_submitted), lazy=[guarded(targets.target_shown)]
    )
    app.view(Callback.LOG_TO_DEAL_SUBMIT)(
        ack=guarded(submissions.log_to_deal_submitted),
        lazy=[guarded(submissions.log_to_deal_shown)],
    )
