"""The weekly digest job: posted once on Monday with its chart, within its grace window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pipeline.money import Money
from sandbox.blockkit import validate_blocks
from sandbox.slack_api import DEFAULT_CHANNEL
from scheduler.sender import Outcome
from storage.services import service_in
from tests.scheduler.conftest import Harness

T = "T0DEMO"
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def setup_team(h: Harness) -> None:
    h.clock.now = MONDAY_9 - timedelta(days=10)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_reminders("off")
        p.create("Acme", actor="U0ALICE", amount=Money(Decimal(50_000), "USD"), stage="demo")
        p.create("Beta", actor="U0BOB", amount=Money(Decimal(20_000), "USD"))
    h.clock.now = MONDAY_9 - timedelta(days=3)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.win("Acme", actor="U0ALICE")
        p.create("Gamma", actor="U0BOB", amount=Money(Decimal(9_000), "USD"))
    h.clock.now = MONDAY_9


def test_digest_posts_once_with_its_chart_in_three_upload_steps(harness: Harness) -> None:
    setup_team(harness)
    assert harness.runner().tick() == [Outcome.SENT]
    assert harness.runner().tick() == []
    [message] = harness.fake.messages(DEFAULT_CHANNEL)
    assert validate_blocks(message.blocks) == []
    assert len(message.blocks) <= 50
    assert message.text.startswith("Weekly pipeline:")
    assert "1 won for $50K" in message.text
    steps = [
        c.method
        for c in harness.fake.calls
        if c.method in ("files.getUploadURLExternal", "file_upload", "files.completeUploadExternal")
        or c.method.startswith("upload")
    ]
    assert steps[0] == "files.getUploadURLExternal"
    assert steps[-1] == "files.completeUploadExternal"
    [chart] = [f for f in harness.fake.files if f.completed]
    assert chart.data is not None
    assert chart.data.startswith(b"\x89PNG")
    assert chart.thread_ts == message.ts
    assert DEFAULT_CHANNEL in chart.channels


def test_digest_missed_on_monday_is_posted_within_two_days_only(harness: Harness) -> None:
    setup_team(harness)
    harness.clock.now = MONDAY_9 + timedelta(days=1, hours=23)  # Tuesday night: within grace
    assert harness.runner().tick() == [Outcome.SENT]
    harness.fake.reset()
    # The next week: down from before Monday 09:00 until Wednesday 10:00, past the grace.
    harness.clock.now = MONDAY_9 + timedelta(days=9, hours=1)
    assert harness.runner().tick() == []
    assert harness.fake.messages(DEFAULT_CHANNEL) == []


def test_digest_is_not_posted_before_its_time(harness: Harness) -> None:
    setup_team(harness)
    harness.clock.now = MONDAY_9 - timedelta(minutes=1)
    assert harness.runner().tick() == []
