"""Slack actions listeners: deal card buttons and list paging."""

from __future__ import annotations

import re

from slack_bolt import App

from handlers.actions import cards, paging
from views.ids import Action


def register(app: App) -> None:
    """Register the actions listeners."""
    app.action(Action.ADVANCE)(cards.advance)
    app.action(Action.WON)(cards.won)
    app.action(Action.LOST)(cards.lost)
    app.action(Action.EDIT)(cards.edit)
    app.action(Action.LOG)(cards.log)
    app.action(Action.SNOOZE)(cards.snooze)
    app.action(Action.OVERFLOW)(cards.overflow)
    app.action(Action.PUSH_CLOSE)(cards.push_close)
    app.action(Action.PUSH_CLOSE_PICK)(cards.push_close_pick)
    app.action(re.compile(rf"^{Action.PAGE}:(prev|next)$"))(paging.page)
