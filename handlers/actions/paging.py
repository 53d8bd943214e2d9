"""The deal list's Previous / Next buttons: re-run the list and replace the ephemeral page."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from handlers.commands.deals import list_deals
from handlers.common import Request
from pipeline.errors import InvalidInput
from storage.unit_of_work import Pipe


def _replacing(respond: Any) -> Any:
    """A respond that replaces the page clicked rather than adding a new message."""
    if respond is None:
        return None

    def replace(**kwargs: Any) -> Any:
        return respond(**{**kwargs, "replace_original": True})

    return replace


def page(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Any,
    pipe: Pipe,
) -> None:
    """Show another page of the same list."""
    offset_text, _, query = str(action.get("value") or "").partition("|")
    if not offset_text.isdigit():
        raise InvalidInput("That page button no longer works; run `/deal list` again.")
    container = body.get("container") or {}
    req = Request(
        pipe=pipe,
        client=client,
        user_id=str(body["user"]["id"]),
        channel_id=container.get("channel_id"),
        respond=_replacing(respond),
        trigger_id=body.get("trigger_id"),
    )
    list_deals(req, query, int(offset_text))
