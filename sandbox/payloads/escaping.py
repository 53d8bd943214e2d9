"""What Slack does to a slash command's text when the command says `should_escape: true`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sandbox.slack_api import Channel, User

_USER = re.compile(r"(?<![\w@<|])@([\w\-]+(?:\.[\w\-]+)*)")
_CHANNEL = re.compile(r"(?<![\w#<|&])#([\w\-]+)")


def escape_command_text(text: str, users: Iterable[User], channels: Iterable[Channel]) -> str:
    """`&`, `<`, `>` escaped; `@alice` and `#sales` turned into Slack's mention tokens.

    A name nobody has stays as typed, as in Slack (so `#12`, a deal number, stays text).
    """
    by_name = {u.name.lower(): u for u in users if not u.is_bot}
    by_channel = {c.name.lower(): c for c in channels if not c.is_im}
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def user(match: re.Match[str]) -> str:
        found = by_name.get(match.group(1).lower())
        return f"<@{found.id}|{found.name}>" if found else match.group(0)

    def channel(match: re.Match[str]) -> str:
        found = by_channel.get(match.group(1).lower())
        return f"<#{found.id}|{found.name}>" if found else match.group(0)

    return _CHANNEL.sub(channel, _USER.sub(user, escaped))
