"""Modal submissions: write before the ack so errors land on the right input, then show it.

Each form has two listeners: `*_submitted` runs inline (validate, write in one transaction,
answer the modal) and leaves what it wrote in the context; `*_shown` runs after the ack and
makes the Slack calls that show it (cards, thread notes, links).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from slack_bolt import Ack, BoltContext
from slack_bolt.kwargs_injection import Args
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.common import CardContext, card_context, require_owner_or_admin
from handlers.surfaces import after_change, post_new_card, show_card, tell_user
from handlers.views.forms import (
    Fields,
    FormErrors,
    blame,
    plain_errors,
    read_deal,
    read_fields,
    required,
    view_key,
)
from pipeline.errors import AlreadyApplied, InvalidInput
from pipeline.planning import LostReason
from pipeline.schemas import DealOut
from pipeline.service import PipelineService
from pipeline.types import ActivityKind
from storage.unit_of_work import Pipe
from views.cards import lost_text
from views.common import esc
from views.duplicates import build_duplicate_warning, duplicate_text
from views.ids import Block
from views.modals import MessageRef, ModalMeta

logger = logging.getLogger("pipebot")

# What a one-question form asks for: a reason, a date.
Answer = TypeVar("Answer", str, date)
_Answer = TypeVar("_Answer", str, date, contravariant=True)

FROM_MESSAGE_NOTE = "Created from a Slack message"

# The context key under which a submission's ack hands what it wrote to the work after it.
SUBMITTED = "pipebot_submitted"
TWINS = "pipebot_twins"
# ... and, for "Log to a deal", the checked fields (its write needs a Web API call first).
LOG_TO_DEAL = "pipebot_log_to_deal"


@dataclass(frozen=True)
class Submitted:
    """What a form's write did, for the listener that shows it after the ack."""

    deal: DealOut
    shown: CardContext
    note: str | None = None


def submitted(context: BoltContext) -> Submitted | None:
    """What the ack part wrote; None when it wrote nothing (errors shown, or a replay)."""
    done = context.get(SUBMITTED)
    return done if isinstance(done, Submitted) else None


def _user(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _deal_ref(meta: ModalMeta, block: Block) -> tuple[int, int]:
    if meta.number is None or meta.version is None:
        raise FormErrors({block: "This form lost track of its deal; close it and retry."})
    return meta.number, meta.version


def _form(args: Args) -> tuple[dict[str, Any], ModalMeta, str]:
    """The submitted view, what our modal keeps in it, and who submitted it."""
    view = args.view or {}
    return view, ModalMeta.decode(view.get("private_metadata")), _user(args.body)


class _Answering(Protocol[_Answer]):
    """A service write that takes a deal and one answer: `PipelineService.lose`, `.snooze`."""

    def __call__(
        self,
        p: PipelineService,
        ref: str | int,
        answer: _Answer,
        /,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> DealOut: ...


def _answered(
    args: Args,
    question: tuple[Block, Callable[[Fields], Answer | None], str],
    act: _Answering[Answer],
    note: Callable[[DealOut], str | None] = lambda deal: None,
) -> None:
    """Submit a one-question deal form: `question` is its input, answer and refusal text."""
    view, meta, user_id = _form(args)
    block, answer, missing = question

    def write(p: PipelineService) -> DealOut:
        number, version = _deal_ref(meta, block)
        value = answer(read_fields(view))
        required(value, block, missing)
        assert value is not None
        p.claim(view_key(view))
        with blame(block):
            return act(p, number, value, actor=user_id, expected_version=version)

    _submit(args, write, note)


def _submit(
    args: Args,
    write: Callable[[PipelineService], DealOut],
    note: Callable[[DealOut], str | None] = lambda deal: None,
) -> None:
    """Run `write` in one transaction and ack: errors into the modal, a replay silently.

    What it wrote, and the thread note to show with it, go to the context for after the ack.
    """
    ack = args.ack
    try:
        with args.context["pipe"].write() as p:
            deal = write(p)
            shown = card_context(p)
    except AlreadyApplied:
        ack()  # a resubmission of a form already applied: just close it
        return
    except FormErrors as exc:
        ack(response_action="errors", errors=plain_errors(args.client, exc.errors))
        return
    ack()
    args.context[SUBMITTED] = Submitted(deal, shown, note(deal))


def _permalink(client: WebClient, source: MessageRef | None) -> str | None:
    if source is None:
        return None
    try:
        return str(
            client.chat_getPermalink(channel=source.channel, message_ts=source.ts)["permalink"]
        )
    except SlackApiError:
        logger.warning("no permalink for %s/%s", source.channel, source.ts, exc_info=True)
        return None


def create_submitted(args: Args) -> None:
    """New deal: create it."""
    view, _, user_id = _form(args)
    key = view_key(view)

    def write(p: PipelineService) -> DealOut:
        fields = read_fields(view)
        form = read_deal(fields, default_currency=p.team.currency, today=p.today())
        with blame(Block.STAGE):
            stage = p.resolve_stage(form.stage).key if form.stage else None
        # Bolt deep-copies the context for the work after the ack: the look-alikes go along.
        args.context[TWINS] = p.open_deals_named_like(form.name)
        with blame(Block.NAME):
            return p.create(
                form.name,
                actor=user_id,
                amount=form.amount,
                stage=stage,
                owner_id=form.owner,
                close_date=form.close_date,
                next_step=form.next_step,
                source=form.source,
                idempotency_key=key,
            )

    _submit(args, write)


def create_shown(
    body: dict[str, Any], view: dict[str, Any], client: WebClient, pipe: Pipe, context: BoltContext
) -> None:
    """Post the new deal's card (and note the source message's link)."""
    done = submitted(context)
    if done is None:
        return
    meta, user_id, deal = ModalMeta.decode(view.get("private_metadata")), _user(body), done.deal
    link = _permalink(client, meta.source)
    if link is not None:
        try:
            with pipe.write() as p:
                deal = p.log_activity(
                    deal.number,
                    ActivityKind.NOTE,
                    FROM_MESSAGE_NOTE,
                    actor=user_id,
                    link=link,
                    idempotency_key=view_key(view, ":link"),
                )
        except AlreadyApplied:
            pass
    post_new_card(client, user_id, meta.channel, deal, done.shown)
    twins: list[DealOut] = context.get(TWINS) or []
    if twins:
        tell_user(
            client,
            user_id,
            meta.channel,
            duplicate_text(deal, twins),
            build_duplicate_warning(deal, twins),
        )


def edit_submitted(args: Args) -> None:
    """Edit: every change in one transaction, refused whole when the deal changed meanwhile."""
    view, meta, user_id = _form(args)
    moved: list[str] = []

    def write(p: PipelineService) -> DealOut:
        number, version = _deal_ref(meta, Block.NAME)
        p.claim(view_key(view))
        with blame(Block.NAME):
            current = p.expect(number, version)
        form = read_deal(
            read_fields(view), default_currency=p.team.currency, today=p.today(), kept=current
        )
        with blame(Block.NAME):
            deal = p.edit(
                number,
                actor=user_id,
                expected_version=version,
                name=form.name,
                amount=form.amount,
                close_date=form.close_date,
                source=form.source,
            )
        if form.stage and form.stage != deal.stage:
            with blame(Block.STAGE):
                deal = p.move(number, form.stage, actor=user_id)
            moved.append(p.resolve_stage(deal.stage).name)
        if form.owner and form.owner != deal.owner_id:
            with blame(Block.OWNER):
                require_owner_or_admin(args.client, p, deal, user_id, "give it to someone else")
                deal = p.assign(number, form.owner, actor=user_id)
        step_now = (deal.next_step_text, deal.next_step_due)
        step_new = (form.next_step.text, form.next_step.due) if form.next_step else (None, None)
        if step_new != step_now:
            with blame(Block.NEXT_STEP):
                deal = p.set_next_step(number, form.next_step, actor=user_id)
        return deal

    def note(deal: DealOut) -> str | None:
        return f"<@{user_id}> moved #{deal.number} to {moved[0]}" if moved else None

    _submit(args, write, note)


def lost_submitted(args: Args) -> None:
    """Lost: close the deal with the reason given."""
    user_id = _user(args.body)

    view, meta, _ = _form(args)
    reasons: list[LostReason] = []

    def write(p: PipelineService) -> DealOut:
        number, version = _deal_ref(meta, Block.REASON)
        fields = read_fields(view)
        required(fields.reason, Block.REASON, "Pick why the deal was lost.")
        p.claim(view_key(view))
        reasons.extend(p.team.lost_reasons)
        with blame(Block.REASON):
            return p.lose(
                number,
                fields.reason or "",
                detail=fields.lost_detail or "",
                actor=user_id,
                expected_version=version,
            )

    def note(deal: DealOut) -> str:
        return f"<@{user_id}> marked #{deal.number} lost: {lost_text(deal, reasons)}"

    _submit(args, write, note)


def delete_submitted(args: Args) -> None:
    """Delete, confirmed in its modal: owner or admin only, refused when the deal changed."""
    view, meta, user_id = _form(args)

    def write(p: PipelineService) -> DealOut:
        if meta.number is None or meta.version is None:
            raise InvalidInput("This form lost track of its deal; use `/deal delete #12`.")
        p.claim(view_key(view))
        require_owner_or_admin(args.client, p, p.find(f"#{meta.number}"), user_id, "delete it")
        return p.delete(meta.number, actor=user_id, expected_version=meta.version)

    _submit(args, write)


def deleted_shown(args: Args) -> None:
    """Show the deleted deal's card as deleted, where the menu was used."""
    done = submitted(args.context)
    if done is None:
        return
    meta = ModalMeta.decode((args.view or {}).get("private_metadata"))
    show_card(
        args.client,
        args.context["pipe"],
        _user(args.body),
        meta.card,
        done.deal.number,
        None,
        done.shown,
        deleted_name=done.deal.name,
    )


def log_submitted(args: Args) -> None:
    """Log activity on a card's deal."""
    view, meta, user_id = _form(args)

    def write(p: PipelineService) -> DealOut:
        if meta.number is None:
            raise FormErrors({Block.TEXT: "This form lost track of its deal; close it and retry."})
        fields = read_fields(view)
        required(fields.kind, Block.KIND, "Choose what kind of activity it was.")
        required(fields.text, Block.TEXT, "Say what happened.")
        with blame(Block.TEXT):
            return p.log_activity(
                meta.number,
                fields.kind or "",
                fields.text or "",
                actor=user_id,
                idempotency_key=view_key(view),
            )

    _submit(args, write)


def snooze_submitted(args: Args) -> None:
    """Snooze until the chosen date."""
    until = (Block.UNTIL, lambda fields: fields.until, "Pick the date the snooze ends.")
    _answered(args, until, PipelineService.snooze)


def change_shown(
    body: dict[str, Any], view: dict[str, Any], client: WebClient, pipe: Pipe, context: BoltContext
) -> None:
    """Refresh the card a form changed, with its thread note (edit, lost, log, snooze)."""
    done = submitted(context)
    if done is not None:
        meta = ModalMeta.decode(view.get("private_metadata"))
        after_change(client, pipe, _user(body), meta, done.deal, done.note, done.shown)


def log_to_deal_submitted(
    ack: Ack, view: dict[str, Any], client: WebClient, pipe: Pipe, context: BoltContext
) -> None:
    """Check the chosen deal and the activity; the write waits for the message's link."""
    try:
        fields = read_fields(view)
        required(fields.deal, Block.DEAL, "Choose a deal.")
        required(fields.kind, Block.KIND, "Choose what kind of activity it was.")
        required(fields.text, Block.TEXT, "Say what to log.")
        with pipe.read() as p, blame(Block.DEAL):
            p.find(f"#{fields.deal}")
    except FormErrors as exc:
        ack(response_action="errors", errors=plain_errors(client, exc.errors))
        return
    ack()
    context[LOG_TO_DEAL] = fields


def log_to_deal_shown(
    body: dict[str, Any], view: dict[str, Any], client: WebClient, pipe: Pipe, context: BoltContext
) -> None:
    """Log the message on the chosen deal, with the message's link."""
    fields = context.get(LOG_TO_DEAL)
    if not isinstance(fields, Fields):
        return
    meta, user_id = ModalMeta.decode(view.get("private_metadata")), _user(body)
    # The permalink is a Web API call: after the ack, so the 3 s are never at risk.
    link = _permalink(client, meta.source)
    try:
        with pipe.write() as p:
            deal = p.log_activity(
                int(fields.deal or 0),
                fields.kind or "",
                fields.text or "",
                actor=user_id,
                link=link,
                idempotency_key=view_key(view),
            )
    except AlreadyApplied:
        return
    kind = fields.kind or "note"
    tell_user(
        client,
        user_id,
        meta.channel,
        f":memo: Logged the message as a {kind} on #{deal.number} {esc(deal.name)}.",
    )
