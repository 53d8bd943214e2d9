"""The bot end to end: real HTTP, signed requests, a real database and the fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.app import PipebotApp, build_app
from bot.server import build_asgi
from bot.settings import Settings, get_settings
from sandbox.payloads import SlackClientSimulator
from sandbox.slack_api import FakeSlack, FakeSlackServer, ThreadedServer
from storage.db import Database
from tests.conftest import FrozenClock

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"


@dataclass
class Bot:
    """A running bot and everything around it."""

    fake: FakeSlack
    app: PipebotApp
    slack: SlackClientSimulator
    db: Database
    clock: FrozenClock
    url: str


def bot_settings(db: Database, fake_server: FakeSlackServer) -> Settings:
    """Settings for a bot on the test database that talks to the fake Slack."""
    return Settings(
        database_url=db.url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake_server.base_url,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def fake_server() -> Iterator[FakeSlackServer]:
    """The fake Slack Web API on a free local port."""
    with FakeSlackServer(FakeSlack(token=TOKEN)) as server:
        yield server


@pytest.fixture
def bot(db: Database, clock: FrozenClock, fake_server: FakeSlackServer) -> Iterator[Bot]:
    """pipebot over HTTP on a free port, talking to the fake Slack."""
    app = build_app(bot_settings(db, fake_server), db, clock=clock, know_identity=True)
    with ThreadedServer(build_asgi(app, db)) as server:
        url = f"{server.url}/slack/events"
        slack = SlackClientSimulator(url, SECRET, fake_server.fake)
        yield Bot(fake=fake_server.fake, app=app, slack=slack, db=db, clock=clock, url=url)
    app.drain()
    assert fake_server.fake.violations == [], fake_server.fake.violations


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, fake_server: FakeSlackServer, db: Database
) -> Iterator[dict[str, str]]:
    """Environment variables pointing pipebot at the test database and the fake Slack."""
    values = {
        "DATABASE_URL": db.url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_server.base_url,
    }
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()
