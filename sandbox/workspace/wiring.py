"""Wiring the sandbox: the fake Slack, the bot in HTTP mode and the scheduler on one app."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from slack_bolt import App
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from bot.app import build_app
from bot.server import build_asgi
from bot.settings import Settings
from pipeline.service import TeamDefaults
from sandbox.payloads import SlackClientSimulator
from sandbox.slack_api import DEFAULT_CHANNEL, FakeSlack, create_app
from sandbox.workspace.actions import Workspace
from sandbox.workspace.clock import DemoClock
from sandbox.workspace.routes import workspace_routes
from scheduler.runner import Runner
from storage import demo_queries
from storage.db import Database

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class Demo:
    """The whole sandbox: the ASGI app to serve and what it is made of."""

    asgi: Starlette
    workspace: Workspace
    fake: FakeSlack
    bot: App
    runner: Runner
    clock: DemoClock
    db: Database
    signing_secret: str


def build_demo(
    db: Database,
    *,
    base_url: str,
    clock: DemoClock | None = None,
    signing_secret: str | None = None,
    token: str | None = None,
    settings: Settings | None = None,
) -> Demo:
    """Wire the fake Slack, the bot in HTTP mode and the scheduler around one database."""
    clock = clock or DemoClock()
    token = token or f"xoxb-demo-{secrets.token_hex(12)}"
    secret = signing_secret or secrets.token_hex(32)
    base_url = base_url.rstrip("/")
    fake = FakeSlack(token=token, now=clock.timestamp, public_url=base_url)
    base = settings or Settings(_env_file=None)
    settings = base.model_copy(
        update={
            "database_url": db.url,
            "slack_bot_token": token,
            "slack_signing_secret": secret,
            "slack_app_token": None,
            "slack_api_url": fake.api_url,
        }
    )
    bot = build_app(settings, db, clock=clock)
    defaults = TeamDefaults(settings.default_timezone, settings.default_currency)
    runner = Runner(db, bot.client, clock=clock, defaults=defaults)
    slack = SlackClientSimulator(f"{base_url}/slack/events", secret, fake)
    workspace = Workspace(fake, slack, runner, clock)
    asgi = Starlette(
        routes=[
            *workspace_routes(workspace),
            *build_asgi(bot, db).routes,
            *create_app(fake).routes,
        ],
        # Loopback names only, so a DNS-rebinding page cannot drive the workspace.
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS))],
    )
    return Demo(asgi, workspace, fake, bot, runner, clock, db, secret)


def has_deals(db: Database, team_id: str) -> bool:
    """True when the team has at least one deal (the demo then keeps its data)."""
    with db.read_scope() as session:
        return demo_queries.has_deals(session, team_id)


# What people say in #sales before anyone uses the bot: something to run the shortcuts on.
CHATTER: tuple[tuple[str, str, str], ...] = (
    ("C0GENERAL", "U0ALICE", "Welcome to the pipebot demo! Deals live in <#C0SALES>."),
    (
        DEFAULT_CHANNEL,
        "U0BOB",
        "Vandelay Industries wants 30k EUR of seats\n"
        "Just got off the phone with them: they decide by 18/12, *budget is approved*.",
    ),
    (
        DEFAULT_CHANNEL,
        "U0CAROL",
        "Cyberdyne sent the security questionnaire back, all green :tada:",
    ),
)


def post_chatter(fake: FakeSlack) -> None:
    """People's messages in the channels, so the "⋯" shortcuts have something to act on."""
    for channel, user, text in CHATTER:
        if channel in fake.channels and user in fake.users:
            fake.post_user_message(channel, user, text)
