"""The fake's Socket Mode, driven by slack_sdk's own builtin SocketModeClient over ws://."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from starlette.applications import Starlette
from starlette.routing import Mount
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sandbox.payloads import click_payload, command_payload, event_callback, view_submission
from sandbox.slack_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_TOKEN,
    FakeSlack,
    FakeSlackServer,
    ThreadedServer,
    create_app,
)

JSON = dict[str, Any]
SALES = "C0SALES"
ALICE = "U0ALICE"
NO_ACK = object()
# What the app answers for a request: a payload for the ack, None (bare ack) or NO_ACK.
Reply = Callable[[SocketModeRequest], object]


def until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll app-side state (the fake has its own wait_until) until true, else fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class App:
    """The app's side: slack_sdk's builtin client, answering each request with `reply`."""

    def __init__(self, base_url: str, token: str = DEFAULT_APP_TOKEN) -> None:
        self.client = SocketModeClient(
            app_token=token, web_client=WebClient(base_url=base_url), ping_interval=1
        )
        self.messages: list[JSON] = []
        self.requests: list[SocketModeRequest] = []
        self.reply: Reply = lambda request: None
        self.client.message_listeners.append(self._message)
        self.client.socket_mode_request_listeners.append(self._request)

    def _message(self, client: Any, message: JSON, raw: str | None) -> None:
        self.messages.append(message)

    def _request(self, client: Any, request: SocketModeRequest) -> None:
        self.requests.append(request)
        answer = self.reply(request)
        if answer is not NO_ACK:
            self.ack(request.envelope_id, answer if isinstance(answer, dict) else None)

    def ack(self, envelope_id: str, payload: JSON | None = None) -> None:
        """Send an ack the way Bolt's socket mode adapter does."""
        self.client.send_socket_mode_response(SocketModeResponse(envelope_id, payload))

    def close(self, fake: FakeSlack) -> None:
        """Hang up from Slack's side first: the client's own close waits out a 3 s read."""
        self.client.auto_reconnect_enabled = False
        fake.socket_mode.close()
        fake.wait_until(
            lambda: not any(c.open and not c.closed for c in fake.socket_mode.connections)
        )
        # Wake the message processor (it polls its queue each second) so close() joins at once.
        self.client.closed = True
        self.client.message_queue.put(None)
        self.client.close()


@pytest.fixture
def app(server: FakeSlackServer, fake: FakeSlack) -> Iterator[App]:
    """An app connected to the fake over Socket Mode."""
    side = App(server.base_url)
    side.client.connect()
    fake.socket_mode.wait_connected()
    yield side
    side.close(fake)


def slash(fake: FakeSlack, text: str = "list") -> dict[str, str]:
    return command_payload(fake, ALICE, text)


# ---------------------------------------------------------------------- apps.connections.open


def test_connections_open_needs_the_app_level_token(
    server: FakeSlackServer, fake: FakeSlack
) -> None:
    web = WebClient(base_url=server.base_url)
    url = web.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
    assert url.startswith(f"ws://127.0.0.1:{server.port}/link/?ticket=")
    assert url.endswith("&app_id=A0PIPEBOT")
    cases = {DEFAULT_TOKEN: "not_allowed_token_type", "xapp-1-wrong": "invalid_auth"}
    for token, error in cases.items():
        with pytest.raises(SlackApiError) as caught:
            web.apps_connections_open(app_token=token)
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError) as unauthenticated:
        web.api_call("apps.connections.open")
    assert unauthenticated.value.response["error"] == "not_authed"
    calls = fake.calls_to("apps.connections.open")
    assert [c.response["ok"] for c in calls] == [True, False, False, False]
    assert all("token" not in c.params for c in calls)


def test_a_ticket_opens_one_connection_only(server: FakeSlackServer, fake: FakeSlack) -> None:
    url = WebClient(base_url=server.base_url).apps_connections_open(app_token=DEFAULT_APP_TOKEN)
    with connect(url["url"]) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        with pytest.raises(InvalidStatus) as refused:
            connect(url["url"])
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{server.port}/link/?ticket=made-up")
    assert fake.violations == [
        "socket mode: a ticket from apps.connections.open was used twice",
        "socket mode: connection with unknown ticket 'made-up'",
    ]


def test_socket_mode_works_when_the_fake_is_mounted_under_a_prefix(fake: FakeSlack) -> None:
    with ThreadedServer(Starlette(routes=[Mount("/slack", create_app(fake))])) as server:
        side = App(f"{server.url}/slack/api/")
        side.client.connect()
        try:
            fake.socket_mode.wait_connected()
            envelope_id = fake.socket_send("slash_commands", slash(fake))
            assert fake.socket_mode.wait_ack(envelope_id).payload is None
        finally:
            side.close(fake)


# ---------------------------------------------------------------------- hello and envelopes


def test_hello_comes_first(app: App, fake: FakeSlack) -> None:
    until(lambda: app.messages)
    hello = app.messages[0]
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0PIPEBOT"}
    assert app.requests == []


def test_a_slash_command_ack_payload_is_shown_to_the_user(app: App, fake: FakeSlack) -> None:
    app.reply = lambda request: {"text": "Working on it"}
    envelope_id = fake.socket_send("slash_commands", slash(fake, "add Acme"))
    ack = fake.socket_mode.wait_ack(envelope_id)
    assert (ack.type, ack.payload, ack.late) == ("slash_commands", {"text": "Working on it"}, False)
    assert 0 <= ack.elapsed < 3
    assert fake.socket_acks == [ack]
    [request] = app.requests
    assert request.type == "slash_commands"
    assert request.accepts_response_payload is True
    assert request.payload["command"] == "/deal"
    assert request.payload["text"] == "add Acme"
    assert [(e.text, e.via) for e in fake.ephemerals(ALICE)] == [("Working on it", "ack")]
    assert fake.violations == []


def test_an_in_channel_ack_posts_to_the_channel(app: App, fake: FakeSlack) -> None:
    app.reply = lambda request: {"response_type": "in_channel", "text": "Pipeline: 3 deals"}
    fake.socket_mode.wait_ack(fake.socket_send("slash_commands", slash(fake)))
    assert [m.text for m in fake.messages(SALES)] == ["Pipeline: 3 deals"]


def test_a_click_needs_a_bare_ack(app: App, fake: FakeSlack, client: WebClient) -> None:
    card = client.chat_postMessage(
        channel=SALES,
        text="Acme",
        blocks=[
            {
                "type": "actions",
                "block_id": "deal_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "deal_advance",
                        "text": {"type": "plain_text", "text": "Advance"},
                        "value": "1:1",
                    }
                ],
            }
        ],
    )
    payload = click_payload(fake, ALICE, SALES, card["ts"], "deal_advance")
    bare = fake.socket_mode.wait_ack(fake.socket_send("interactive", payload))
    assert bare.payload is None
    [request] = app.requests
    assert request.accepts_response_payload is False
    assert request.payload["actions"][0]["value"] == "1:1"
    assert request.payload["message"]["ts"] == card["ts"]
    assert fake.violations == []

    app.reply = lambda request: {"text": "nobody sees this"}
    fake.socket_mode.wait_ack(fake.socket_send("interactive", payload))
    assert fake.violations == [
        "socket mode: interactive block_actions deal_advance ack carries a payload Slack drops "
        "(accepts_response_payload is false)"
    ]


def test_view_submission_ack_applies_its_response_action(
    app: App, fake: FakeSlack, client: WebClient
) -> None:
    modal = {
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
            }
        ],
    }
    view_id = client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=modal)["view"]["id"]

    def submit() -> str:
        payload = view_submission(
            user_id=ALICE, view=fake.view_payload(view_id), trigger_id=fake.new_trigger_id(ALICE)
        )
        return fake.socket_send("interactive", payload)

    app.reply = lambda request: {"response_action": "errors", "errors": {"amount": "Too big"}}
    fake.socket_mode.wait_ack(submit())
    assert app.requests[-1].accepts_response_payload is True
    shown = fake.view(view_id)
    assert shown is not None
    assert shown.open
    assert shown.errors == {"amount": "Too big"}

    app.reply = lambda request: None
    fake.socket_mode.wait_ack(submit())
    closed = fake.view(view_id)
    assert closed is not None
    assert not closed.open
    assert fake.violations == []


def test_events_carry_their_retry_fields(app: App, fake: FakeSlack) -> None:
    event = event_callback({"type": "app_home_opened", "user": ALICE, "tab": "home"})
    envelope_id = fake.socket_send("events_api", event, retry_attempt=1, retry_reason="timeout")
    fake.socket_mode.wait_ack(envelope_id)
    [request] = app.requests
    assert (request.type, request.retry_attempt, request.retry_reason) == (
        "events_api",
        1,
        "timeout",
    )
    assert request.accepts_response_payload is False
    assert request.payload["event"]["type"] == "app_home_opened"


# ---------------------------------------------------------------------- the 3-second ack


def test_a_missing_ack_is_a_violation(app: App, fake: FakeSlack) -> None:
    fake.socket_mode.ack_deadline = 0.2
    app.reply = lambda request: NO_ACK
    envelope_id = fake.socket_send("slash_commands", slash(fake, "add Acme"))
    fake.wait_until(lambda: fake.violations)
    assert fake.violations == [
        f"socket mode: slash_commands /deal (envelope {envelope_id}) not acked within 0.2 s"
    ]
    assert [e.envelope_id for e in fake.socket_mode.unacked] == [envelope_id]


def test_a_late_ack_is_recorded_but_slack_ignores_its_payload(app: App, fake: FakeSlack) -> None:
    fake.socket_mode.ack_deadline = 0.2
    app.reply = lambda request: NO_ACK
    envelope_id = fake.socket_send("slash_commands", slash(fake, "add Acme"))
    fake.wait_until(lambda: fake.violations)
    app.ack(envelope_id, {"text": "Too late"})
    ack = fake.socket_mode.wait_ack(envelope_id)
    assert ack.late
    assert ack.elapsed > 0.2
    assert fake.ephemerals(ALICE) == []
    assert len(fake.violations) == 1, "one violation per envelope"
    assert fake.socket_mode.unacked == []


def test_acks_that_are_not_acks(app: App, fake: FakeSlack) -> None:
    envelope_id = fake.socket_send("slash_commands", slash(fake))
    fake.socket_mode.wait_ack(envelope_id)
    app.ack(envelope_id)
    app.ack("no-such-envelope")
    app.client.send_message("not json")
    fake.wait_until(lambda: len(fake.violations) == 3)
    assert fake.violations == [
        f"socket mode: slash_commands /deal (envelope {envelope_id}) acked twice",
        "socket mode: ack for unknown envelope no-such-envelope",
        "socket mode: the app sent something that is not an ack: 'not json'",
    ]
    assert len(fake.socket_acks) == 1


# ---------------------------------------------------------------------- connections come and go


def test_a_disconnect_message_makes_the_client_reconnect(app: App, fake: FakeSlack) -> None:
    assert fake.socket_mode.disconnect("refresh_requested") == 1
    # The client opens a fresh URL and drops the old connection.
    fake.wait_until(
        lambda: (
            len(fake.socket_mode.live_connections()) == 1
            and all(c.closed for c in fake.socket_mode.connections[:1])
        )
    )
    assert len(fake.calls_to("apps.connections.open")) == 2
    first, second = fake.socket_mode.connections
    assert first.closed
    assert first.draining
    assert not second.closed
    envelope_id = fake.socket_send("slash_commands", slash(fake))
    assert fake.socket_mode.wait_ack(envelope_id).connection_id == second.id
    assert fake.violations == []


def test_the_client_reconnects_when_slack_drops_the_link(app: App, fake: FakeSlack) -> None:
    assert fake.socket_mode.close() == 1
    fake.wait_until(
        lambda: len(fake.socket_mode.connections) == 2 and fake.socket_mode.live_connections()
    )
    envelope_id = fake.socket_send("slash_commands", slash(fake))
    assert fake.socket_mode.wait_ack(envelope_id).connection_id == "conn-2"


def test_nothing_to_send_to_without_a_connection(fake: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no open Socket Mode connection"):
        fake.socket_send("slash_commands", {"command": "/deal"})
    with pytest.raises(ValueError, match="unknown envelope type"):
        fake.socket_send("commands", {})  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        fake.socket_mode.wait_connected(timeout=0.05)


def test_reset_forgets_envelopes_and_acks_but_keeps_the_connection(
    app: App, fake: FakeSlack
) -> None:
    fake.socket_mode.wait_ack(fake.socket_send("slash_commands", slash(fake)))
    fake.reset()
    assert fake.socket_acks == []
    assert fake.socket_mode.envelopes == []
    fake.socket_mode.wait_ack(fake.socket_send("slash_commands", slash(fake)))
