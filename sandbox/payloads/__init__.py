"""What Slack sends to a bot (commands, interactions, events), signed, and a client sending it.

builders.py shapes each request, elements.py what a user picked in an element, signing.py the
wire format and signature, from_fake.py payloads for a user of a FakeSlack workspace, and
simulator.py the client that posts them to the bot as Slack would.
"""

from sandbox.payloads.builders import (
    DEFAULT_DOMAIN,
    VERIFICATION_TOKEN,
    Sender,
    app_home_opened_event,
    block_actions,
    event_callback,
    global_shortcut,
    message_action,
    message_event,
    slash_command,
    view_closed,
    view_submission,
)
from sandbox.payloads.elements import action_for, find_element, selection, view_state
from sandbox.payloads.from_fake import click_payload, command_payload
from sandbox.payloads.signing import (
    FORM,
    JSON_TYPE,
    encode_event,
    encode_form,
    encode_interaction,
    sign,
)
from sandbox.payloads.simulator import Delivery, SlackClientSimulator

__all__ = [
    "DEFAULT_DOMAIN",
    "FORM",
    "JSON_TYPE",
    "VERIFICATION_TOKEN",
    "Delivery",
    "Sender",
    "SlackClientSimulator",
    "action_for",
    "app_home_opened_event",
    "block_actions",
    "click_payload",
    "command_payload",
    "encode_event",
    "encode_form",
    "encode_interaction",
    "event_callback",
    "find_element",
    "global_shortcut",
    "message_action",
    "message_event",
    "selection",
    "sign",
    "slash_command",
    "view_closed",
    "view_state",
    "view_submission",
]
