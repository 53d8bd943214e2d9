"""The deal list's Previous / Next buttons: re-run the list and replace the ephemeral page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt.kwargs_injection import Args

from handlers.commands.deals import list_deals
from handlers.listeners import acting
from pipeline.errors import InvalidInput


def _replacing(respond: Any) -> Any:
    """A respond that replaces the page clicked rather than adding a new message."""
    if respond is None:
        return None

    def replace(**kwargs: Any) -> Any:
        return respond(**{**kwargs, "replace_original": True})

    return replace


def page(args: Args) -> None:
    """Show another page of the same list."""
    offset_text, _, query = str((args.action or {}).get("value") or "").partition("|")
    if not offset_text.isdigit():
        raise InvalidInput("That page button no longer works; run `/deal list` again.")
    req = acting(args)
    list_deals(replace(req, respond=_replacing(req.respond)), query, int(offset_text))
