"""Slack events listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers.events import home


def register(app: App) -> None:
    """Register the events listeners."""
    home.register(app)
