"""Slack listeners, one package per kind; each exposes `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, events, shortcuts, views


def register_all(app: App) -> None:
    """Register every listener on the app."""
    commands.register(app)
    actions.register(app)
    views.register(app)
    shortcuts.register(app)
    events.register(app)
