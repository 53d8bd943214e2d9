"""The local workspace served on a free port: the fake Slack, the bot and the page, one app."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app import PipebotApp
from sandbox.demo import seed_demo
from sandbox.slack_api import ThreadedServer
from sandbox.workspace import Demo, DemoClock, build_demo, post_chatter
from storage.db import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Page

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
SALES = "C0SALES"
# Monday 2026-11-30 10:00 UTC (11:00 in Paris, the demo team's zone): the digest is due today.
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def pytest_addoption(parser: pytest.Parser) -> None:
    """--docs-img: the browser test also writes docs/img/deal-card.png and digest.png."""
    parser.addoption(
        "--docs-img",
        action="store_true",
        default=False,
        help="write the README screenshots to docs/img/ (browser test)",
    )


class _Late:
    """An ASGI app set once the server knows its port (the bot's API URL needs the port)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class Running:
    """A served workspace and a small JSON client for its endpoints."""

    demo: Demo
    url: str

    def get(self, path: str) -> tuple[int, Any]:
        """GET a workspace endpoint; returns (status, parsed JSON or raw bytes)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                raw, status = response.read(), response.status
                kind = response.headers.get("content-type", "")
        except urllib.error.HTTPError as exc:
            raw, status, kind = exc.read(), exc.code, exc.headers.get("content-type", "")
        return status, json.loads(raw) if "json" in kind else raw

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST JSON to a workspace endpoint."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def state(self, user: str = ALICE) -> dict[str, Any]:
        """The page's state for a user."""
        status, body = self.get(f"/workspace/state?user={user}")
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    def settled(self, page: Page) -> None:
        """Wait until the bot's after-ack work is done and `page` draws the newest state."""
        assert isinstance(self.demo.bot, PipebotApp)
        assert self.demo.bot.wait_idle(10.0), "the bot was still working after 10 s"
        version = self.state()["version"]
        page.wait_for_function("(v) => document.body.dataset.version === v", arg=version)

    def wait(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait for the bot's after-ack work; return what the predicate saw."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = predicate()
            if seen:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"not seen within {timeout} s")


def serve(db: Database, *, seed: bool) -> Iterator[Running]:
    """Serve a workspace over `db` at START (seeded with the demo team, or empty)."""
    clock = DemoClock(start=START)
    if seed:
        seed_demo(db, now=clock())
    late = _Late()
    with ThreadedServer(late) as server:
        demo = build_demo(db, base_url=server.url, clock=clock)
        if seed:
            post_chatter(demo.fake)
        late.app = demo.asgi
        yield Running(demo, server.url)


@pytest.fixture
def ws(db: Database) -> Iterator[Running]:
    """An empty workspace over the `db` fixture (SQLite, and PostgreSQL when configured)."""
    yield from serve(db, seed=False)


@pytest.fixture
def seeded(db: Database) -> Iterator[Running]:
    """The demo team's workspace over the `db` fixture."""
    yield from serve(db, seed=True)


@pytest.fixture
def sqlite_seeded(tmp_path: Path) -> Iterator[Running]:
    """The demo team's workspace on a temporary SQLite file (what `pipebot demo` uses)."""
    url = f"sqlite:///{tmp_path / 'pipebot-demo.db'}"
    upgrade(url)
    db = Database(url)
    try:
        yield from serve(db, seed=True)
    finally:
        db.dispose()


def chromium_path() -> str | None:
    """Debian's chromium, or any chromium on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/ (gitignored): where the browser test leaves its screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def docs_img(request: pytest.FixtureRequest) -> Path | None:
    """docs/img/ when --docs-img was given, else None."""
    # The option exists only when tests/browser is named on the command line.
    return DOCS_IMG if request.config.getoption("--docs-img", default=False) else None
