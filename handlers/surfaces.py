"""Where a card is shown (channel message, ephemeral, App Home) and refreshing it there."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from handlers.common import CardContext
from handlers.events.home import publish_home
from handlers.messaging import post_card, thread_note
from pipeline.schemas import DealOut
from storage.unit_of_work import Pipe
from views.cards import build_deal_card, card_text
from views.common import Blocks
from views.modals import CardLocation, ModalMeta
from views.refresh import build_deleted_card, deleted_text, is_whole_card, splice_card

logger = logging.getLogger("pipebot")


def card_location(body: Mapping[str, Any], number: int) -> CardLocation | None:
    """The card a block_actions payload came from; None inside a modal."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        view = body.get("view") or {}
        return CardLocation(kind="home") if view.get("type") == "home" else None
    if container.get("is_ephemeral"):
        return CardLocation(
            kind="ephemeral",
            channel=container.get("channel_id"),
            response_url=body.get("response_url"),
        )
    blocks = (body.get("message") or {}).get("blocks") or []
    return CardLocation(
        kind="message",
        channel=container.get("channel_id"),
        ts=container.get("message_ts"),
        whole=not blocks or is_whole_card(blocks, number),
    )


def _replace_ephemeral(url: str | None, text: str, blocks: Blocks) -> None:
    if not url:
        return
    response = WebhookClient(url, timeout=10).send(
        text=text, blocks=blocks, replace_original=True, response_type="ephemeral"
    )
    if response.status_code != 200:
        logger.warning("could not replace an ephemeral card: HTTP %s", response.status_code)


def _content(
    deal: DealOut | None, number: int, name: str, actor: str, shown: CardContext
) -> tuple[str, Blocks]:
    if deal is None:
        return deleted_text(number, name, actor), build_deleted_card(number, name, actor)
    return card_text(deal, shown.stages), build_deal_card(deal, shown.stages, today=shown.today)


def show_card(
    client: WebClient,
    pipe: Pipe,
    user_id: str,
    where: CardLocation | None,
    number: int,
    deal: DealOut | None,
    shown: CardContext,
    *,
    message: Mapping[str, Any] | None = None,
    deleted_name: str = "",
) -> None:
    """Refresh a card in place; `deal=None` shows it as deleted by `user_id`."""
    if where is None:
        return
    if where.kind == "home":
        publish_home(client, pipe, user_id)
        return
    text, blocks = _content(deal, number, deleted_name, user_id, shown)
    if where.kind == "ephemeral":
        _replace_ephemeral(where.response_url, text, blocks)
        return
    if not where.channel or not where.ts:
        return
    try:
        if where.whole:
            client.chat_update(channel=where.channel, ts=where.ts, text=text, blocks=blocks)
            return
        # A list or digest: swap only this card, keeping the other blocks and the text.
        original = list((message or {}).get("blocks") or [])
        spliced = splice_card(original, number, blocks)
        if spliced is not None:
            old_text = str((message or {}).get("text") or text)
            client.chat_update(channel=where.channel, ts=where.ts, text=old_text, blocks=spliced)
    except SlackApiError:
        logger.warning("could not refresh the card of #%s", number, exc_info=True)


def note_in_thread(client: WebClient, where: CardLocation | None, text: str) -> None:
    """A short reply under a channel card saying who did what."""
    if where is not None and where.kind == "message" and where.channel and where.ts:
        thread_note(client, where.channel, where.ts, text)


def _is_dm(channel: str | None) -> bool:
    return not channel or channel.startswith("D")


def after_change(
    client: WebClient,
    pipe: Pipe,
    user_id: str,
    meta: ModalMeta,
    deal: DealOut,
    note: str | None,
    shown: CardContext,
) -> None:
    """Show a deal changed from a modal: refresh its card, or post one where the modal began."""
    if meta.card is not None:
        show_card(client, pipe, user_id, meta.card, deal.number, deal, shown)
        if note:
            note_in_thread(client, meta.card, note)
        return
    stages, today = shown.stages, shown.today
    if not _is_dm(meta.channel):
        assert meta.channel is not None
        ts = post_card(client, meta.channel, deal, stages, today=today)
        if note:
            thread_note(client, meta.channel, ts, note)
        return
    # A DM with someone else is closed to the bot: the user's own DM with the bot is not.
    post_card(client, user_id, deal, stages, today=today)


def post_new_card(
    client: WebClient, user_id: str, channel: str | None, deal: DealOut, shown: CardContext
) -> None:
    """Post a new deal's card where the user started (their DM with the bot for DMs)."""
    target = user_id if _is_dm(channel) else str(channel)
    post_card(client, target, deal, shown.stages, today=shown.today)


def tell_user(
    client: WebClient, user_id: str, channel: str | None, text: str, blocks: Blocks | None = None
) -> None:
    """An ephemeral note to the user in a channel, or a DM when there is none."""
    try:
        if _is_dm(channel):
            client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        else:
            client.chat_postEphemeral(channel=str(channel), user=user_id, text=text, blocks=blocks)
    except SlackApiError:
        logger.warning("could not tell %s", user_id, exc_info=True)
