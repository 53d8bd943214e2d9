"""Payloads for what a user does in a FakeSlack workspace, with fresh trigger_ids and response_urls.

The client simulator posts them to the bot over HTTP; Socket Mode tests push them as envelopes.
"""

from __future__ import annotations

from typing import Any

from sandbox.payloads.builders import Sender, block_actions, slash_command
from sandbox.payloads.elements import action_for, find_element
from sandbox.slack_api import DEFAULT_CHANNEL, FakeSlack

JSON = dict[str, Any]


def sender(fake: FakeSlack, user_id: str) -> Sender:
    """Who a member of the fake workspace is, as every payload they cause says it."""
    user = fake.users.get(user_id)
    return {
        "user_id": user_id,
        "user_name": user.name if user is not None else None,
        "team_id": fake.team_id,
        "team_domain": fake.team_domain,
        "enterprise_id": fake.enterprise_id,
    }


def channel_name(fake: FakeSlack, channel_id: str) -> str:
    """A channel's name as payloads carry it ("directmessage" for a DM)."""
    channel = fake.channels.get(channel_id)
    return channel.name if channel is not None and not channel.is_im else "directmessage"


def command_payload(
    fake: FakeSlack,
    user_id: str,
    text: str = "",
    *,
    command: str = "/deal",
    channel_id: str = DEFAULT_CHANNEL,
) -> dict[str, str]:
    """A slash command typed in a channel, with a fresh trigger_id and response_url."""
    return slash_command(
        response_url=fake.new_response_url(channel_id, user_id),
        trigger_id=fake.new_trigger_id(user_id),
        text=text,
        command=command,
        channel_id=channel_id,
        channel_name=channel_name(fake, channel_id),
        **sender(fake, user_id),
    )


def click_payload(
    fake: FakeSlack,
    user_id: str,
    channel_id: str,
    message_ts: str,
    action_id: str,
    *,
    block_id: str | None = None,
    value: object = None,
) -> JSON:
    """A block_actions payload for a click on an element of a message (or an ephemeral, by its
    ts); `block_id` picks which one when several blocks hold the same action id."""
    message = fake.message(channel_id, message_ts)
    ephemeral = fake.ephemeral(message_ts) if message is None else None
    if message is None and ephemeral is None:
        raise LookupError(f"no message {message_ts} in {channel_id}")
    blocks = message.blocks if message is not None else (ephemeral.blocks if ephemeral else [])
    block_id, element = find_element(blocks, action_id, block_id)
    if message is not None:
        response_url = fake.new_response_url(channel_id, user_id, message_ts=message_ts)
        message_json: JSON | None = fake.message_payload(channel_id, message_ts)
    else:
        response_url = fake.new_response_url(channel_id, user_id, ephemeral_ts=message_ts)
        message_json = None
    return block_actions(
        actions=[action_for(element, block_id, value=value)],
        trigger_id=fake.new_trigger_id(user_id),
        channel_id=channel_id,
        channel_name=channel_name(fake, channel_id),
        message=message_json,
        message_ts=message_ts,
        is_ephemeral=message is None,
        response_url=response_url,
        **sender(fake, user_id),
    )
