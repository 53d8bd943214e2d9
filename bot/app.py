"""The app factory: a Bolt app wired to the database, the clock and the Slack Web API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot import errors
from bot.context import pipe_middleware
from bot.settings import Settings
from pipeline.clock import Clock, utcnow
from pipeline.service import TeamDefaults
from storage.db import Database


class CredentialsError(Exception):
    """A missing or unusable Slack credential, explained for a person."""


HOW_TO = (
    "Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → From a "
    "manifest), install it to your workspace, then copy {what}. See README.md, "
    '"Connect a real Slack workspace".'
)


def require(settings: Settings, *, socket_mode: bool) -> None:
    """Refuse to start without the credentials the chosen mode needs."""
    if not settings.slack_bot_token:
        raise CredentialsError(
            "SLACK_BOT_TOKEN is not set. "
            + HOW_TO.format(what="the Bot User OAuth Token (xoxb-…) from OAuth & Permissions")
        )
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise CredentialsError(
            "SLACK_BOT_TOKEN does not look like a bot token: it must start with xoxb-. "
            + HOW_TO.format(what="the Bot User OAuth Token from OAuth & Permissions")
        )
    # Socket Mode needs no signature: requests come over the app's own WebSocket.
    if not socket_mode and not settings.slack_signing_secret:
        raise CredentialsError(
            "SLACK_SIGNING_SECRET is not set. "
            + HOW_TO.format(what="the Signing Secret from Basic Information")
        )
    if socket_mode and not (settings.slack_app_token or "").startswith("xapp-"):
        raise CredentialsError(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- for Socket Mode. "
            + HOW_TO.format(
                what="an App-Level Token with the connections:write scope (Basic Information)"
            )
        )


class PipebotApp(App):
    """A Bolt app whose listeners never let an exception escape (see `errors.guard`)."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        """Register a slash command listener, guarded."""
        return _guarded(super().command(*args, **kwargs))

    def action(self, *args: Any, **kwargs: Any) -> Any:
        """Register a block action listener, guarded."""
        return _guarded(super().action(*args, **kwargs))

    def view(self, *args: Any, **kwargs: Any) -> Any:
        """Register a view submission listener, guarded."""
        return _guarded(super().view(*args, **kwargs))

    def shortcut(self, *args: Any, **kwargs: Any) -> Any:
        """Register a shortcut listener, guarded."""
        return _guarded(super().shortcut(*args, **kwargs))

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register an event listener, guarded."""
        return _guarded(super().event(*args, **kwargs))


def _guarded(register: Callable[..., Any]) -> Callable[..., Any]:
    def decorator(*functions: Callable[..., Any], **kwargs: Any) -> Any:
        return register(*[errors.guard(f) for f in functions], **kwargs)

    return decorator


def build_client(settings: Settings) -> WebClient:
    """A Web API client for SLACK_API_URL that retries connection errors and rate limits."""
    base_url = settings.slack_api_url
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=settings.slack_bot_token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(
    settings: Settings,
    db: Database,
    *,
    clock: Clock = utcnow,
    client: WebClient | None = None,
) -> App:
    """The Bolt app with every listener registered."""
    from handlers import register_all  # handlers import bot's views; keep bot importable alone

    app = PipebotApp(
        # The client carries the bot token (one install, one token, from the environment);
        # `pipebot run` checks it with auth.test itself, to explain a refusal.
        client=client or build_client(settings),
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=False,
        logger=logging.getLogger("pipebot.bolt"),
    )
    defaults = TeamDefaults(timezone=settings.default_timezone, currency=settings.default_currency)
    app.use(pipe_middleware(db, clock, defaults))
    errors.register(app)
    register_all(app)
    return app
