"""Payload builders, signatures, and the client simulator against a real Bolt app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_bolt.request.internals import (
    extract_enterprise_id,
    extract_is_enterprise_install,
    extract_team_id,
    extract_user_id,
    parse_body,
)
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.payloads import (
    FORM,
    SlackClientSimulator,
    app_home_opened_event,
    block_actions,
    encode_event,
    encode_form,
    encode_interaction,
    message_action,
    sign,
    slash_command,
    view_state,
    view_submission,
)
from sandbox.slack_api import DEFAULT_TOKEN, FakeSlack, FakeSlackServer, ThreadedServer

JSON = dict[str, Any]
SECRET = "test-signing-secret"
SALES = "C0SALES"
ALICE = "U0ALICE"

SLASH_KEYS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
}


def interaction_payload(body: bytes) -> JSON:
    [raw] = parse_qs(body.decode())["payload"]
    payload = json.loads(raw)
    assert isinstance(payload, dict)
    return payload


# ---------------------------------------------------------------------- signing & shapes


def test_signature_matches_slack_sdk_verifier() -> None:
    body = encode_form({"text": "hello & goodbye", "command": "/deal"})
    now = int(time.time())
    headers = sign(body, SECRET, now)
    verifier = SignatureVerifier(SECRET)
    signature = headers["X-Slack-Signature"]
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], signature)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid(body, str(now), signature)
    stale = sign(body, SECRET, now - 301)
    assert not verifier.is_valid(body, str(now - 301), stale["X-Slack-Signature"])
    assert headers["Content-Type"] == FORM


def test_slash_command_round_trips() -> None:
    fields = slash_command(
        user_id=ALICE, text="acme 100", response_url="https://r", trigger_id="1.2.3"
    )
    parsed = {k: v[0] for k, v in parse_qs(encode_form(fields).decode()).items()}
    assert set(parsed) == SLASH_KEYS
    assert (parsed["command"], parsed["text"], parsed["is_enterprise_install"]) == (
        "/deal",
        "acme 100",
        "false",
    )
    org = slash_command(
        user_id=ALICE, response_url="r", trigger_id="t", enterprise_id="E0ORG", text=""
    )
    assert set(org) == SLASH_KEYS | {"enterprise_id", "enterprise_name"}
    bolt_view = parse_body(encode_form(org).decode(), FORM)
    assert (extract_team_id(bolt_view), extract_enterprise_id(bolt_view)) == ("T0DEMO", "E0ORG")
    assert extract_user_id(bolt_view) == ALICE


def test_block_actions_round_trips() -> None:
    message = {"type": "message", "ts": "1.000100", "text": "x", "blocks": []}
    action = {"type": "button", "action_id": "won", "block_id": "b", "value": "7", "action_ts": "1"}
    payload = block_actions(
        user_id=ALICE,
        actions=[action],
        trigger_id="t",
        channel_id=SALES,
        message=message,
        response_url="https://r",
    )
    parsed = interaction_payload(encode_interaction(payload))
    assert {
        "type",
        "user",
        "team",
        "api_app_id",
        "trigger_id",
        "container",
        "channel",
        "message",
        "response_url",
        "actions",
    } <= set(parsed)
    assert set(parsed["user"]) >= {"id", "username", "team_id"}
    assert set(parsed["team"]) == {"id", "domain"}
    assert parsed["container"] == {
        "type": "message",
        "message_ts": "1.000100",
        "channel_id": SALES,
        "is_ephemeral": False,
    }
    assert parsed["channel"] == {"id": SALES, "name": SALES}
    assert set(parsed["actions"][0]) == {"type", "action_id", "block_id", "value", "action_ts"}
    assert (extract_team_id(parsed), extract_user_id(parsed)) == ("T0DEMO", ALICE)
    assert extract_enterprise_id(parsed) is None


def test_view_submission_and_message_action_round_trip() -> None:
    blocks = [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "5"},
        }
    ]
    view = {
        "id": "V1",
        "callback_id": "deal",
        "private_metadata": "{}",
        "hash": "1.x",
        "state": {"values": view_state(blocks)},
    }
    submitted = interaction_payload(
        encode_interaction(
            view_submission(user_id=ALICE, view=view, trigger_id="t", enterprise_id="E0ORG")
        )
    )
    assert submitted["type"] == "view_submission"
    assert submitted["response_urls"] == []
    assert submitted["view"]["state"]["values"] == {
        "amount": {"value": {"type": "plain_text_input", "value": "5"}}
    }
    assert extract_enterprise_id(submitted) == "E0ORG"
    assert extract_is_enterprise_install(submitted) is False

    shortcut = interaction_payload(
        encode_interaction(
            message_action(
                user_id=ALICE,
                callback_id="log_call",
                trigger_id="t",
                response_url="https://r",
                message={"ts": "9.000100", "text": "hi"},
            )
        )
    )
    assert {"callback_id", "trigger_id", "message_ts", "message", "channel", "response_url"} <= set(
        shortcut
    )
    assert shortcut["message_ts"] == "9.000100"


def test_app_home_opened_envelope() -> None:
    envelope = app_home_opened_event(user_id=ALICE, channel_id="D0ALICE", event_id="Ev1")
    parsed = json.loads(encode_event(envelope))
    assert parsed["type"] == "event_callback"
    assert (parsed["event_id"], parsed["team_id"]) == ("Ev1", "T0DEMO")
    assert isinstance(parsed["event_time"], int)
    assert parsed["event"]["type"] == "app_home_opened"
    assert parsed["event"]["tab"] == "home"
    assert extract_team_id(parsed) == "T0DEMO"
    assert extract_user_id(parsed) == ALICE


def test_view_state_rejects_unknown_action_ids() -> None:
    with pytest.raises(LookupError):
        view_state([], {"nope": "1"})


# ---------------------------------------------------------------------- a real Bolt bot


MODAL: JSON = {
    "type": "modal",
    "callback_id": "deal_modal",
    "title": {"type": "plain_text", "text": "New deal"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "stage",
            "label": {"type": "plain_text", "text": "Stage"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "initial_option": {"text": {"type": "plain_text", "text": "Lead"}, "value": "lead"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Lead"}, "value": "lead"},
                    {"text": {"type": "plain_text", "text": "Won"}, "value": "won"},
                ],
            },
        },
    ],
}


def build_bot(api_url: str, seen: list[JSON]) -> Starlette:
    app = App(signing_secret=SECRET, client=WebClient(token=DEFAULT_TOKEN, base_url=api_url))

    @app.command("/deal")
    def deal(ack: Ack, body: JSON, client: WebClient, respond: Respond) -> None:
        if body["text"] == "new":
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=MODAL)
            return
        ack(text=f"Looking up {body['text']}")
        respond(text="Found it", response_type="in_channel")

    @app.view("deal_modal")
    def save(ack: Ack, view: JSON, client: WebClient) -> None:
        values = view["state"]["values"]
        amount = values["amount"]["value"]["value"] or ""
        if not amount.isdigit():
            ack(response_action="errors", errors={"amount": "Digits only"})
            return
        ack()
        stage = values["stage"]["pick"]["selected_option"]["value"]
        approve = {
            "type": "button",
            "action_id": "approve",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": amount,
        }
        client.chat_postMessage(
            channel=SALES,
            text=f"New deal: {amount} ({stage})",
            blocks=[{"type": "actions", "elements": [approve]}],
        )

    @app.action("approve")
    def approve(ack: Ack, body: JSON, respond: Respond) -> None:
        seen.append(body)  # before ack(): Bolt answers Slack as soon as ack() runs
        ack()
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.action("pick")
    def pick(ack: Ack, body: JSON) -> None:
        seen.append(body)
        ack()

    @app.shortcut("log_call")
    def log_call(ack: Ack, body: JSON, client: WebClient) -> None:
        seen.append(body)
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.event("app_home_opened")
    def home(event: JSON, client: WebClient) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Your pipeline"}}]
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    handler = SlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


@pytest.fixture
def seen() -> list[JSON]:
    return []


@pytest.fixture
def slack(server: FakeSlackServer, seen: list[JSON]) -> Iterator[SlackClientSimulator]:
    with ThreadedServer(build_bot(server.base_url, seen)) as bot:
        yield SlackClientSimulator(f"{bot.url}/slack/events", SECRET, server.fake)


def test_command_ack_and_respond(slack: SlackClientSimulator, fake: FakeSlack) -> None:
    delivery = slack.command(ALICE, "acme")
    assert delivery.status == 200
    assert delivery.response_url
    assert delivery.trigger_id
    assert [e.text for e in fake.ephemerals(ALICE)] == ["Looking up acme"]
    fake.wait_until(lambda: fake.messages(SALES))  # Bolt responds after the ack
    assert [m.text for m in fake.messages(SALES)] == ["Found it"]
    assert fake.violations == []


def test_modal_flow_with_validation_errors(slack: SlackClientSimulator, fake: FakeSlack) -> None:
    slack.command(ALICE, "new")
    fake.wait_until(lambda: fake.open_views(ALICE))
    [modal] = fake.open_views(ALICE)
    assert modal.callback_id == "deal_modal"

    rejected = slack.submit(ALICE, {"value": "lots"})
    assert rejected.json() == {"response_action": "errors", "errors": {"amount": "Digits only"}}
    [still_open] = fake.open_views(ALICE)
    assert still_open.errors == {"amount": "Digits only"}

    slack.submit(ALICE, {"value": "100", "pick": "won"})
    assert fake.open_views(ALICE) == []
    fake.wait_until(lambda: fake.messages(SALES))
    [posted] = fake.messages(SALES)
    assert posted.text == "New deal: 100 (won)"

    slack.click(ALICE, SALES, posted.ts, "approve")
    fake.wait_until(lambda: fake.updates)
    [approved] = fake.messages(SALES)
    assert (approved.ts, approved.text) == (posted.ts, "Approved by <@U0ALICE>")
    assert fake.violations == []


def test_initial_option_is_submitted_when_untouched(
    slack: SlackClientSimulator, fake: FakeSlack
) -> None:
    slack.command(ALICE, "new")
    fake.wait_until(lambda: fake.open_views(ALICE))
    slack.submit(ALICE, {"value": "5"})
    fake.wait_until(lambda: fake.messages(SALES))
    assert fake.messages(SALES)[0].text == "New deal: 5 (lead)"


def test_click_in_view_updates_state(
    slack: SlackClientSimulator, fake: FakeSlack, seen: list[JSON]
) -> None:
    slack.global_shortcut(ALICE, "log_call")
    fake.wait_until(lambda: fake.open_views(ALICE))
    [modal] = fake.open_views(ALICE)
    slack.click_in_view(ALICE, modal.id, "pick", value="won")
    clicked = seen[-1]
    assert clicked["container"] == {"type": "view", "view_id": modal.id}
    assert clicked["actions"][0]["selected_option"]["value"] == "won"
    slack.submit(ALICE, {"value": "9"})
    fake.wait_until(lambda: fake.messages(SALES))
    assert fake.messages(SALES)[0].text == "New deal: 9 (won)"


def test_message_shortcut(slack: SlackClientSimulator, fake: FakeSlack, seen: list[JSON]) -> None:
    said = fake.post_user_message(SALES, "U0BOB", "Call with Acme went well")
    delivery = slack.message_shortcut(ALICE, SALES, said.ts, "log_call")
    assert delivery.status == 200
    fake.wait_until(lambda: fake.open_views(ALICE))
    assert seen[-1]["message"]["text"] == "Call with Acme went well"


def test_home_event_and_redelivery(slack: SlackClientSimulator, fake: FakeSlack) -> None:
    first = slack.open_home(ALICE)
    assert first.status == 200
    fake.wait_until(lambda: fake.home(ALICE))
    home = fake.home(ALICE)
    assert home is not None
    assert home.blocks[0]["text"]["text"] == "Your pipeline"
    again = slack.redeliver(first, retry_num=1)
    assert again.status == 200
    assert again.payload["event_id"] == first.payload["event_id"]


def test_bad_signatures_are_refused(slack: SlackClientSimulator) -> None:
    body = encode_form({"command": "/deal", "text": "x"})
    assert slack.post(slack.url, body, FORM, secret="wrong").status == 401
    stale = int(time.time()) - 600
    assert slack.post(slack.url, body, FORM, timestamp=stale).status == 401


def test_slow_acks_are_violations(slack: SlackClientSimulator, fake: FakeSlack) -> None:
    slack.ack_deadline = 0.0  # any real request takes longer than this
    slack.command(ALICE, "acme")
    assert any("acked after" in v for v in fake.violations)
