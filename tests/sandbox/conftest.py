"""Fixtures: a fake Slack served over real HTTP, with a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from sandbox.slack_api import DEFAULT_TOKEN, FakeClock, FakeSlack, FakeSlackServer


@pytest.fixture
def clock() -> FakeClock:
    """A clock that only moves when the test says so."""
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def fake(clock: FakeClock) -> FakeSlack:
    """A fresh fake workspace on the manual clock."""
    return FakeSlack(now=clock)


@pytest.fixture
def server(fake: FakeSlack) -> Iterator[FakeSlackServer]:
    """The fake served on a free local port."""
    with FakeSlackServer(fake) as running:
        yield running


@pytest.fixture
def client(server: FakeSlackServer) -> WebClient:
    """A real slack_sdk client pointed at the fake."""
    return WebClient(token=DEFAULT_TOKEN, base_url=server.base_url, timeout=5)
