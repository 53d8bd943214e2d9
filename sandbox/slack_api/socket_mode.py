"""Slack's side of Socket Mode for the fake: apps.connections.open and the WebSocket it opens.

The app calls `apps.connections.open` with its app-level token (xapp-…) and gets a one-time
`ws://…/link/?ticket=…` URL on the fake's own server. There the fake says `hello`, pushes
envelopes (`FakeSlack.socket_send`), and records each ack with its response payload; an ack
that misses Slack's 3-second deadline (or never comes) is a violation.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import APP_ID

if TYPE_CHECKING:
    from sandbox.slack_api.fake import FakeSlack

JSON = dict[str, Any]
EnvelopeKind = Literal["slash_commands", "interactive", "events_api"]
KINDS: Final = frozenset(get_args(EnvelopeKind))

DEFAULT_APP_TOKEN = "xapp-1-A0PIPEBOT-1-fake"
ACK_DEADLINE = 3.0
LINK_PATH = "/link/"
APPS_CONNECTIONS_OPEN = "apps.connections.open"
# Interactions whose ack body Slack acts on (response_action, options); others are dropped.
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})
# A close code in the outbox tells the writer to close the connection from Slack's side.
_Outgoing = tuple[str | None, str] | int


@dataclass
class Envelope:
    """One envelope pushed to the app, and what became of it (times are time.monotonic())."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    connection_id: str
    expired: bool = False
    retry_attempt: int | None = None
    retry_reason: str | None = None
    sent_at: float | None = None
    acked_at: float | None = None

    def to_message(self) -> JSON:
        """The JSON frame Slack sends for this envelope."""
        out: JSON = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.retry_attempt is not None:
            out["retry_attempt"] = self.retry_attempt
            out["retry_reason"] = self.retry_reason or ""
        return out


@dataclass
class SocketAck:
    """An ack the app sent: for which envelope, its response payload and how long it took."""

    envelope_id: str
    type: str
    payload: JSON | None
    elapsed: float
    late: bool
    connection_id: str


@dataclass
class SocketConnection:
    """One WebSocket connection opened with a ticket from apps.connections.open."""

    id: str
    ticket: str
    open: bool = False
    draining: bool = False
    closed: bool = False
    received: list[str] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    outbox: asyncio.Queue[_Outgoing] | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        """True while Slack would still deliver envelopes on it."""
        return self.open and not self.draining and not self.closed


def _describe(kind: str, payload: JSON) -> str:
    if kind == "slash_commands":
        return f"slash_commands {payload.get('command', '?')}"
    if kind == "events_api":
        event = payload.get("event")
        return f"events_api {event.get('type', '?') if isinstance(event, dict) else '?'}"
    what = str(payload.get("type", "?"))
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        what += f" {actions[0].get('action_id')}"
    return f"interactive {what}"


class SocketModeHub:
    """Socket Mode for one FakeSlack: connection URLs, live connections, envelopes and acks."""

    # Shares the fake's lock and condition, so `fake.wait_until` also wakes on acks.

    def __init__(
        self,
        fake: FakeSlack,
        changed: threading.Condition,
        *,
        app_token: str = DEFAULT_APP_TOKEN,
        ack_deadline: float = ACK_DEADLINE,
    ) -> None:
        self.fake = fake
        self.app_token = app_token
        self.ack_deadline = ack_deadline
        self._changed = changed
        self._tickets: dict[str, SocketConnection | None] = {}
        self._connections: list[SocketConnection] = []
        self._envelopes: dict[str, Envelope] = {}
        self._acks: list[SocketAck] = []
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ Web API

    def connections_open(self, token: str | None, origin: str) -> JSON:
        """apps.connections.open: a one-time WebSocket URL for an app-level token."""
        if token is None:
            raise ApiError("not_authed")
        if not token.startswith("xapp-"):
            # Slack's answer to a bot or user token here: it wants the app-level token.
            raise ApiError("not_allowed_token_type")
        if token != self.app_token:
            raise ApiError("invalid_auth")
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets[ticket] = None
        scheme, _, rest = origin.partition("://")
        ws_scheme = "wss" if scheme == "https" else "ws"
        return {"url": f"{ws_scheme}://{rest}{LINK_PATH}?ticket={ticket}&app_id={APP_ID}"}

    # ------------------------------------------------------------------ test hooks

    def send(
        self,
        kind: EnvelopeKind,
        payload: JSON,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Push an envelope to the newest live connection; returns its envelope_id."""
        if kind not in KINDS:
            raise ValueError(f"unknown envelope type {kind!r}; expected one of {sorted(KINDS)}")
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        with self._changed:
            live = [c for c in self._connections if c.live]
            if not live:
                raise RuntimeError("the app has no open Socket Mode connection")
            connection = live[-1]
            envelope = Envelope(
                envelope_id=str(uuid.uuid4()),
                type=kind,
                payload=copy.deepcopy(payload),
                accepts_response_payload=accepts_response_payload,
                connection_id=connection.id,
                retry_attempt=retry_attempt,
                retry_reason=retry_reason,
            )
            self._envelopes[envelope.envelope_id] = envelope
            self._post(connection, (envelope.envelope_id, json.dumps(envelope.to_message())))
            return envelope.envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send `disconnect` to every live connection (they drain); returns how many."""
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )
        with self._changed:
            live = [c for c in self._connections if c.live]
            for connection in live:
                connection.draining = True
                self._post(connection, (None, message))
            return len(live)

    def close(self, code: int = 1001) -> int:
        """Drop every open connection from Slack's side, as a restart would; returns how many."""
        with self._changed:
            open_ = [c for c in self._connections if c.open and not c.closed]
            for connection in open_:
                self._post(connection, code)
            return len(open_)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until `count` connections are live, else TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.live_connections()) >= count, timeout):
                raise TimeoutError(f"{count} Socket Mode connection(s) not up within {timeout} s")

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> SocketAck:
        """Block until the app acks the envelope and return the ack, else TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.ack(envelope_id), timeout):
                raise TimeoutError(f"envelope {envelope_id} not acked within {timeout} s")
            found = self.ack(envelope_id)
            assert found is not None
            return found

    def reset(self) -> None:
        """Forget envelopes and acks (connections stay up)."""
        with self._changed:
            self._envelopes.clear()
            self._acks.clear()

    # ------------------------------------------------------------------ queries

    @property
    def acks(self) -> list[SocketAck]:
        """Every ack received, in order."""
        with self._changed:
            return copy.deepcopy(self._acks)

    def ack(self, envelope_id: str) -> SocketAck | None:
        """The ack of one envelope, or None."""
        with self._changed:
            for found in self._acks:
                if found.envelope_id == envelope_id:
                    return copy.deepcopy(found)
            return None

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope pushed, in order."""
        with self._changed:
            return [copy.deepcopy(e) for e in self._envelopes.values()]

    @property
    def unacked(self) -> list[Envelope]:
        """Envelopes the app has not acked (yet)."""
        return [e for e in self.envelopes if e.acked_at is None]

    @property
    def connections(self) -> list[SocketConnection]:
        """Every connection ever opened, oldest first (snapshots)."""
        with self._changed:
            return [self._snapshot(c) for c in self._connections]

    def live_connections(self) -> list[SocketConnection]:
        """Connections Slack would deliver envelopes on now."""
        with self._changed:
            return [self._snapshot(c) for c in self._connections if c.live]

    @staticmethod
    def _snapshot(connection: SocketConnection) -> SocketConnection:
        return SocketConnection(
            connection.id,
            connection.ticket,
            connection.open,
            connection.draining,
            connection.closed,
            list(connection.received),
        )

    # ------------------------------------------------------------------ the WebSocket

    def route(self) -> WebSocketRoute:
        """The route serving the URLs apps.connections.open hands out."""
        return WebSocketRoute(LINK_PATH, self.endpoint)

    async def endpoint(self, websocket: WebSocket) -> None:
        """Serve one Socket Mode connection: hello, then envelopes out and acks in."""
        connection = self._claim(websocket.query_params.get("ticket"))
        if connection is None:
            # Closing before accept refuses the upgrade: the client sees HTTP 403.
            await websocket.close(code=1008)
            return
        outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        await websocket.accept()
        hello = self._opened(connection, asyncio.get_running_loop(), outbox)
        await websocket.send_text(json.dumps(hello))
        writer = asyncio.create_task(self._write(websocket, outbox))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    self._violate("socket mode: the app sent a binary frame; Slack expects JSON")
                    continue
                self._receive(connection, str(text))
        finally:
            writer.cancel()
            self._closed(connection)

    async def _write(self, websocket: WebSocket, outbox: asyncio.Queue[_Outgoing]) -> None:
        while True:
            item = await outbox.get()
            try:
                if isinstance(item, int):
                    await websocket.close(code=item)
                    return
                envelope_id, text = item
                if envelope_id is not None:
                    # Stamp before writing: the ack cannot then race ahead of the stamp.
                    self._sending(envelope_id)
                await websocket.send_text(text)
            except (RuntimeError, OSError):
                # The app has gone; the reader sees the disconnect and cleans up.
                return

    def _post(self, connection: SocketConnection, item: _Outgoing) -> None:
        if connection.loop is None or connection.outbox is None or connection.loop.is_closed():
            raise RuntimeError(f"connection {connection.id} is not open")
        connection.loop.call_soon_threadsafe(connection.outbox.put_nowait, item)

    def _claim(self, ticket: str | None) -> SocketConnection | None:
        with self._changed:
            if ticket is None or ticket not in self._tickets:
                self._violate(f"socket mode: connection with unknown ticket {ticket!r}")
                return None
            if self._tickets[ticket] is not None:
                self._violate("socket mode: a ticket from apps.connections.open was used twice")
                return None
            connection = SocketConnection(f"conn-{next(self._ids)}", ticket)
            self._tickets[ticket] = connection
            return connection

    def _opened(
        self,
        connection: SocketConnection,
        loop: asyncio.AbstractEventLoop,
        outbox: asyncio.Queue[_Outgoing],
    ) -> JSON:
        with self._changed:
            connection.loop, connection.outbox, connection.open = loop, outbox, True
            # Slack retires a link it asked to refresh once the replacement is up.
            for old in self._connections:
                if old.draining and not old.closed:
                    self._post(old, 1000)
            self._connections.append(connection)
            self._changed.notify_all()
            return {
                "type": "hello",
                "num_connections": len([c for c in self._connections if c.live]),
                "debug_info": {
                    "host": "applink-fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }

    def _closed(self, connection: SocketConnection) -> None:
        with self._changed:
            connection.closed = True
            self._changed.notify_all()

    def _sending(self, envelope_id: str) -> None:
        with self._changed:
            envelope = self._envelopes.get(envelope_id)
            if envelope is None:
                return
            envelope.sent_at = time.monotonic()
        asyncio.get_running_loop().call_later(self.ack_deadline, self._expire, envelope_id)

    def _expire(self, envelope_id: str) -> None:
        with self._changed:
            envelope = self._envelopes.get(envelope_id)
            if envelope is None or envelope.acked_at is not None:
                return
            envelope.expired = True
            what = _describe(envelope.type, envelope.payload)
            self._violate(
                f"socket mode: {what} (envelope {envelope_id}) not acked within "
                f"{self.ack_deadline:g} s"
            )

    def _receive(self, connection: SocketConnection, text: str) -> None:
        now = time.monotonic()
        with self._changed:
            connection.received.append(text)
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                message = None
            if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
                self._violate(f"socket mode: the app sent something that is not an ack: {text!r}")
                return
            envelope = self._envelopes.get(message["envelope_id"])
            if envelope is None:
                self._violate(f"socket mode: ack for unknown envelope {message['envelope_id']}")
                return
            what = _describe(envelope.type, envelope.payload)
            if envelope.acked_at is not None:
                self._violate(f"socket mode: {what} (envelope {envelope.envelope_id}) acked twice")
                return
            envelope.acked_at = now
            elapsed = now - (envelope.sent_at if envelope.sent_at is not None else now)
            late = elapsed > self.ack_deadline
            if late and not envelope.expired:
                # The deadline timer had not fired yet (busy loop): still a late ack.
                envelope.expired = True
                self._violate(f"socket mode: {what} acked after {elapsed:.2f} s (max 3)")
            raw_payload = message.get("payload")
            payload = raw_payload if isinstance(raw_payload, dict) else None
            if raw_payload is not None and payload is None:
                self._violate(f"socket mode: {what} ack payload is not an object: {raw_payload!r}")
            if payload is not None and not envelope.accepts_response_payload:
                self._violate(
                    f"socket mode: {what} ack carries a payload Slack drops "
                    "(accepts_response_payload is false)"
                )
            self._acks.append(
                SocketAck(
                    envelope.envelope_id, envelope.type, payload, elapsed, late, connection.id
                )
            )
            if not late:
                self._apply(envelope, payload)
            self._changed.notify_all()

    def _apply(self, envelope: Envelope, payload: JSON | None) -> None:
        """Show what Slack shows for an in-time ack (it discards a late one)."""
        body = json.dumps(payload) if payload is not None else ""
        data = envelope.payload
        if envelope.type == "slash_commands" and envelope.accepts_response_payload:
            self.fake.receive_command_ack(
                str(data.get("channel_id")), str(data.get("user_id")), body
            )
        elif envelope.type == "interactive" and data.get("type") == "view_submission":
            view, user = data.get("view"), data.get("user")
            if isinstance(view, dict) and isinstance(user, dict):
                view_id = str(view.get("id"))
                # Only a view the fake opened has a modal stack to apply response_action to.
                if self.fake.view(view_id) is not None:
                    self.fake.receive_view_ack(str(user.get("id")), view_id, body)

    def _violate(self, message: str) -> None:
        self.fake.report_violation(message)
        with self._changed:
            self._changed.notify_all()
