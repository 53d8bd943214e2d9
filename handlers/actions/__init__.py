"""Slack actions listeners: deal card buttons and list paging."""

from __future__ import annotations

import re

from slack_bolt import App

from handlers.actions import cards, paging, targets
from handlers.listeners import ack_now, guarded
from views.ids import Action

# The deal list's Previous and Next buttons.
PAGE_BUTTONS = re.compile(rf"^{Action.PAGE}:(prev|next)$")


def register(app: App) -> None:
    """Register the actions listeners."""
    app.action(Action.ADVANCE)(ack=ack_now, lazy=[guarded(cards.advance)])
    app.action(Action.WON)(ack=ack_now, lazy=[guarded(cards.won)])
    app.action(Action.LOST)(ack=ack_now, lazy=[guarded(cards.lost)])
    app.action(Action.EDIT)(ack=ack_now, lazy=[guarded(cards.edit)])
    app.action(Action.LOG)(ack=ack_now, lazy=[guarded(cards.log)])
    app.action(Action.SNOOZE)(ack=ack_now, lazy=[guarded(cards.snooze)])
    app.action(Action.OVERFLOW)(ack=ack_now, lazy=[guarded(cards.overflow)])
    app.action(Action.PUSH_CLOSE)(ack=ack_now, lazy=[guarded(cards.push_close)])
    app.action(Action.PUSH_CLOSE_PICK)(ack=ack_now, lazy=[guarded(cards.push_close_pick)])
    app.action(Action.DELETE_DUPLICATE)(ack=ack_now, lazy=[guarded(cards.delete_duplicate)])
    app.action(PAGE_BUTTONS)(ack=ack_now, lazy=[guarded(paging.page)])
    app.action(Action.SET_TARGET)(ack=ack_now, lazy=[guarded(targets.set_target)])
