"""Daily reminders: content, exactly-once delivery, catch-up, failures, DST."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pipeline.metrics import compute
from pipeline.money import Money
from pipeline.service import NextStep
from sandbox.blockkit import validate_blocks
from sandbox.slack_api import DEFAULT_CHANNEL
from scheduler.sender import Outcome
from storage.db import Database
from storage.models import Delivery
from storage.reports import reports_in
from storage.services import service_in
from tests.scheduler.conftest import Harness
from views.ids import Action

T = "T0DEMO"
ALICE, BOB = "U0ALICE", "U0BOB"


def setup_team(h: Harness, *, tz: str = "UTC", reminders: str = "09:00 mon-fri") -> None:
    """A team with a stale deal, an overdue next step, a past close date and a fresh deal."""
    start = h.clock.now
    h.clock.now = start - timedelta(days=30)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        p.set_timezone(tz)
        p.set_reminders(reminders)
        p.create("Stale Co", actor=ALICE, amount=Money(Decimal(1000), "USD"), stage="demo")
        p.create(
            "Late Step Inc",
            actor=BOB,
            next_step=NextStep("send pricing", date(2026, 11, 20)),
        )
        p.create("Slipping Ltd", actor=BOB, close_date=date(2026, 11, 25))
    h.clock.now = start - timedelta(days=1)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.create("Fresh", actor=ALICE)
        p.log_activity("Late Step", "call", "left a voicemail", actor=BOB)
        p.log_activity("Slipping", "email", "sent terms", actor=BOB)
    h.clock.now = start


def deliveries(h: Harness, kind: str = "reminders") -> list:  # type: ignore[type-arg]
    with h.db.read_scope() as s:
        return list(
            s.execute(
                select(Delivery.team_id, Delivery.target, Delivery.status).where(
                    Delivery.kind == kind
                )
            )
        )


def test_reminder_lists_what_metrics_call_due_grouped_by_owner(harness: Harness) -> None:
    setup_team(harness)
    outcomes = harness.runner().tick()
    assert outcomes == [Outcome.SENT]
    [message] = harness.fake.messages(DEFAULT_CHANNEL)
    assert validate_blocks(message.blocks) == []
    text = str(message.blocks)
    with harness.db.read_scope() as s:
        m = compute(reports_in(s, T), as_of=harness.clock.now)
    expected = set(m.stale) | set(m.overdue_next_steps) | set(m.past_close_date)
    assert expected == {1, 2, 3}
    for number in expected:
        assert f"#{number} " in text
    assert "#4 Fresh" not in text
    assert "<@U0ALICE>" in text
    assert "<@U0BOB>" in text
    assert "quiet for 30 days" in text
    assert "send pricing" in text
    assert message.text.startswith("Deals to follow up today: 3 deals")
    actions = [b for b in message.blocks if b["type"] == "actions"]
    ids = {e["action_id"].split(":")[0] for b in actions for e in b["elements"]}
    assert {Action.ADVANCE, Action.LOG, Action.PUSH_CLOSE, Action.SNOOZE, Action.LOST} <= ids


def test_nothing_posted_on_a_day_with_nothing_due(harness: Harness) -> None:
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        p.create("Fresh", actor=ALICE)
    assert harness.runner().tick() == []
    assert harness.fake.messages(DEFAULT_CHANNEL) == []
    # ...and the day is settled: later ticks do not recompute it.
    assert [d.target for d in deliveries(harness, "reminders-run")] == ["*"]


def test_snoozed_deal_stays_quiet_until_its_date(harness: Harness) -> None:
    setup_team(harness)
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        for ref in ("1", "2", "3"):
            p.snooze(ref, date(2026, 12, 2), actor=ALICE)
    assert harness.runner().tick() == []
    harness.clock.advance(days=2)  # Wednesday 2 Dec: the snooze ends today
    harness.runner().tick()
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


def test_reruns_restarts_and_replicas_post_once(harness: Harness) -> None:
    setup_team(harness)
    first, second = harness.runner(), harness.runner()
    assert first.tick() == [Outcome.SENT]
    assert second.tick() == []
    harness.clock.advance(minutes=30)
    assert harness.runner().tick() == []
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


def test_two_schedulers_at_the_same_moment_post_once(harness: Harness) -> None:
    setup_team(harness)
    runners = [harness.runner() for _ in range(4)]
    barrier = threading.Barrier(len(runners))
    results: list[list[Outcome]] = []

    def go(runner) -> None:  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        results.append(runner.tick())

    threads = [threading.Thread(target=go, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(o for r in results for o in r).count(Outcome.SENT) == 1
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


def test_catch_up_after_downtime_within_the_day(harness: Harness) -> None:
    setup_team(harness)
    harness.clock.now = datetime(2026, 11, 30, 16, 45, tzinfo=UTC)  # down since before 09:00
    assert harness.runner().tick() == [Outcome.SENT]


def test_missed_day_is_skipped_not_posted_late(harness: Harness) -> None:
    setup_team(harness)
    harness.clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # before today's 09:00
    assert harness.runner().tick() == []
    # Down all of Monday; back Tuesday 08:59: Monday's run is gone, Tuesday's not yet due.
    harness.clock.now = datetime(2026, 12, 1, 8, 59, tzinfo=UTC)
    assert harness.runner().tick() == []
    assert harness.fake.messages(DEFAULT_CHANNEL) == []
    harness.clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert harness.runner().tick() == [Outcome.SENT]


def test_database_down_at_fire_time_then_back_posts_once(harness: Harness) -> None:
    setup_team(harness)
    runner = harness.runner()
    # A real outage: nothing listens on port 1, so every connection is refused.
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/test")
    runner.db = runner.sender.db = down
    assert runner.tick() == []
    down.dispose()
    runner.db = runner.sender.db = harness.db
    harness.clock.advance(minutes=1)
    assert runner.tick() == [Outcome.SENT]
    assert runner.tick() == []
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


def test_rate_limit_is_waited_out(harness: Harness) -> None:
    setup_team(harness)
    harness.fake.fail_next("chat.postMessage", status=429, retry_after=3)
    before = harness.slack_clock()
    assert harness.runner().tick() == [Outcome.SENT]
    assert harness.slack_clock() - before >= 3
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


@pytest.mark.parametrize("posted_anyway", [False, True])
def test_server_error_then_success_gives_one_message(harness: Harness, posted_anyway: bool) -> None:
    setup_team(harness)
    harness.fake.fail_next("chat.postMessage", status=500, side_effect=posted_anyway)
    runner = harness.runner()
    assert runner.tick() == [Outcome.RETRY]
    harness.clock.advance(seconds=20)
    assert runner.tick() == []  # backoff not over yet
    harness.clock.advance(seconds=20)
    assert runner.tick() == [Outcome.FOUND if posted_anyway else Outcome.SENT]
    assert runner.tick() == []
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1
    assert [d.status for d in deliveries(harness)] == ["sent"]


def test_permanent_error_fails_tells_admins_once_and_spares_other_teams(
    harness: Harness,
) -> None:
    setup_team(harness)
    other = "T0OTHER"
    with harness.db.session_scope() as s:
        p = service_in(s, other, clock=harness.clock)
        p.set_channel("C0GENERAL")
        p.set_digest("off")
        harness.clock.now -= timedelta(days=30)
        p.create("Old deal", actor=BOB)
        harness.clock.now += timedelta(days=30)
    with harness.db.session_scope() as s:
        service_in(s, T, clock=harness.clock).set_channel("C0GONE")
    outcomes = harness.runner().tick()
    assert sorted(outcomes) == sorted([Outcome.FAILED, Outcome.SENT])
    assert len(harness.fake.messages("C0GENERAL")) == 1
    alerts = harness.fake.messages(harness.fake.dm_channel(ALICE))
    assert len(alerts) == 1
    assert "channel_not_found" in alerts[0].text
    harness.clock.advance(hours=1)
    assert harness.runner().tick() == []
    assert len(harness.fake.messages(harness.fake.dm_channel(ALICE))) == 1
    assert [d.status for d in deliveries(harness) if d.team_id == T] == ["failed"]


def test_dm_mode_sends_each_owner_their_own(harness: Harness) -> None:
    setup_team(harness)
    with harness.db.session_scope() as s:
        service_in(s, T, clock=harness.clock).set_reminder_mode("channel+dm")
    outcomes = harness.runner().tick()
    assert outcomes.count(Outcome.SENT) == 3
    alice = harness.fake.messages(harness.fake.dm_channel(ALICE))
    bob = harness.fake.messages(harness.fake.dm_channel(BOB))
    assert "#1 Stale Co" in str(alice[0].blocks)
    assert "#2" not in str(alice[0].blocks)
    assert "#2 Late Step Inc" in str(bob[0].blocks)
    assert "#3 Slipping Ltd" in str(bob[0].blocks)


def test_500_stale_deals_fit_block_kit_limits(harness: Harness) -> None:
    start = harness.clock.now
    harness.clock.now = start - timedelta(days=60)
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        for i in range(500):
            p.create(f"Deal {i:03d} " + "x" * 150, actor=ALICE if i % 2 else BOB)
    harness.clock.now = start
    assert harness.runner().tick() == [Outcome.SENT]
    [message] = harness.fake.messages(DEFAULT_CHANNEL)
    assert len(message.blocks) <= 50
    assert validate_blocks(message.blocks) == []
    replies = harness.fake.thread(DEFAULT_CHANNEL, message.ts)
    assert replies
    assert all(len(r.blocks) <= 50 for r in replies)
    assert "more" in str(message.blocks)
    with harness.db.read_scope() as s:
        # The post, each thread reply (follow-ups are claimed too) and the run's mark.
        rows = s.execute(select(func.count()).select_from(Delivery)).scalar_one()
        assert rows == 2 + len(replies)


@pytest.mark.parametrize(
    ("tz", "day", "local", "utc_hour"),
    [
        # Europe/Paris: clocks go forward 29 March, back 25 October 2026.
        ("Europe/Paris", date(2026, 3, 30), "09:00", 7),
        ("Europe/Paris", date(2026, 10, 26), "09:00", 8),
        # America/New_York: forward 8 March, back 1 November 2026.
        ("America/New_York", date(2026, 3, 9), "09:00", 13),
        ("America/New_York", date(2026, 11, 2), "09:00", 14),
    ],
)
def test_nine_am_local_across_dst(
    harness: Harness, tz: str, day: date, local: str, utc_hour: int
) -> None:
    harness.clock.now = datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=40)
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        p.set_timezone(tz)
        p.set_reminders(f"{local} daily")
        p.create("Quiet", actor=ALICE)
    fire = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=utc_hour)
    harness.clock.now = fire - timedelta(minutes=1)
    assert harness.runner().tick() == []
    harness.clock.now = fire
    assert harness.runner().tick() == [Outcome.SENT]


@pytest.mark.parametrize(
    ("tz", "day", "local", "first_utc"),
    [
        # 02:30 does not exist on the spring-forward night: it runs once, just after the jump.
        ("Europe/Paris", date(2026, 3, 29), "02:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("America/New_York", date(2026, 3, 8), "02:30", datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
        # 01:30 happens twice on the fall-back night: it runs once, at the first.
        ("America/New_York", date(2026, 11, 1), "01:30", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("Europe/Paris", date(2026, 10, 25), "02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_night_jobs_run_once_on_dst_nights(
    harness: Harness, tz: str, day: date, local: str, first_utc: datetime
) -> None:
    harness.clock.now = first_utc - timedelta(days=40)
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        p.set_timezone(tz)
        p.set_reminders(f"{local} daily")
        p.create("Quiet", actor=ALICE)
    harness.clock.now = first_utc - timedelta(minutes=1)
    assert harness.runner().tick() == []
    sent = []
    for minutes in range(0, 150, 10):  # through the doubled hour and past it
        harness.clock.now = first_utc + timedelta(minutes=minutes)
        sent += harness.runner().tick()
    assert sent == [Outcome.SENT]
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1


def test_runs_missed_past_their_grace_are_logged_not_posted(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    setup_team(harness)
    with harness.db.session_scope() as s:
        service_in(s, T, clock=harness.clock).set_digest("mon 09:00")
    # Down from before Monday 09:00 until Thursday 08:00: Monday's to Wednesday's reminders
    # and Monday's digest (2-day grace) are gone; Thursday's reminders are not due yet.
    harness.clock.now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    runner = harness.runner()
    with caplog.at_level("WARNING", logger="pipebot.scheduler"):
        missed = runner.report_missed()
    assert sorted((r.kind, r.due.period) for r in missed) == [
        ("digest", "2026-W49"),
        ("reminders", "2026-12-02"),
    ]
    assert "skipped the digest of T0DEMO for 2026-W49" in caplog.text
    assert runner.tick() == []
    assert harness.fake.messages(DEFAULT_CHANNEL) == []
    # A run that did happen is not reported.
    harness.clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert runner.tick() == [Outcome.SENT]
    harness.clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert [(r.kind, r.due.period) for r in runner.report_missed()] == [("digest", "2026-W49")]
