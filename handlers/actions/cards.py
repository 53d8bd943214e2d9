"""Deal card buttons: apply once against the card's version, refresh the card in place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from slack_bolt.kwargs_injection import Args

from handlers.common import CardContext, Request, card_context, require_owner_or_admin
from handlers.listeners import acting
from handlers.surfaces import card_location, note_in_thread, show_card
from handlers.views import modals
from pipeline.errors import AlreadyApplied, Conflict, InvalidInput, NotFound
from pipeline.schemas import DealOut
from pipeline.service import PipelineService
from pipeline.stages import next_stage
from pipeline.types import DealStatus
from views.cards import CardRef, card_text
from views.history import build_history
from views.ids import Overflow
from views.modals import CardLocation
from views.reminders import REMINDER_BLOCK

SNOOZE_WEEK = 7
PUSH_DAYS = 7

Op = Callable[[PipelineService], DealOut]
Note = Callable[[PipelineService, DealOut], str]


@dataclass(frozen=True)
class Click:
    """One click on a card: who, which deal at which version, and where the card is."""

    req: Request
    ref: CardRef
    verb: str | None
    key: str
    card: CardLocation | None
    message: dict[str, Any] | None

    @property
    def user(self) -> str:
        """The clicker."""
        return self.req.user_id


def read_click(args: Args, action: dict[str, Any]) -> Click:
    """Parse a card click; a value that is not a card's means the card is unusable."""
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        verb, ref = CardRef.decode(str(raw))
    except ValueError:
        raise InvalidInput("That button no longer works; use `/deal show` for the deal.") from None
    req, body = acting(args), args.body
    # Slack resends the same action_ts on a retry; a second click has a new one.
    key = f"click:{action.get('action_ts')}:{req.user_id}:{action.get('action_id')}"
    return Click(req, ref, verb, key, card_location(body, ref.number), body.get("message") or None)


def _refresh(
    click: Click, deal: DealOut | None, shown: CardContext, *, deleted_name: str = ""
) -> None:
    show_card(
        click.req.client,
        click.req.pipe,
        click.user,
        click.card,
        click.ref.number,
        deal,
        shown,
        message=click.message,
        deleted_name=deleted_name,
    )


def _refresh_current(click: Click) -> None:
    # The write was rolled back: the card shows the deal as another transaction left it.
    try:
        with click.req.pipe.read() as p:
            deal = p.find(f"#{click.ref.number}")
            shown = card_context(p)
    except NotFound:
        return
    _refresh(click, deal, shown)


def apply(click: Click, op: Op, note: Note | None = None, *, deleted: bool = False) -> None:
    """Apply `op` once for this click; a stale card is refreshed and the conflict explained."""
    try:
        with click.req.pipe.write() as p:
            p.claim(click.key)
            deal = op(p)
            text = note(p, deal) if note else None
            shown = card_context(p)
    except AlreadyApplied:
        return  # Slack redelivered a click we already applied: its effect is already shown
    except Conflict:
        _refresh_current(click)
        raise  # the error handler tells the clicker what changed and by whom
    if deleted:
        _refresh(click, None, shown, deleted_name=deal.name)
    else:
        _refresh(click, deal, shown)
    if text:
        note_in_thread(click.req.client, click.card, text)


Permit = Callable[[PipelineService, DealOut], None]


def opening(
    click: Click, *, check_version: bool = True, permit: Permit | None = None
) -> tuple[DealOut, CardContext] | None:
    """The deal a modal opens on (and what the modal shows with it), once per click.

    None for a redelivery: its trigger is spent.
    """
    # A stale card is refreshed and Conflict raised: no modal opens on data the user never saw.
    try:
        with click.req.pipe.write() as p:
            p.claim(click.key)
            if check_version:
                deal = p.expect(click.ref.number, click.ref.version)
            else:
                deal = p.find(f"#{click.ref.number}")
            if permit is not None:
                permit(p, deal)
            return deal, card_context(p)
    except AlreadyApplied:
        return None
    except Conflict:
        _refresh_current(click)
        raise


def open_on(
    click: Click,
    open_modal: Callable[[DealOut, CardContext], None],
    *,
    check_version: bool = True,
    permit: Permit | None = None,
) -> None:
    """Open a modal on the clicked deal, once per click (a redelivery's trigger is spent)."""
    opened = opening(click, check_version=check_version, permit=permit)
    if opened is not None:
        open_modal(*opened)


def _stage_name(p: PipelineService, key: str) -> str:
    return next((s.name for s in p.stages() if s.key == key), key)


def pushed_close_date(close_date: date | None, today: date, days: int = PUSH_DAYS) -> date:
    """A week later than planned; a date already past moves a week from today instead."""
    base = close_date if close_date is not None and close_date > today else today
    return base + timedelta(days=days)


# ---------------------------------------------------------------------- listeners


def on_click(handle: Callable[[Click], None]) -> Callable[..., None]:
    """A card button listener: read the click, then let `handle` act on it."""

    def listener(args: Args) -> None:
        handle(read_click(args, args.action or {}))

    listener.__name__ = listener.__qualname__ = handle.__name__
    listener.__doc__ = handle.__doc__
    return listener


@on_click
def advance(click: Click) -> None:
    """Next stage; on the last stage the (confirmed) button wins the deal."""
    n, v, user = click.ref.number, click.ref.version, click.user

    def op(p: PipelineService) -> DealOut:
        if next_stage(p.find(f"#{n}").stage, p.stages()) is None:
            return p.win(n, actor=user, expected_version=v)
        return p.advance(n, actor=user, expected_version=v)

    def note(p: PipelineService, deal: DealOut) -> str:
        if deal.status == DealStatus.WON:
            return f"<@{user}> marked #{n} won :tada:"
        return f"<@{user}> moved #{n} to {_stage_name(p, deal.stage)}"

    apply(click, op, note)


@on_click
def won(click: Click) -> None:
    """Mark the deal won."""
    n, v, user = click.ref.number, click.ref.version, click.user
    apply(
        click,
        lambda p: p.win(n, actor=user, expected_version=v),
        lambda p, deal: f"<@{user}> marked #{n} won :tada:",
    )


def opener(
    name: str,
    open_modal: Callable[[Click, DealOut, CardContext], None],
    *,
    check_version: bool = True,
) -> Callable[..., None]:
    """The listener of a button that opens a modal on its deal (see `open_on`)."""

    def handle(click: Click) -> None:
        open_on(
            click, lambda deal, shown: open_modal(click, deal, shown), check_version=check_version
        )

    handle.__name__ = handle.__qualname__ = name
    handle.__doc__ = f"Open the modal of the card's {name} button."
    return on_click(handle)


# The Lost modal asks for the reason; logging never conflicts, so a stale card may log.
lost = opener(
    "lost", lambda c, deal, s: modals.open_lost_modal(c.req, deal, c.card, s.team.lost_reasons)
)
edit = opener("edit", lambda c, deal, s: modals.open_edit_modal(c.req, deal, c.card, s.team))
log = opener(
    "log", lambda c, deal, _: modals.open_log_modal(c.req, deal, c.card), check_version=False
)
# The Snooze modal comes with its date prefilled three days ahead.
snooze = opener("snooze", lambda c, deal, s: modals.open_snooze_modal(c.req, deal, c.card, s.today))


@on_click
def push_close(click: Click) -> None:
    """Push the close date a week (a reminder's button, and the overflow's choice)."""
    _push(click)


def push_close_pick(args: Args) -> None:
    """Move the close date to the day picked in a reminder's datepicker."""
    action = args.action or {}
    ref = str(action.get("block_id") or "").removeprefix(REMINDER_BLOCK)
    click = read_click(args, {**action, "value": ref})
    new = date.fromisoformat(str(action["selected_date"]))
    n, v, user = click.ref.number, click.ref.version, click.user
    apply(click, lambda p: p.push_close_date(n, new, actor=user, expected_version=v))


def _push(click: Click) -> None:
    n, v, user = click.ref.number, click.ref.version, click.user

    def op(p: PipelineService) -> DealOut:
        new = pushed_close_date(p.find(f"#{n}").close_date, p.today())
        return p.push_close_date(n, new, actor=user, expected_version=v)

    apply(click, op)


@on_click
def delete_duplicate(click: Click) -> None:
    """Delete a deal just added twice (the button under the duplicate warning asks first)."""
    n, v, user = click.ref.number, click.ref.version, click.user

    def op(p: PipelineService) -> DealOut:
        require_owner_or_admin(click.req.client, p, p.find(f"#{n}"), user, "delete it")
        return p.delete(n, actor=user, expected_version=v)

    apply(click, op, deleted=True)


def _show(click: Click) -> None:
    with click.req.pipe.read() as p:
        detail = p.detail(f"#{click.ref.number}")
        stages = p.stages()
    click.req.say_ephemeral(card_text(detail, stages), build_history(detail, stages))


@on_click
def overflow(click: Click) -> None:
    """The card's overflow menu: reopen, push a week, snooze a week, history, delete."""
    n, v, user = click.ref.number, click.ref.version, click.user
    if click.verb == Overflow.REOPEN:
        apply(
            click,
            lambda p: p.reopen(n, actor=user, expected_version=v),
            lambda p, deal: f"<@{user}> reopened #{n} in {_stage_name(p, deal.stage)}",
        )
    elif click.verb == Overflow.PUSH_WEEK:
        _push(click)
    elif click.verb == Overflow.SNOOZE_WEEK:
        apply(
            click,
            lambda p: p.snooze(
                n, p.today() + timedelta(days=SNOOZE_WEEK), actor=user, expected_version=v
            ),
        )
    elif click.verb == Overflow.SHOW:
        _show(click)
    elif click.verb == Overflow.DELETE:
        open_on(
            click,
            lambda deal, _: modals.open_delete_modal(click.req, deal, click.card),
            permit=lambda p, deal: require_owner_or_admin(
                click.req.client, p, deal, click.user, "delete it"
            ),
        )
    else:
        raise InvalidInput("That menu choice no longer exists; use `/deal help`.")
