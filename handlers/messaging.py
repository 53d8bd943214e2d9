"""Sending deal cards: post, update in place, note in the thread. Shared by handlers and jobs."""

from __future__ import annotations

import logging
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from pipeline.schemas import DealOut, StageOut
from views.cards import build_deal_card, card_text

logger = logging.getLogger("pipebot")

NOT_THERE = {"not_in_channel", "channel_not_found"}


def post_card(
    client: WebClient, channel: str, deal: DealOut, stages: list[StageOut], *, today: date
) -> str:
    """Post a deal card; join a public channel first if needed. Returns the message ts."""
    text, blocks = card_text(deal, stages), build_deal_card(deal, stages, today=today)
    try:
        return str(client.chat_postMessage(channel=channel, text=text, blocks=blocks)["ts"])
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            raise
    client.conversations_join(channel=channel)
    return str(client.chat_postMessage(channel=channel, text=text, blocks=blocks)["ts"])


def thread_note(client: WebClient, channel: str, ts: str, text: str) -> None:
    """A short reply under a card recording who did what; never fails the operation."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
    except SlackApiError:
        logger.warning("could not post a thread note in %s", channel, exc_info=True)
