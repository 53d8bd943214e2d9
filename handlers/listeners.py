"""Ack first, work after: the parts of a Bolt listener pipebot registers, and who acted.

Each listener is registered the way Bolt documents lazy listeners,
`app.action(...)(ack=..., lazy=[...])`, on an app in `process_before_response` mode: the `ack=`
part answers Slack from the request thread, then each `lazy=` part runs on the app's work pool.
Bolt runs listeners first in first out on a small pool, so a listener that acked itself would
wait for the work of every request queued ahead of it (docs/PERFORMANCE.md, "Slack ack
latency"); an `ack=` that only acks waits for nothing.

- Most listeners: `ack=ack_now, lazy=[guarded(listener)]`; `listener` never calls `ack()`.
- Modal submissions: `ack=guarded(submitted)` writes and answers the modal (errors on a field
  need the write's outcome), `lazy=[guarded(shown)]` makes the Slack calls that show it.
"""

from __future__ import annotations

from slack_bolt import Ack
from slack_bolt.kwargs_injection import Args

from handlers.common import Request
from handlers.errors import guarded

__all__ = ["ack_now", "acting", "guarded"]


def ack_now(ack: Ack) -> None:
    """The `ack=` part of a listener whose work all runs after the ack: answer Slack at once."""
    ack()


def acting(args: Args) -> Request:
    """Who acted on a message or modal, where, and the tools to answer them."""
    body = args.body
    container = body.get("container") or {}
    return Request(
        pipe=args.context["pipe"],
        client=args.client,
        user_id=str(body["user"]["id"]),
        channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
        respond=args.respond,
        trigger_id=body.get("trigger_id"),
    )
