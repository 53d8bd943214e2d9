"""Errors mapped in one place: domain errors become a polite ephemeral, the rest an apology."""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.kwargs_injection import Args
from slack_sdk import WebClient

from pipeline.errors import PipebotError

logger = logging.getLogger("pipebot")


def user_message(error: BaseException) -> str:
    """What the user reads for an error; unexpected ones are logged with a reference."""
    if isinstance(error, PipebotError):
        return f":warning: {error.user_text()}"
    ref = secrets.token_hex(4)
    logger.error("unexpected error, ref %s", ref, exc_info=error)
    return (
        f":boom: Sorry, something went wrong on our side and nothing was changed. "
        f"If it keeps happening, give your admin this reference: `{ref}`."
    )


def tell(client: WebClient, body: dict[str, Any], text: str, respond: Any | None = None) -> None:
    """Show `text` to the user who acted, wherever they acted."""
    try:
        if respond is not None and body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (
            (body.get("channel") or {}).get("id")
            or body.get("channel_id")
            or (body.get("container") or {}).get("channel_id")
        )
        if user_id and channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        elif user_id:
            client.chat_postMessage(channel=user_id, text=text)
    except Exception as exc:  # Slack refused, or is unreachable (e.g. while shutting down)
        logger.warning("could not tell the user about an error: %s", exc)


def register(app: App) -> None:
    """Install the one global error handler."""

    @app.error
    def handle_error(
        error: Exception,
        body: dict[str, Any],
        client: WebClient,
        response: BoltResponse | None,
        respond: Any = None,
    ) -> BoltResponse | None:
        tell(client, body, user_message(error), respond)
        # Not acked yet: answer 200 so Slack shows our message rather than its own error.
        return BoltResponse(status=200, body="") if response is not None else None


def guard(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Run a listener so that no exception escapes it: ack if it has not, then tell the user.

    A listener that raises in the ack phase would turn Slack's answer into an HTTP 500, and
    after the ack (Bolt's lazy listeners) Bolt would only log the error: the user must hear
    about it either way, so errors are mapped here, in one place.
    """
    names = inspect.getfullargspec(inspect.unwrap(listener)).args
    aliases = {"request": "req", "response": "resp"}

    def guarded(args: Args) -> Any:
        kwargs = {
            name: getattr(args, aliases.get(name, name), None)
            if hasattr(args, aliases.get(name, name))
            else args.context.get(name)
            for name in names
        }
        try:
            return listener(**kwargs)
        except Exception as error:
            if args.ack.response is None:
                args.ack()
            respond = args.respond if args.body.get("response_url") else None
            tell(args.client, args.body, user_message(error), respond)
            return None

    guarded.__name__ = getattr(listener, "__name__", "listener")
    guarded.__qualname__ = getattr(listener, "__qualname__", guarded.__name__)
    return guarded
