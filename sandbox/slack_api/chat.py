"""chat.*: post, post ephemeral, update, delete and permalink messages."""

from __future__ import annotations

from sandbox.slack_api.args import json_arg, required, truthy
from sandbox.slack_api.errors import ApiError, with_warnings
from sandbox.slack_api.models import JSON, Ephemeral, Message, MessageVersion
from sandbox.slack_api.store import SlackStore


class ChatApi(SlackStore):
    """The chat.* methods of the fake Web API."""

    def _chat_post_message(self, args: JSON, origin: str) -> JSON:
        (channel,) = required(args, "channel")
        channel_id = self._resolve_channel(channel)
        self._check_rate("chat.postMessage", channel_id)
        text, blocks, attachments, warnings = self._content(args, "chat.postMessage")
        thread_ts = self._thread(channel_id, args.get("thread_ts"), "chat.postMessage")
        metadata = json_arg(args, "metadata", "invalid_metadata_format")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            raise ApiError("invalid_metadata_format")
        msg = Message(
            channel_id,
            self._next_ts(),
            text,
            blocks,
            thread_ts=thread_ts,
            attachments=attachments,
            metadata=metadata,
            reply_broadcast=thread_ts is not None and truthy(args.get("reply_broadcast")),
        )
        self._messages.setdefault(channel_id, []).append(msg)
        out: JSON = {"channel": channel_id, "ts": msg.ts, "message": msg.to_api(self.team_id)}
        return with_warnings(out, warnings)

    def _chat_post_ephemeral(self, args: JSON, origin: str) -> JSON:
        channel, user = required(args, "channel", "user")
        channel_id = self._resolve_channel(channel)
        if user not in self.users:
            raise ApiError("user_not_found")
        text, blocks, _, warnings = self._content(args, "chat.postEphemeral")
        thread_ts = self._thread(channel_id, args.get("thread_ts"), "chat.postEphemeral")
        eph = Ephemeral(channel_id, user, self._next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(eph)
        return with_warnings({"message_ts": eph.ts}, warnings)

    def _chat_update(self, args: JSON, origin: str) -> JSON:
        channel_id, ts, msg = self._message_arg(args, "ts", not_ours="cant_update_message")
        if all(args.get(k) is None for k in ("text", "blocks", "attachments")):
            raise ApiError("no_text")
        text, blocks, attachments, _ = self._content(args, "chat.update", partial=True)
        # Slack keeps any field the update leaves out; an empty list removes it.
        after = MessageVersion(
            text if args.get("text") is not None else msg.text,
            blocks if args.get("blocks") is not None else msg.blocks,
            attachments if args.get("attachments") is not None else msg.attachments,
        )
        warnings: list[str] = []
        if after.blocks and not after.text:
            warnings.append("missing_text_fallback")
            self._violate("chat.update: blocks without a top-level text fallback")
        self._edit(msg, after, "chat.update")
        metadata = json_arg(args, "metadata", "invalid_metadata_format")
        if isinstance(metadata, dict):
            msg.metadata = metadata
        out: JSON = {
            "channel": channel_id,
            "ts": ts,
            "text": msg.text,
            "message": msg.to_api(self.team_id),
        }
        return with_warnings(out, warnings)

    def _chat_delete(self, args: JSON, origin: str) -> JSON:
        channel_id, ts, msg = self._message_arg(args, "ts", not_ours="cant_delete_message")
        msg.deleted = True
        return {"channel": channel_id, "ts": ts}

    def _chat_get_permalink(self, args: JSON, origin: str) -> JSON:
        channel_id, _, msg = self._message_arg(args, "message_ts")
        return {"channel": channel_id, "permalink": self._permalink(channel_id, msg)}

    def _message_arg(
        self, args: JSON, ts_name: str, *, not_ours: str | None = None
    ) -> tuple[str, str, Message]:
        """The (channel id, ts, message) a call names; `not_ours` is the error if a human's."""
        channel, ts = required(args, "channel", ts_name)
        channel_id = self._resolve_channel(channel)
        msg = self._find_message(channel_id, ts)
        if msg is None:
            raise ApiError("message_not_found")
        if not_ours is not None and not msg.is_bot:
            raise ApiError(not_ours)
        return channel_id, ts, msg

    def _permalink(self, channel_id: str, msg: Message) -> str:
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{msg.ts.replace('.', '')}"
        )
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={channel_id}"
        return link
