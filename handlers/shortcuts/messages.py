"""Message shortcuts: make a deal from a message, or log a message on a deal."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from handlers.common import Request
from handlers.views.modals import log_to_deal_choices, open_create_modal, open_log_to_deal_modal
from pipeline.errors import AlreadyApplied
from pipeline.service import PipelineService
from storage.unit_of_work import Pipe
from views.modals import MessageRef, message_text, prefill_from_message


def _request(shortcut: dict[str, Any], client: WebClient, pipe: Pipe) -> Request:
    return Request(
        pipe=pipe,
        client=client,
        user_id=str(shortcut["user"]["id"]),
        channel_id=(shortcut.get("channel") or {}).get("id"),
        respond=None,
        trigger_id=shortcut.get("trigger_id"),
    )


def _source(shortcut: dict[str, Any]) -> MessageRef:
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id") or ""
    return MessageRef(str(channel), str(message.get("ts") or shortcut.get("message_ts") or ""))


def _first_delivery(shortcut: dict[str, Any], p: PipelineService) -> bool:
    """Claim this shortcut run: a redelivery must not reuse its spent trigger_id."""
    user_id = str(shortcut["user"]["id"])
    key = f"shortcut:{shortcut.get('action_ts')}:{user_id}:{shortcut.get('callback_id')}"
    try:
        p.claim(key)
    except AlreadyApplied:
        return False
    return True


def deal_from_message(shortcut: dict[str, Any], client: WebClient, pipe: Pipe) -> None:
    """Open New deal prefilled from the message: first line, amount, close date."""
    # One transaction claims the run and reads what the modal shows.
    with pipe.write() as p:
        if not _first_delivery(shortcut, p):
            return
        team, today = p.team_out(), p.today()
    text = str((shortcut.get("message") or {}).get("text") or "")
    source = _source(shortcut)
    prefill = prefill_from_message(text, currency=team.currency, today=today, source=source)
    open_create_modal(_request(shortcut, client, pipe), prefill, team)


def log_to_deal(shortcut: dict[str, Any], client: WebClient, pipe: Pipe) -> None:
    """Ask which deal to log the message on."""
    with pipe.write() as p:
        if not _first_delivery(shortcut, p):
            return
        deals = log_to_deal_choices(p)
    text = message_text(str((shortcut.get("message") or {}).get("text") or ""))
    open_log_to_deal_modal(_request(shortcut, client, pipe), text, _source(shortcut), deals)
