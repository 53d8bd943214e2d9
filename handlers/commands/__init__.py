"""The /deal command: ack at once, then dispatch on the first word."""

from __future__ import annotations

import html
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from handlers.commands import admin, deals, digest, reports
from handlers.commands.deals import Verb
from handlers.commands.grammar import chosen, first_word
from handlers.common import Request
from handlers.listeners import ack_now, guarded
from storage.unit_of_work import Pipe
from views.help import HELP_TEXT, build_help

VERBS: dict[str, Verb] = {**deals.VERBS, **reports.VERBS, **admin.VERBS, **digest.VERBS}


def deal_command(command: dict[str, Any], client: WebClient, respond: Respond, pipe: Pipe) -> None:
    """Handle `/deal <verb> ...`; every answer comes after the ack."""
    # Slack escapes &, < and > in what people type; mentions and links keep real brackets.
    verb, rest = first_word(html.unescape(command.get("text") or ""))
    request = Request(
        pipe=pipe,
        client=client,
        user_id=command["user_id"],
        channel_id=command.get("channel_id"),
        respond=respond,
        trigger_id=command.get("trigger_id"),
    )
    if verb in ("", "help", "?"):
        request.say_ephemeral(HELP_TEXT, build_help())
        return
    refusal = f"`{verb}` is not a /deal command. Try `/deal help` for the list."
    handler = chosen(VERBS, verb, refusal, "/deal add Acme Corp 50k proposal")
    handler(request, rest)


def register(app: App) -> None:
    """Register /deal."""
    app.command("/deal")(ack=ack_now, lazy=[guarded(deal_command)])
