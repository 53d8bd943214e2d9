"""Slack shortcuts listeners."""

from __future__ import annotations

from slack_bolt import App

from bot.ids import Callback
from handlers.shortcuts import messages


def register(app: App) -> None:
    """Register the shortcuts listeners."""
    app.shortcut(Callback.FROM_MESSAGE)(messages.deal_from_message)
    app.shortcut(Callback.LOG_TO_DEAL)(messages.log_to_deal)
