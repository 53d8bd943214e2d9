"""conversations.*: channel info, opening DMs and group DMs, and channel history."""

from __future__ import annotations

import hashlib

from sandbox.slack_api.args import opt_str, required, truthy
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import JSON, Channel
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
        out = []
        for message in found[:limit]:
            item = message.to_api(self.team_id)
            if not with_metadata:
                item.pop("metadata", None)
            out.append(item)
        return {"messages": out, "has_more": len(found) > limit}
