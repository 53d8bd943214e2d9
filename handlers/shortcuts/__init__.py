"""Slack shortcuts listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers.listeners import ack_now, guarded
from handlers.shortcuts import messages
from views.ids import Callback


def register(app: App) -> None:
    """Register the shortcuts listeners."""
    app.shortcut(Callback.FROM_MESSAGE)(ack=ack_now, lazy=[guarded(messages.deal_from_message)])
    app.shortcut(Callback.LOG_TO_DEAL)(ack=ack_now, lazy=[guarded(messages.log_to_deal)])
