"""conversations.*: channel info, opening DMs and group DMs, channel history and threads."""

from __future__ import annotations

import hashlib

from sandbox.slack_api.args import opt_str, required, truthy
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import JSON, Channel, Message
from sandbox.slack_api.store import SlackStore


class ConversationsApi(SlackStore):
    """The conversations.* methods of the fake Web API."""

    def _conversations_info(self, args: JSON, origin: str) -> JSON:
        (channel,) = required(args, "channel")
        if channel not in self.channels:
            raise ApiError("channel_not_found")
        return {"channel": self.channels[channel].to_api()}

    def _conversations_open(self, args: JSON, origin: str) -> JSON:
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        if opt_str(users) is None:
            if opt_str(args.get("channel")) is not None:
                (channel,) = required(args, "channel")
                if channel not in self.channels:
                    raise ApiError("channel_not_found")
                return {"channel": {"id": channel}}
            raise ApiError("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        for user_id in ids:
            if user_id not in self.users:
                raise ApiError("user_not_found")
        if len(ids) == 1:
            existed = "D" + ids[0][1:] in self.channels
            dm_id = self.dm_channel(ids[0])
            return {"channel": {"id": dm_id}, "already_open": existed, "no_op": existed}
        digest = hashlib.sha1(",".join(sorted(ids)).encode()).hexdigest()[:8].upper()
        mpim_id = f"G{digest}"
        self.channels.setdefault(
            mpim_id, Channel(mpim_id, "mpdm-" + "--".join(sorted(ids)), is_private=True)
        )
        return {"channel": {"id": mpim_id}}

    def _conversations_history(self, args: JSON, origin: str) -> JSON:
        (channel,) = required(args, "channel")
        if channel.startswith("U"):
            raise ApiError("channel_not_found")
        if channel not in self.channels:
            raise ApiError("channel_not_found")
        oldest = float(args.get("oldest") or 0)
        limit = int(args.get("limit") or 100)
        with_metadata = truthy(args.get("include_all_metadata"))
        found = [
            m
            for m in self._messages.get(channel, [])
            if not m.deleted and not m.is_reply and float(m.ts) >= oldest
        ]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        out = [self._listed(m, with_metadata=with_metadata) for m in found[:limit]]
        return {"messages": out, "has_more": len(found) > limit}

    def _conversations_replies(self, args: JSON, origin: str) -> JSON:
        channel, ts = required(args, "channel", "ts")
        if channel not in self.channels:
            raise ApiError("channel_not_found")
        parent = self._find_message(channel, ts)
        if parent is None or parent.deleted:
            raise ApiError("thread_not_found")
        if parent.is_reply and parent.thread_ts is not None:
            parent = self._find_message(channel, parent.thread_ts) or parent
        limit = int(args.get("limit") or 1000)
        with_metadata = truthy(args.get("include_all_metadata"))
        replies = [
            m
            for m in self._messages.get(channel, [])
            if not m.deleted and m.is_reply and m.thread_ts == parent.ts
        ]
        # Slack lists the parent first, then its replies, oldest first.
        thread = [parent, *sorted(replies, key=lambda m: float(m.ts))]
        out = [self._listed(m, with_metadata=with_metadata) for m in thread[:limit]]
        return {"messages": out, "has_more": len(thread) > limit}

    def _listed(self, message: Message, *, with_metadata: bool) -> JSON:
        """A message as history and replies list it: metadata on request, files in full."""
        item = message.to_api(self.team_id)
        if not with_metadata:
            item.pop("metadata", None)
        if message.files:
            item["files"] = [
                self._files[f].to_api() if f in self._files else {"id": f} for f in message.files
            ]
        return item
