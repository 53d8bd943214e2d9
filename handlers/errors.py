"""Errors mapped in one place: domain errors become a polite ephemeral, the rest an apology."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.kwargs_injection import Args, build_required_kwargs
from slack_bolt.util.utils import get_arg_names_of_callable
from slack_sdk import WebClient

from pipeline.errors import PipebotError
from storage.inbox import AlreadyDone

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


def handle_error(
    error: Exception,
    body: dict[str, Any],
    client: WebClient,
    response: BoltResponse | None,
    respond: Any = None,
) -> BoltResponse | None:
    """Bolt's global error handler (`app.error`): tell the user what went wrong."""
    tell(client, body, user_message(error), respond)
    # Not acked yet: answer 200 so Slack shows our message rather than its own error.
    return BoltResponse(status=200, body="") if response is not None else None


def guarded(listener: Callable[..., Any]) -> Callable[[Args], Any]:
    """`listener`, given the arguments Bolt injects, with no exception escaping it.

    Bolt hands a lazy listener's exception to no error handler (it only logs it), and one
    raised while acking turns Slack's answer into an HTTP 500: either way the user must hear
    about it, so listeners run inside this wrapper. A run of a request that another run has
    already applied (`AlreadyDone`, from the inbox) stops in silence. It takes Bolt's `args`
    and lets Bolt's own injection pick the listener's arguments, so a listener declares them
    as in any Bolt app.
    """
    names = get_arg_names_of_callable(listener)

    def run(args: Args) -> Any:
        kwargs = build_required_kwargs(
            logger=args.logger,
            required_arg_names=list(names),  # Bolt may pop a leading self/cls from it
            request=args.request,
            response=args.response,
            this_func=listener,
        )
        try:
            return listener(**kwargs)
        except AlreadyDone:
            return None  # another run of this request applied it and answers the user
        except Exception as error:
            if args.ack.response is None:
                args.ack()
            pipe = args.context.get("pipe")
            # The request's outcome is this error: settle its inbox row before saying so, so
            # a run after a crash never says it twice.
            if pipe is not None and not pipe.settle():
                return None
            respond = args.respond if args.body.get("response_url") else None
            tell(args.client, args.body, user_message(error), respond)
            return None

    # Bolt names a lazy listener's run (and its debug logs) after the function.
    run.__name__ = getattr(listener, "__name__", "listener")
    run.__qualname__ = getattr(listener, "__qualname__", run.__name__)
    return run
