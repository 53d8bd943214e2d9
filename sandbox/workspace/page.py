"""Everything the page draws for one person, as JSON (the body of GET /workspace/state)."""

from __future__ import annotations

import dataclasses
import mimetypes
from collections.abc import Mapping
from typing import Any

from sandbox.slack_api import (
    BOT_USER_ID,
    DEFAULT_CHANNEL,
    Channel,
    Ephemeral,
    FakeSlack,
    Message,
    UploadedFile,
    User,
    View,
)
from sandbox.workspace.actions import COMMANDS, SHORTCUTS, Logged, Workspace

JSON = dict[str, Any]


def page_state(ws: Workspace, user: str) -> JSON:
    """Everything the page draws for one person, as JSON."""
    user = ws.person(user)
    fake = ws.fake
    # Read first: a change made while this state is gathered then shows up as a new version.
    version = ws.version()
    channels = [c for c in fake.channels.values() if not c.is_im]
    channels.append(fake.channels[fake.dm_channel(user)])
    stack = fake.open_views(user)
    home = fake.home(user)
    return {
        "version": version,
        "me": user,
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "users": [_user_json(u) for u in fake.users.values()],
        "channels": [_channel_json(c) for c in channels],
        "messages": _messages(fake, user, [c.id for c in channels]),
        "modal": _modal_json(stack[-1], len(stack)) if stack else None,
        "home": {"id": home.id, "hash": home.hash, "blocks": home.blocks} if home else None,
        "violations": list(fake.violations),
        "deliveries": [logged_json(d) for d in ws.deliveries[-12:]],
        "shortcuts": [{"name": n, "callback_id": c} for n, c in SHORTCUTS],
        "commands": list(COMMANDS),
        "clock": _clock_json(ws),
    }


def _messages(fake: FakeSlack, user: str, channel_ids: list[str]) -> dict[str, list[JSON]]:
    """Per channel, the messages this person sees (their ephemerals too), threads inline."""
    files = {f.id: _file_json(f) for f in fake.files if f.completed}
    mine = fake.ephemerals(user)
    messages: dict[str, list[JSON]] = {}
    for channel in channel_ids:
        shown = []
        for message in fake.messages(channel):
            replies = [_message_json(r, files) for r in fake.thread(channel, message.ts)]
            replies += [
                _ephemeral_json(e)
                for e in mine
                if e.channel == channel and e.thread_ts == message.ts
            ]
            replies.sort(key=lambda m: float(m["ts"]))
            shown.append({**_message_json(message, files), "replies": replies})
        shown += [_ephemeral_json(e) for e in mine if e.channel == channel and not e.thread_ts]
        shown.sort(key=lambda m: float(m["ts"]))
        messages[channel] = shown
    return messages


def _clock_json(ws: Workspace) -> JSON:
    teams = ws.runner.teams(ws.fake.team_id)
    return {
        "now": ws.clock().isoformat(),
        "moved_days": round(ws.clock.moved.total_seconds() / 86400, 2),
        "tz": teams[0].timezone if teams else "UTC",
    }


def _user_json(user: User) -> JSON:
    return {
        "id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "is_admin": user.is_admin,
        "is_bot": user.is_bot,
        "tz": user.tz,
    }


def _channel_json(channel: Channel) -> JSON:
    return {
        "id": channel.id,
        "name": "pipebot" if channel.is_im else channel.name,
        "is_im": channel.is_im,
        "default": channel.id == DEFAULT_CHANNEL,
    }


def _file_json(upload: UploadedFile) -> JSON:
    kind = mimetypes.guess_type(upload.filename)[0] or ""
    return {
        "id": upload.id,
        "name": upload.filename,
        "title": upload.title or upload.filename,
        "url": f"workspace/files/{upload.id}",
        "image": kind.startswith("image/"),
        "size": upload.length,
    }


def _message_json(message: Message, files: Mapping[str, JSON]) -> JSON:
    return {
        "ts": message.ts,
        "user": message.user,
        "bot": message.user == BOT_USER_ID,
        "text": message.text,
        "blocks": message.blocks,
        "files": [files[f] for f in message.files if f in files],
        "thread_ts": message.thread_ts,
        "edited": bool(message.edits),
        "ephemeral": False,
    }


def _ephemeral_json(eph: Ephemeral) -> JSON:
    return {
        "ts": eph.ts,
        "user": BOT_USER_ID,
        "bot": True,
        "text": eph.text,
        "blocks": eph.blocks,
        "files": [],
        "thread_ts": eph.thread_ts,
        "edited": bool(eph.edits),
        "ephemeral": True,
        "replies": [],
    }


def _modal_json(view: View, depth: int) -> JSON:
    return {
        "id": view.id,
        "hash": view.hash,
        "callback_id": view.callback_id,
        "title": view.view.get("title"),
        "submit": view.view.get("submit"),
        "close": view.view.get("close"),
        "blocks": view.blocks,
        "errors": view.errors or {},
        "state": view.state_values,
        "depth": depth,
        "root_view_id": view.root_view_id,
    }


def logged_json(entry: Logged) -> JSON:
    """One delivery as the developer panel lists it."""
    return dataclasses.asdict(entry)
