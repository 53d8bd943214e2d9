"""SlackClientSimulator: acts as Slack's client, sending signed requests to the bot's URL."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.payloads import builders, signing
from sandbox.payloads.elements import action_for, find_element, selection, top_view, view_state
from sandbox.payloads.from_fake import channel_name, click_payload, command_payload, sender
from sandbox.slack_api import DEFAULT_CHANNEL, FakeSlack

JSON = dict[str, Any]


@dataclass
class Delivery:
    """One request delivered to the bot and its answer (the ack)."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    url: str
    request_body: bytes
    content_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    trigger_id: str | None = None
    response_url: str | None = None

    def json(self) -> Any:
        """The ack body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body.strip() else None


class SlackClientSimulator:
    """Acts as Slack's client: signed commands, clicks, submissions and events to the bot."""

    # Calls block on HTTP: from async code run them in a worker thread, or a bot sharing
    # the event loop could never answer.

    def __init__(
        self,
        url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        commands_url: str | None = None,
        interactivity_url: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        ack_deadline: float = 3.0,
    ) -> None:
        self.url = url
        self.commands_url = commands_url or url
        self.interactivity_url = interactivity_url or url
        self.signing_secret = signing_secret
        self.fake = fake
        self.clock = clock
        self.timeout = timeout
        self.ack_deadline = ack_deadline

    # -- transport

    def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Delivery:
        """POST a signed body (override secret/timestamp to test signature checks)."""
        stamp = timestamp if timestamp is not None else int(self.clock())
        headers = signing.sign(
            body, secret or self.signing_secret, stamp, content_type=content_type
        )
        headers.update(extra_headers or {})
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, answer_headers = exc.code, exc.read(), exc.headers
        elapsed = time.monotonic() - started
        return Delivery(
            status,
            raw.decode("utf-8", errors="replace"),
            dict(answer_headers.items()),
            elapsed,
            url,
            body,
            content_type,
        )

    def _deliver(
        self, url: str, body: bytes, content_type: str, what: str, payload: Mapping[str, Any]
    ) -> Delivery:
        delivery = self.post(url, body, content_type)
        delivery.payload = payload
        if delivery.elapsed > self.ack_deadline:
            self.fake.report_violation(
                f"{what}: acked after {delivery.elapsed:.2f} s (Slack gives up at 3 s)"
            )
        if delivery.status != 200:
            self.fake.report_violation(f"{what}: bot answered HTTP {delivery.status}")
        return delivery

    def _interaction(self, payload: JSON, what: str) -> Delivery:
        return self._deliver(
            self.interactivity_url, signing.encode_interaction(payload), signing.FORM, what, payload
        )

    # -- user actions

    def command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/deal",
        channel_id: str = DEFAULT_CHANNEL,
    ) -> Delivery:
        """Type a slash command; the ack body is shown to the user as Slack would."""
        fields = command_payload(self.fake, user_id, text, command=command, channel_id=channel_id)
        delivery = self._deliver(
            self.commands_url,
            signing.encode_form(fields),
            signing.FORM,
            f"command {command}",
            fields,
        )
        delivery.trigger_id, delivery.response_url = fields["trigger_id"], fields["response_url"]
        if delivery.status == 200:
            self.fake.receive_command_ack(channel_id, user_id, delivery.body)
        return delivery

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        value: object = None,
        block_id: str | None = None,
    ) -> Delivery:
        """Click/select an element of a message (or an ephemeral, by its ts); `block_id` picks
        which one when several blocks hold the same action id."""
        payload = click_payload(
            self.fake, user_id, channel_id, message_ts, action_id, value=value, block_id=block_id
        )
        delivery = self._interaction(payload, f"block_actions {action_id}")
        delivery.trigger_id, delivery.response_url = payload["trigger_id"], payload["response_url"]
        return delivery

    def click_in_view(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        *,
        value: object = None,
        block_id: str | None = None,
    ) -> Delivery:
        """Click/select an element in a modal or the App Home (in `block_id`, when given)."""
        fake = self.fake
        view = fake.view(view_id)
        if view is None:
            raise LookupError(f"no view {view_id}")
        block_id, element = find_element(view.blocks, action_id, block_id)
        action = action_for(element, block_id, value=value)
        if element.get("type") not in ("button", "workflow_button"):
            state = dict(view.state_values)
            state.setdefault(block_id, {})[action_id] = {
                "type": element.get("type"),
                **selection(element, value),
            }
            fake.set_view_state(view_id, state)
        trigger_id = fake.new_trigger_id(user_id)
        payload = builders.block_actions(
            actions=[action],
            trigger_id=trigger_id,
            view=fake.view_payload(view_id),
            **sender(fake, user_id),
        )
        delivery = self._interaction(payload, f"block_actions {action_id}")
        delivery.trigger_id = trigger_id
        return delivery

    def submit(
        self,
        user_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        view_id: str | None = None,
    ) -> Delivery:
        """Fill inputs (`values` by action_id) and press the modal's submit button."""
        fake = self.fake
        view = fake.view(view_id) if view_id else top_view(fake.open_views(user_id))
        if view is None or not view.open:
            raise LookupError(f"no open modal for {user_id}")
        state = view_state(view.blocks, values)
        # What the user already picked (click_in_view) beats initial values; `values` beats both.
        for block_id, entries in view.state_values.items():
            for aid, entry in entries.items():
                if values is None or aid not in values:
                    state.setdefault(block_id, {})[aid] = entry
        fake.set_view_state(view.id, state)
        trigger_id = fake.new_trigger_id(user_id)
        payload = builders.view_submission(
            view=fake.view_payload(view.id), trigger_id=trigger_id, **sender(fake, user_id)
        )
        delivery = self._interaction(payload, f"view_submission {view.callback_id}")
        delivery.trigger_id = trigger_id
        if delivery.status == 200:
            fake.receive_view_ack(user_id, view.id, delivery.body)
        return delivery

    def close(self, user_id: str, *, view_id: str | None = None) -> Delivery | None:
        """Press Cancel: closes the modal; sends view_closed when the view asked for it."""
        fake = self.fake
        view = fake.view(view_id) if view_id else top_view(fake.open_views(user_id))
        if view is None:
            raise LookupError(f"no open modal for {user_id}")
        fake.close_view(user_id, view.id)
        if not view.view.get("notify_on_close"):
            return None
        payload = builders.view_closed(view=view.to_api(fake.team_id), **sender(fake, user_id))
        return self._interaction(payload, f"view_closed {view.callback_id}")

    def message_shortcut(
        self, user_id: str, channel_id: str, message_ts: str, callback_id: str
    ) -> Delivery:
        """Run a message shortcut on a message."""
        fake = self.fake
        trigger_id = fake.new_trigger_id(user_id)
        response_url = fake.new_response_url(channel_id, user_id)
        payload = builders.message_action(
            callback_id=callback_id,
            trigger_id=trigger_id,
            response_url=response_url,
            message=fake.message_payload(channel_id, message_ts),
            channel_id=channel_id,
            channel_name=channel_name(fake, channel_id),
            **sender(fake, user_id),
        )
        delivery = self._interaction(payload, f"message_action {callback_id}")
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        return delivery

    def global_shortcut(self, user_id: str, callback_id: str) -> Delivery:
        """Run a global shortcut."""
        fake = self.fake
        trigger_id = fake.new_trigger_id(user_id)
        payload = builders.global_shortcut(
            callback_id=callback_id, trigger_id=trigger_id, **sender(fake, user_id)
        )
        delivery = self._interaction(payload, f"shortcut {callback_id}")
        delivery.trigger_id = trigger_id
        return delivery

    def open_home(self, user_id: str) -> Delivery:
        """Open the app's Home tab (sends app_home_opened with the current home view)."""
        fake = self.fake
        home = fake.home(user_id)
        envelope = builders.app_home_opened_event(
            user_id=user_id,
            channel_id=fake.dm_channel(user_id),
            team_id=fake.team_id,
            view=home.to_api(fake.team_id) if home is not None else None,
            enterprise_id=fake.enterprise_id,
        )
        return self.send_event(envelope)

    def send_event(self, envelope: JSON) -> Delivery:
        """Deliver an Events API envelope (see event_callback and friends)."""
        kind = envelope.get("event", {}).get("type", "?")
        return self._deliver(
            self.url, signing.encode_event(envelope), signing.JSON_TYPE, f"event {kind}", envelope
        )

    def redeliver(
        self, delivery: Delivery, *, retry_num: int = 1, reason: str = "http_timeout"
    ) -> Delivery:
        """Send the same body again, freshly signed, as an Events API retry."""
        again = self.post(
            delivery.url,
            delivery.request_body,
            delivery.content_type,
            extra_headers={"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason},
        )
        again.payload = delivery.payload
        return again
