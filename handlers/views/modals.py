"""Opening modals: a DB read for what they show, then views.open while the trigger is fresh."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from handlers.common import Request
from pipeline.errors import InvalidInput
from pipeline.planning import LostReason
from pipeline.schemas import DealOut, TeamOut
from pipeline.service import PipelineService
from pipeline.types import DealStatus
from views.modals import (
    CardLocation,
    CreatePrefill,
    MessageRef,
    ModalMeta,
    build_create_modal,
    build_delete_modal,
    build_edit_modal,
    build_log_modal,
    build_log_to_deal_modal,
    build_lost_modal,
    build_snooze_modal,
)

SNOOZE_DAYS = 3
LOG_TO_DEAL_CHOICES = 100


def _open(req: Request, view: dict[str, Any]) -> None:
    if not req.trigger_id:
        raise InvalidInput("This can't open a form from here; use the /deal command instead.")
    req.client.views_open(trigger_id=req.trigger_id, view=view)


def _meta(req: Request, deal: DealOut, card: CardLocation | None) -> ModalMeta:
    return ModalMeta(number=deal.number, version=deal.version, channel=req.channel_id, card=card)


def open_create_modal(
    req: Request, prefill: CreatePrefill | None = None, team: TeamOut | None = None
) -> None:
    """The New deal modal; its card is posted where the user asked for it."""
    if team is None:  # read here unless the request's transaction already did
        with req.pipe.read() as p:
            team = p.team_out()
    stages, currency = team.stages, team.currency
    meta = ModalMeta(channel=req.channel_id, source=prefill.source if prefill else None)
    view = build_create_modal(
        stages,
        sources=team.sources,
        user_id=req.user_id,
        currency=currency,
        meta=meta,
        prefill=prefill,
    )
    _open(req, view)


def open_edit_modal(
    req: Request,
    deal: DealOut,
    card: CardLocation | None = None,
    team: TeamOut | None = None,
) -> None:
    """The Edit modal for a deal, remembering the version it shows."""
    if team is None:  # read here unless the request's transaction already did
        with req.pipe.read() as p:
            team = p.team_out()
    meta = _meta(req, deal, card)
    _open(req, build_edit_modal(deal, team.stages, meta=meta, sources=team.sources))


def open_delete_modal(req: Request, deal: DealOut, card: CardLocation | None = None) -> None:
    """The modal that asks before a deal and its history are deleted."""
    _open(req, build_delete_modal(deal, meta=_meta(req, deal, card)))


def open_lost_modal(
    req: Request,
    deal: DealOut,
    card: CardLocation | None = None,
    reasons: list[LostReason] | None = None,
) -> None:
    """The Lost modal asking for the reason from the team's list, and a detail."""
    if reasons is None:  # read here unless the request's transaction already did
        with req.pipe.read() as p:
            reasons = p.team.lost_reasons
    _open(req, build_lost_modal(deal, meta=_meta(req, deal, card), reasons=reasons))


def open_log_modal(req: Request, deal: DealOut, card: CardLocation | None = None) -> None:
    """The Log activity modal."""
    _open(req, build_log_modal(deal, meta=_meta(req, deal, card)))


def open_snooze_modal(
    req: Request, deal: DealOut, card: CardLocation | None = None, today: date | None = None
) -> None:
    """The Snooze modal, prefilled with a date three days ahead."""
    if today is None:  # read here unless the request's transaction already did
        with req.pipe.read() as p:
            today = p.today()
    until = today + timedelta(days=SNOOZE_DAYS)
    _open(req, build_snooze_modal(deal, meta=_meta(req, deal, card), until=until))


def log_to_deal_choices(p: PipelineService) -> list[DealOut]:
    """The deals "Log to a deal" offers: the open ones, most recently active first."""
    return p.list_deals(status=DealStatus.OPEN, limit=LOG_TO_DEAL_CHOICES)


def open_log_to_deal_modal(
    req: Request, text: str, source: MessageRef, deals: list[DealOut] | None = None
) -> None:
    """Log a message on a deal: choose among the open deals."""
    if deals is None:  # read here unless the request's transaction already did
        with req.pipe.read() as p:
            deals = log_to_deal_choices(p)
    meta = ModalMeta(channel=req.channel_id, source=source)
    _open(req, build_log_to_deal_modal(deals, text=text, meta=meta))
