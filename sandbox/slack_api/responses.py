"""What Slack does with a slash command's ack and with posts to a response_url."""

from __future__ import annotations

import uuid
from typing import Literal

from sandbox.slack_api.args import ack_json, opt_str, truthy
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import (
    DEFAULT_CHANNEL,
    DEFAULT_USER,
    JSON,
    RESPONSE_URL_TTL,
    RESPONSE_URL_USES,
    Ephemeral,
    Message,
    MessageVersion,
    ResponseUrl,
)
from sandbox.slack_api.store import SlackStore


class ResponsesApi(SlackStore):
    """Slash command acks and response_urls: issuing them and what a post to one does."""

    def new_response_url(
        self,
        channel_id: str = DEFAULT_CHANNEL,
        user_id: str = DEFAULT_USER,
        *,
        message_ts: str | None = None,
        ephemeral_ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Issue a response_url (5 uses, 30 minutes); give the message it belongs to, if any."""
        original: tuple[Literal["message", "ephemeral"], str] | None = None
        if message_ts is not None:
            original = ("message", message_ts)
        elif ephemeral_ts is not None:
            original = ("ephemeral", ephemeral_ts)
        with self._lock:
            rid = uuid.uuid4().hex
            self._response_urls[rid] = ResponseUrl(
                channel_id, user_id, self.now(), original, thread_ts
            )
        return f"{self.public_url}/response/{rid}"

    def receive_command_ack(self, channel_id: str, user_id: str, body: str) -> None:
        """Show a slash command's ack body as Slack does (ephemeral unless in_channel)."""
        payload = ack_json(body)
        if payload is None:
            return
        with self._lock:
            try:
                text, blocks, attachments, _ = self._content(payload, "command ack")
            except ApiError as exc:
                self._violate(f"command ack: {exc.error}: {exc.extra.get('errors', '')}")
                return
            if payload.get("response_type") == "in_channel":
                msg = Message(channel_id, self._next_ts(), text, blocks, attachments=attachments)
                self._messages.setdefault(channel_id, []).append(msg)
            else:
                self._ephemerals.append(
                    Ephemeral(channel_id, user_id, self._next_ts(), text, blocks, via="ack")
                )

    def _use_response_url(self, response_id: str, payload: JSON) -> JSON:
        url = self._response_urls.get(response_id)
        if url is None:
            raise ApiError("invalid_url", status=404)
        if self.now() - url.issued_at > RESPONSE_URL_TTL:
            self._violate(f"response_url used {self.now() - url.issued_at:.0f} s after issue")
            raise ApiError("expired_url", status=404)
        if url.uses >= RESPONSE_URL_USES:
            self._violate(f"response_url used more than {RESPONSE_URL_USES} times")
            raise ApiError("used_url", status=404)
        try:
            if truthy(payload.get("delete_original")):
                self._delete_original(url)
            elif truthy(payload.get("replace_original")) and url.original is not None:
                self._replace_original(url, payload)
            else:
                self._post_from_response_url(url, payload)
        except ApiError as exc:
            # Webhook-style endpoints signal a bad payload with the HTTP status, not ok=false.
            if exc.status == 200:
                exc.status = 400
            raise
        url.uses += 1
        return {}

    def _original(self, url: ResponseUrl) -> Message | Ephemeral:
        if url.original is None:
            raise ApiError("message_not_found", status=404)
        kind, ts = url.original
        found: Message | Ephemeral | None = (
            self._find_message(url.channel, ts) if kind == "message" else self._find_ephemeral(ts)
        )
        if found is None:
            raise ApiError("message_not_found", status=404)
        return found

    def _delete_original(self, url: ResponseUrl) -> None:
        self._original(url).deleted = True

    def _replace_original(self, url: ResponseUrl, payload: JSON) -> None:
        target = self._original(url)
        text, blocks, attachments, _ = self._content(payload, "response_url", partial=True)
        if not text and not blocks and not attachments:
            raise ApiError("no_text", status=400)
        if blocks and payload.get("text") is None:
            self._violate("response_url: blocks without a top-level text fallback")
        self._edit(target, MessageVersion(text, blocks, attachments), "response_url")

    def _post_from_response_url(self, url: ResponseUrl, payload: JSON) -> None:
        text, blocks, attachments, _ = self._content(payload, "response_url")
        thread_ts = opt_str(payload.get("thread_ts")) or url.thread_ts
        ts = self._next_ts()
        if payload.get("response_type") == "in_channel":
            msg = Message(
                url.channel, ts, text, blocks, thread_ts=thread_ts, attachments=attachments
            )
            self._messages.setdefault(url.channel, []).append(msg)
            if url.original is None:
                url.original = ("message", ts)
        else:
            eph = Ephemeral(url.channel, url.user, ts, text, blocks, thread_ts, via="response_url")
            self._ephemerals.append(eph)
            if url.original is None:
                url.original = ("ephemeral", ts)
