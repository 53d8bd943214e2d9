"""/deal subcommands that work on deals: add, list, show, move, won, lost, log, next, ..."""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers.commands.add_line import parse_add_line
from handlers.commands.grammar import mention_of, split_next, take_ref
from handlers.common import CardContext, Request, card_context, require_owner_or_admin
from handlers.messaging import post_card
from handlers.views.modals import open_create_modal, open_edit_modal, open_lost_modal
from pipeline.dates import check_planned, parse_date, spell_day
from pipeline.errors import InvalidInput
from pipeline.planning import OTHER, reason_name, split_reason
from pipeline.schemas import DealOut
from pipeline.service import NextStep
from pipeline.types import ActivityKind, DealStatus
from views.cards import build_deal_card, card_text, lost_text
from views.common import esc
from views.duplicates import build_duplicate_warning, duplicate_text
from views.history import build_history
from views.lists import PAGE_SIZE, build_deal_list

Verb = Callable[[Request, str], None]


def _need_ref(ref: str, example: str) -> str:
    if not ref:
        raise InvalidInput("Which deal? Give its number or the start of its name.", example=example)
    return ref


def _post_or_show(req: Request, deal: DealOut, shown: CardContext) -> None:
    stages, today = shown.stages, shown.today
    if req.channel_id and not req.channel_id.startswith("D"):
        post_card(req.client, req.channel_id, deal, stages, today=today)
    else:
        req.say_ephemeral(card_text(deal, stages), build_deal_card(deal, stages, today=today))


CLOSE_EXAMPLE = "add Acme Corp 50k close:next friday"
NEXT_EXAMPLE = "next #12 send the proposal by friday"


def add(req: Request, text: str) -> None:
    """`add <name> [amount] [stage] [close:<date>] [@owner] [next:<text> by <date>]`."""
    if not text.strip():
        open_create_modal(req)
        return
    with req.pipe.write() as p:
        shown = card_context(p)
        line = parse_add_line(
            text, stages=shown.stages, currency=p.team.currency, today=shown.today
        )
        close = (
            check_planned(line.close, today=shown.today, what="close date", example=CLOSE_EXAMPLE)
            if line.close
            else None
        )
        step = None
        if line.next_text and line.next_due:
            due = check_planned(
                line.next_due, today=shown.today, what="next step", example=NEXT_EXAMPLE
            )
            step = NextStep(line.next_text, due)
        twins = p.open_deals_named_like(line.name)
        deal = p.create(
            line.name,
            actor=req.user_id,
            amount=line.amount,
            stage=line.stage,
            owner_id=line.owner,
            close_date=close,
            next_step=step,
            source=line.source,
            idempotency_key=f"add:{req.trigger_id}" if req.trigger_id else None,
        )
    _post_or_show(req, deal, shown)
    if twins:
        req.say_ephemeral(duplicate_text(deal, twins), build_duplicate_warning(deal, twins))


def edit(req: Request, text: str) -> None:
    """`edit <ref>`: the edit form for a deal."""
    ref = _need_ref(text.strip(), "edit #12")
    with req.pipe.read() as p:
        deal, team = p.find(ref), p.team_out()
    open_edit_modal(req, deal, None, team)


LIST_WORDS = {"mine", "stale", "all", "open", "won", "lost"}


def list_deals(req: Request, text: str, offset: int = 0) -> None:
    """`list [mine|@user|<stage>|stale|won|lost|all]`: one ephemeral page of cards."""
    query = text.strip()
    word = query.lower()
    with req.pipe.read() as p:
        stages, today = p.stages(), p.today()
        owner = mention_of(query) or (req.user_id if word == "mine" else None)
        status: DealStatus | None = DealStatus.OPEN
        stage = None
        title, whose = "Open deals", None
        if word in ("won", "lost"):
            status, title = DealStatus(word), f"{word.capitalize()} deals"
        elif word == "all":
            status, title = None, "All deals"
        elif word == "stale":
            title = "Stale deals"
        elif owner:
            title, whose = "Open deals of", owner
        elif word and word != "open":
            stage_out = p.resolve_stage(query)
            stage, title = stage_out.key, f"Open deals in {stage_out.name}"
        if word == "stale":
            page = p.stale_deals(limit=PAGE_SIZE + 1, offset=offset)
        else:
            page = p.list_deals(
                owner_id=owner, stage=stage, status=status, limit=PAGE_SIZE + 1, offset=offset
            )
    blocks = build_deal_list(
        page[:PAGE_SIZE],
        stages,
        today=today,
        title=title,
        query=query,
        offset=offset,
        has_more=len(page) > PAGE_SIZE,
        owner_id=whose,
    )
    mention = f" <@{whose}>" if whose else ""
    req.say_ephemeral(f"{title}{mention}: {len(page[:PAGE_SIZE])} shown", blocks)


def show(req: Request, text: str) -> None:
    """`show <ref>`: the card and its history, to the asker only."""
    ref = _need_ref(text.strip(), "show #12")
    with req.pipe.read() as p:
        detail = p.detail(ref)
        stages, today = p.stages(), p.today()
    blocks = build_deal_card(detail, stages, today=today) + build_history(detail, stages)
    req.say_ephemeral(card_text(detail, stages), blocks)


def _split_last_words(text: str, example: str) -> tuple[str, str]:
    ref, rest = take_ref(text)
    if not ref or not rest:
        raise InvalidInput("Give the deal, then the stage.", example=example)
    return ref, rest


def move(req: Request, text: str) -> None:
    """`move <ref> <stage>`."""
    ref, stage = _split_last_words(text, "move #12 negotiation")
    with req.pipe.write() as p:
        deal = p.move(ref, stage, actor=req.user_id)
        shown = card_context(p)
    _announce(req, deal, f"moved #{deal.number} to {_stage_name(shown, deal)}", shown)


def won(req: Request, text: str) -> None:
    """`won <ref>`."""
    ref = _need_ref(text.strip(), "won #12")
    with req.pipe.write() as p:
        deal = p.win(ref, actor=req.user_id)
        shown = card_context(p)
    _announce(req, deal, f"marked #{deal.number} won :tada:", shown)


def lost(req: Request, text: str) -> None:
    """`lost <ref> [reason]`; without a reason a modal asks for one."""
    ref, reason = take_ref(text)
    ref = _need_ref(ref, "lost #12 went with a competitor")
    if not reason:
        with req.pipe.read() as p:
            deal, reasons = p.find(ref), p.team.lost_reasons
        open_lost_modal(req, deal, None, reasons)
        return
    with req.pipe.write() as p:
        deal = p.lose(ref, reason, actor=req.user_id)
        shown, reasons = card_context(p), p.team.lost_reasons
    _announce(req, deal, f"marked #{deal.number} lost: {lost_text(deal, reasons)}", shown)
    if split_reason(reason, reasons)[0] is None:
        listed = ", ".join(f"`{r.key}`" for r in reasons)
        req.say_ephemeral(
            f"Filed under {esc(reason_name(OTHER, reasons))}: the text names none of the loss "
            f"reasons ({listed}). Start with one to file it there: "
            f"`/deal lost #{deal.number} price went with a cheaper vendor`."
        )


def reopen(req: Request, text: str) -> None:
    """`reopen <ref> [stage]`."""
    ref, stage = take_ref(text)
    ref = _need_ref(ref, "reopen #12")
    with req.pipe.write() as p:
        deal = p.reopen(ref, actor=req.user_id, stage=stage or None)
        shown = card_context(p)
    _announce(req, deal, f"reopened #{deal.number} in {_stage_name(shown, deal)}", shown)


KINDS = {k.value for k in ActivityKind}


def log(req: Request, text: str) -> None:
    """`log <ref> <call|email|meeting|note> <text>`."""
    example = "log #12 call Spoke with their CFO"
    words = text.split()
    index = next((i for i, w in enumerate(words) if w.lower() in KINDS and i > 0), None)
    if index is None:
        raise InvalidInput(
            "Say what kind of activity it was: call, email, meeting or note.", example=example
        )
    ref, kind, body = " ".join(words[:index]), words[index], " ".join(words[index + 1 :])
    with req.pipe.write() as p:
        deal = p.log_activity(ref, kind, body, actor=req.user_id)
    req.say_ephemeral(f":memo: Logged a {kind.lower()} on #{deal.number} {deal.name}.")


def next_step(req: Request, text: str) -> None:
    """`next <ref> <text> by <date>`."""
    ref, rest = take_ref(text)
    ref = _need_ref(ref, "next #12 send the proposal by friday")
    step_text, due_text = split_next(rest)
    with req.pipe.write() as p:
        today = p.today()
        due = check_planned(
            parse_date(due_text, today=today), today=today, what="next step", example=NEXT_EXAMPLE
        )
        deal = p.set_next_step(ref, NextStep(step_text, due), actor=req.user_id)
    req.say_ephemeral(
        f":white_check_mark: Next step on #{deal.number}: {esc(step_text)} "
        f"(by {spell_day(due, today=today)})."
    )


def assign(req: Request, text: str) -> None:
    """`assign <ref> @user`: owner or admin only, unless it is your own deal."""
    owner = mention_of(text)
    ref = re.sub(r"<@[^>]+>", "", text).strip()
    if not owner or not ref:
        raise InvalidInput("Give the deal, then mention the new owner.", example="assign #12 @bob")
    with req.pipe.write() as p:
        current = p.find(ref)
        require_owner_or_admin(req.client, p, current, req.user_id, "reassign it")
        deal = p.assign(ref, owner, actor=req.user_id)
    req.say_ephemeral(f":bust_in_silhouette: #{deal.number} {deal.name} now belongs to <@{owner}>.")


def delete(req: Request, text: str) -> None:
    """`delete <ref>`: owner or admin only."""
    ref = _need_ref(text.strip(), "delete #12")
    with req.pipe.write() as p:
        current = p.find(ref)
        require_owner_or_admin(req.client, p, current, req.user_id, "delete it")
        deal = p.delete(ref, actor=req.user_id)
    req.say_ephemeral(f":wastebasket: Deleted #{deal.number} {deal.name} and its history.")


def _stage_name(shown: CardContext, deal: DealOut) -> str:
    return next((s.name for s in shown.stages if s.key == deal.stage), deal.stage)


def _announce(req: Request, deal: DealOut, what: str, shown: CardContext) -> None:
    """Post the updated card where the command was typed, saying who did what."""
    stages, today = shown.stages, shown.today
    text = f"<@{req.user_id}> {what}"
    if req.channel_id and not req.channel_id.startswith("D"):
        ts = post_card(req.client, req.channel_id, deal, stages, today=today)
        if ts:
            req.client.chat_postMessage(channel=req.channel_id, thread_ts=ts, text=text)
    else:
        req.say_ephemeral(text, build_deal_card(deal, stages, today=today))


VERBS: dict[str, Verb] = {
    "add": add,
    "new": add,
    "create": add,
    "edit": edit,
    "list": list_deals,
    "ls": list_deals,
    "show": show,
    "move": move,
    "mv": move,
    "won": won,
    "win": won,
    "lost": lost,
    "lose": lost,
    "reopen": reopen,
    "log": log,
    "next": next_step,
    "assign": assign,
    "delete": delete,
    "rm": delete,
}
