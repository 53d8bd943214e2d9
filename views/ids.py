"""Action, callback and block ids: pipebot's public interface to Slack workflows and tests."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """Interactive elements' action ids."""

    ADVANCE = "deal_advance"
    WON = "deal_won"
    LOST = "deal_lost"
    EDIT = "deal_edit"
    LOG = "deal_log"
    SNOOZE = "deal_snooze"
    OVERFLOW = "deal_overflow"
    PUSH_CLOSE = "deal_push_close"
    PUSH_CLOSE_PICK = "deal_push_close_pick"
    PAGE = "deal_list_page"
    LOG_PICK = "log_to_deal_pick"
    DELETE_DUPLICATE = "deal_delete_duplicate"
    SET_TARGET = "home_set_target"


class Overflow(StrEnum):
    """The choices behind a card's overflow menu (the value's verb)."""

    REOPEN = "reopen"
    SNOOZE_WEEK = "snooze_week"
    PUSH_WEEK = "push_week"
    DELETE = "delete"
    SHOW = "show"


class Callback(StrEnum):
    """Modal and shortcut callback ids."""

    CREATE = "deal_create"
    EDIT = "deal_edit"
    LOST = "deal_lost"
    LOG = "deal_log"
    SNOOZE = "deal_snooze"
    FROM_MESSAGE = "deal_from_message"
    LOG_TO_DEAL = "log_to_deal"
    LOG_TO_DEAL_SUBMIT = "log_to_deal_submit"
    DELETE = "deal_delete"
    TARGET = "team_target"


class Block(StrEnum):
    """Block ids of modal inputs; validation errors are keyed by them."""

    NAME = "name"
    AMOUNT = "amount"
    CURRENCY = "currency"
    STAGE = "stage"
    OWNER = "owner"
    CLOSE_DATE = "close_date"
    NEXT_STEP = "next_step"
    NEXT_DUE = "next_due"
    SOURCE = "source"
    REASON = "reason"
    LOST_DETAIL = "lost_detail"
    PERIOD = "period"
    KIND = "kind"
    TEXT = "text"
    DEAL = "deal"
    UNTIL = "until"
    ACTIONS = "deal_actions"


class Input(StrEnum):
    """Action ids of modal input elements (one per input block)."""

    VALUE = "value"
