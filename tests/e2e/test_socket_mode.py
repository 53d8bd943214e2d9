"""`pipebot run` in Socket Mode for real: a subprocess connected to the fake's WebSocket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.payloads import app_home_opened_event, click_payload, command_payload
from sandbox.slack_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_CHANNEL,
    DEFAULT_TEAM_ID,
    DEFAULT_USER,
    EnvelopeKind,
    FakeSlack,
    FakeSlackServer,
    Message,
    SocketAck,
)
from storage.db import Database
from storage.models import InboxEntry
from storage.services import service_in
from tests.e2e.conftest import SECRET, TOKEN
from views.ids import Action, Block

BOOT_TIMEOUT = 60.0


class Bot:
    """`python -m cli run --no-scheduler` in Socket Mode, talking to the fake."""

    def __init__(self, fake: FakeSlack, process: subprocess.Popen[str], log: Path) -> None:
        self.fake = fake
        self.process = process
        self.log = log

    def output(self) -> str:
        """What the bot printed so far."""
        return self.log.read_text(errors="replace")

    def wait_connected(self) -> None:
        """Wait for the bot's Socket Mode connection, failing early if the process dies."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            assert self.process.poll() is None, f"pipebot run exited:\n{self.output()}"
            try:
                self.fake.socket_mode.wait_connected(timeout=0.2)
                return
            except TimeoutError:
                assert time.monotonic() < deadline, f"no connection:\n{self.output()}"

    def deliver(self, kind: EnvelopeKind, payload: dict[str, Any]) -> SocketAck:
        """Push one envelope and return its ack, which must come within Slack's 3 s."""
        envelope_id = self.fake.socket_send(kind, payload)
        ack = self.fake.socket_mode.wait_ack(envelope_id, timeout=10)
        assert not ack.late, f"acked after {ack.elapsed:.2f} s:\n{self.output()}"
        assert ack.elapsed < 3
        return ack

    def stop(self, how: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C (or `how`, e.g. a platform's SIGTERM); returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode


@pytest.fixture
def bot(db: Database, fake_server: FakeSlackServer, tmp_path: Path) -> Iterator[Bot]:
    """pipebot in Socket Mode against the fake Slack and the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_APP_TOKEN=DEFAULT_APP_TOKEN,
        SLACK_API_URL=fake_server.base_url,
    )
    log = tmp_path / "pipebot.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--no-scheduler"],
            env=env,
            cwd=tmp_path,  # so no developer's .env file is read
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Bot(fake_server.fake, process, log)
    try:
        yield running
    finally:
        running.stop()


def deal_cards(fake: FakeSlack) -> list[Message]:
    return [
        m
        for m in fake.messages(DEFAULT_CHANNEL)
        if any(str(b.get("block_id", "")).startswith(Block.ACTIONS) for b in m.blocks)
    ]


def stages(db: Database) -> dict[str, str]:
    with db.read_scope() as session:
        return {d.name: d.stage for d in service_in(session, DEFAULT_TEAM_ID).list_deals()}


def test_pipebot_run_serves_commands_clicks_and_events_over_socket_mode(
    bot: Bot, db: Database
) -> None:
    fake = bot.fake
    bot.wait_connected()
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.response["ok"] is True

    command = command_payload(fake, DEFAULT_USER, "add Acme Corp 50k")
    bot.deliver("slash_commands", command)
    fake.wait_until(lambda: deal_cards(fake), timeout=10)
    [card] = deal_cards(fake)
    assert "Acme Corp" in card.text
    assert stages(db) == {"Acme Corp": "lead"}

    before = len(fake.updates)
    click = click_payload(fake, DEFAULT_USER, DEFAULT_CHANNEL, card.ts, Action.ADVANCE)
    ack = bot.deliver("interactive", click)
    assert ack.payload is None, "Slack drops a block_actions ack payload"
    fake.wait_until(lambda: len(fake.updates) > before, timeout=10)
    assert stages(db) == {"Acme Corp": "qualified"}
    refreshed = fake.message(DEFAULT_CHANNEL, card.ts)
    assert refreshed is not None
    assert "Qualified" in refreshed.text

    home = app_home_opened_event(user_id=DEFAULT_USER, channel_id=fake.dm_channel(DEFAULT_USER))
    assert bot.deliver("events_api", home).payload is None
    fake.wait_until(lambda: fake.home(DEFAULT_USER), timeout=10)

    assert fake.socket_mode.unacked == []
    assert fake.violations == [], fake.violations
    assert bot.stop() == 130, bot.output()
    assert "Traceback" not in bot.output(), bot.output()
    fake.wait_until(lambda: all(c.closed for c in fake.socket_mode.connections), timeout=5)


def test_sigterm_stops_socket_mode_cleanly(bot: Bot) -> None:
    bot.wait_connected()
    bot.deliver("slash_commands", command_payload(bot.fake, DEFAULT_USER, "add Acme Corp 50k"))
    assert bot.stop(signal.SIGTERM) == 0, bot.output()


def test_socket_mode_requests_are_written_to_the_inbox_before_their_ack(
    bot: Bot, db: Database
) -> None:
    bot.wait_connected()
    bot.deliver("slash_commands", command_payload(bot.fake, DEFAULT_USER, "add Acme Corp 50k"))
    assert bot.stop(signal.SIGTERM) == 0, bot.output()  # finishes the work first
    with db.read_scope() as session:
        [row] = session.execute(select(InboxEntry.mode, InboxEntry.body, InboxEntry.done_at))
    assert row.mode == "socket_mode"
    assert json.loads(row.body)["text"] == "add Acme Corp 50k"  # a replay reads it back
    assert row.done_at is not None
