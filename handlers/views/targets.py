"""The target form's submission: set a team or rep target, then refresh the admin's Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_bolt.kwargs_injection import Args
from slack_sdk import WebClient

from handlers.common import require_admin
from handlers.events.home import publish_home
from handlers.views.forms import FormErrors, blame, plain_errors, read_fields
from pipeline.money import parse_amount
from storage.unit_of_work import Pipe
from views.ids import Block

SAVED = "pipebot_target_saved"


def target_submitted(args: Args) -> None:
    """Check and save the target; errors go on the form's fields."""
    view = args.view or {}
    user_id = str(args.body["user"]["id"])
    try:
        with args.context["pipe"].write() as p:
            fields = read_fields(view)
            currency = p.team.currency
            with blame(Block.AMOUNT):
                require_admin(args.client, p, user_id, "set targets")
                money = parse_amount(fields.amount or "", currency)
            if money.currency != currency:
                shown = f'"{fields.amount}" is in {money.currency}; targets are in {currency}.'
                raise FormErrors({Block.AMOUNT: shown})
            with blame(Block.PERIOD):
                p.set_target(fields.owner, fields.period or "", money.amount)
    except FormErrors as exc:
        args.ack(response_action="errors", errors=plain_errors(args.client, exc.errors))
        return
    args.ack()
    args.context[SAVED] = True


def target_shown(body: dict[str, Any], client: WebClient, pipe: Pipe, context: BoltContext) -> None:
    """Show the new target on the admin's Home."""
    if context.get(SAVED):
        publish_home(client, pipe, str(body["user"]["id"]))
