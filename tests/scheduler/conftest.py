"""Scheduler fixtures: a frozen clock, the fake Slack over HTTP, and a runner wired to both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from slack_sdk.http_retry import builtin_handlers

from bot.app import build_client
from bot.settings import Settings
from sandbox.slack_api import FakeClock, FakeSlack, FakeSlackServer
from scheduler.runner import Runner
from scheduler.sender import Pacer
from storage.db import Database
from tests.conftest import FrozenClock


@dataclass
class Harness:
    """Everything a scheduler test drives."""

    db: Database
    fake: FakeSlack
    clock: FrozenClock
    slack_clock: FakeClock
    server: FakeSlackServer

    def runner(self, pacer: Pacer | None = None) -> Runner:
        """A fresh runner, as a new process or another replica would have."""
        settings = Settings(
            slack_bot_token=self.fake.token,
            slack_api_url=self.server.base_url,
            _env_file=None,  # type: ignore[call-arg]
        )
        pacer = pacer or Pacer(sleep=self.slack_clock.advance, monotonic=self.slack_clock)
        return Runner(self.db, build_client(settings), clock=self.clock, pacer=pacer)


@pytest.fixture
def harness(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A runner at Monday 2026-11-30 09:00 UTC, against the fake Slack."""
    slack_clock = FakeClock()

    class Sleeper:
        """slack_sdk's rate-limit retry sleeps on our clock, so tests never wait."""

        @staticmethod
        def sleep(seconds: float) -> None:
            slack_clock.advance(seconds)

    monkeypatch.setattr(builtin_handlers, "time", Sleeper)
    fake = FakeSlack(now=slack_clock)
    with FakeSlackServer(fake) as server:
        yield Harness(
            db=db,
            fake=fake,
            clock=FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
            slack_clock=slack_clock,
            server=server,
        )
