"""Unknown outcomes and recovered posts: each post, thread reply and chart lands exactly once.

Slack may apply a call and lose its answer (a 5xx after storing it, a connection dropped on
the way back), and pipebot may die between a post and its follow-ups. The client never resends
blind; the ledger's checked retry looks for the copy first, and every follow-up is claimed in
the ledger like the post, so a post found already sent still gets what it is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pipeline.money import Money
from sandbox.slack_api import DEFAULT_CHANNEL
from scheduler import ledger
from scheduler.sender import Outcome, Pacer
from storage.db import Database
from storage.models import Delivery
from storage.services import service_in
from tests.scheduler.conftest import Harness

T = "T0DEMO"
ALICE, BOB = "U0ALICE", "U0BOB"
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DIGEST = ledger.Key(T, "digest", "2026-W49", DEFAULT_CHANNEL)
RETRY_LATER = ledger.backoff(1) + timedelta(seconds=1)


class Crash(BaseException):
    """The process dies here: nothing in pipebot catches it, as nothing survives a SIGKILL."""


def setup_digest_team(h: Harness) -> None:
    """A team whose digest has three thread replies and a chart."""
    h.clock.now = MONDAY_9 - timedelta(days=60)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_reminders("off")
        for i in range(7):
            p.create(f"Quiet {i}", actor=BOB, amount=Money(Decimal(1000 + i), "USD"))
    h.clock.now = MONDAY_9 - timedelta(days=3)
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        p.create("Acme", actor=ALICE, amount=Money(Decimal(50_000), "USD"), stage="demo")
        p.win("Acme", actor=ALICE)
    h.clock.now = MONDAY_9


def charts(h: Harness) -> list[str]:
    """The thread_ts of every chart shared in the channel."""
    return [str(f.thread_ts) for f in h.fake.files if f.completed]


REPLIES = ("Won and lost this week", "Stale deals", "Conversion by stage")


def assert_one_complete_digest(h: Harness) -> None:
    """One digest in the channel, its replies once each in order, and one chart in its thread."""
    [digest] = h.fake.messages(DEFAULT_CHANNEL)
    assert digest.text.startswith("Weekly pipeline:")
    thread = h.fake.thread(DEFAULT_CHANNEL, digest.ts)
    texts = [m.text for m in thread if not m.files]
    assert [t[: len(start)] for t, start in zip(texts, REPLIES, strict=False)] == list(REPLIES)
    assert len(texts) == len(REPLIES)
    assert charts(h) == [digest.ts]
    with h.db.read_scope() as s:
        statuses = {d.target: d.status for d in s.query(Delivery).filter_by(kind="digest")}
    parts = [DEFAULT_CHANNEL, *(f"{DEFAULT_CHANNEL}/reply{n}" for n in (1, 2, 3))]
    assert statuses == {target: "sent" for target in [*parts, f"{DEFAULT_CHANNEL}/chart"]}


def test_a_complete_digest_when_nothing_goes_wrong(harness: Harness) -> None:
    setup_digest_team(harness)
    assert harness.runner().tick() == [Outcome.SENT]
    assert_one_complete_digest(harness)
    assert harness.runner().tick() == []


@pytest.mark.parametrize("applied", [True, False])
def test_a_dropped_answer_is_not_resent_and_the_checked_retry_posts_once(
    harness: Harness, applied: bool
) -> None:
    setup_digest_team(harness)
    harness.fake.fail_next("chat.postMessage", drop=True, side_effect=applied)
    runner = harness.runner()
    assert runner.tick() == [Outcome.RETRY]
    # One call only: the client did not resend what Slack may have stored.
    assert len(harness.fake.calls_to("chat.postMessage")) == 1
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == (1 if applied else 0)
    assert ledger.error_of(harness.db, DIGEST) == "RemoteDisconnected"
    harness.clock.advance(seconds=RETRY_LATER.total_seconds())
    assert runner.tick() == [Outcome.FOUND if applied else Outcome.SENT]
    assert_one_complete_digest(harness)
    assert runner.tick() == []


@pytest.mark.parametrize("applied", [True, False])
@pytest.mark.parametrize("dropped", [True, False], ids=["dropped", "503"])
def test_a_chart_whose_outcome_is_unknown_is_looked_for_then_shared_once(
    harness: Harness, applied: bool, dropped: bool
) -> None:
    setup_digest_team(harness)
    fault = {"drop": True} if dropped else {"status": 503}
    harness.fake.fail_next("files.completeUploadExternal", side_effect=applied, **fault)  # type: ignore[arg-type]
    runner = harness.runner()
    assert runner.tick() == [Outcome.SENT]
    assert len(harness.fake.calls_to("files.completeUploadExternal")) == 1
    assert len(charts(harness)) == (1 if applied else 0)
    harness.clock.advance(seconds=RETRY_LATER.total_seconds())
    assert runner.tick() == [Outcome.SKIPPED]  # the post was done; its chart is finished
    assert_one_complete_digest(harness)
    uploads = len(harness.fake.calls_to("files.completeUploadExternal"))
    assert uploads == (1 if applied else 2)
    assert runner.tick() == []


def test_a_digest_stored_before_a_5xx_still_gets_its_replies_and_chart(harness: Harness) -> None:
    setup_digest_team(harness)
    harness.fake.fail_next("chat.postMessage", status=500, side_effect=True)
    runner = harness.runner()
    assert runner.tick() == [Outcome.RETRY]
    harness.clock.advance(seconds=RETRY_LATER.total_seconds())
    assert runner.tick() == [Outcome.FOUND]
    assert_one_complete_digest(harness)


def crashing_pacer(h: Harness, when: Callable[[], bool]) -> Pacer:
    """A pacer whose clock kills the sender the first time it is read once `when()` holds.

    The pacer reads its clock before each post and again as each post returns, before the
    sender records it: the crash lands right after whatever `when` waits for reached Slack.
    """
    fired = False

    def monotonic() -> float:
        nonlocal fired
        if not fired and when():
            fired = True
            raise Crash
        return h.slack_clock()

    return Pacer(sleep=h.slack_clock.advance, monotonic=monotonic)


def _posted(h: Harness) -> bool:
    return len(h.fake.messages(DEFAULT_CHANNEL)) == 1


def _recorded(h: Harness) -> bool:
    with h.db.read_scope() as s:
        post = s.query(Delivery).filter_by(kind="digest", target=DEFAULT_CHANNEL).one_or_none()
        return post is not None and post.status == "sent"


def _first_reply_posted(h: Harness) -> bool:
    return _posted(h) and bool(h.fake.thread(DEFAULT_CHANNEL, h.fake.messages()[0].ts))


CRASHES: dict[str, Callable[[Harness], bool]] = {
    "post-in-slack-not-recorded": _posted,
    "post-recorded-no-follow-up-yet": _recorded,
    "first-reply-in-slack-not-recorded": _first_reply_posted,
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_crash_between_the_post_and_its_follow_ups_completes_the_digest_once(
    harness: Harness, crash: str
) -> None:
    setup_digest_team(harness)
    doomed = harness.runner(pacer=crashing_pacer(harness, lambda: CRASHES[crash](harness)))
    with pytest.raises(Crash):
        doomed.tick()
    # A new process at once, then again once the dead sender's leases have run out.
    harness.runner().tick()
    harness.clock.advance(seconds=(ledger.LEASE + timedelta(seconds=1)).total_seconds())
    harness.runner().tick()
    assert_one_complete_digest(harness)
    harness.clock.advance(hours=1)
    assert harness.runner().tick() == []
    assert_one_complete_digest(harness)


def test_a_reminder_found_after_a_dropped_answer_gets_its_thread(
    harness: Harness, db: Database
) -> None:
    harness.clock.now = MONDAY_9 - timedelta(days=60)
    with harness.db.session_scope() as s:
        p = service_in(s, T, clock=harness.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_digest("off")
        p.set_reminders("09:00 mon-fri")
        for i in range(120):
            p.create(f"Deal {i:03d}", actor=ALICE if i % 2 else BOB)
    harness.clock.now = MONDAY_9
    harness.fake.fail_next("chat.postMessage", drop=True, side_effect=True)
    runner = harness.runner()
    assert runner.tick() == [Outcome.RETRY]
    harness.clock.advance(seconds=RETRY_LATER.total_seconds())
    assert runner.tick() == [Outcome.FOUND]
    [reminder] = harness.fake.messages(DEFAULT_CHANNEL)
    thread = [m.text for m in harness.fake.thread(DEFAULT_CHANNEL, reminder.ts)]
    assert thread
    assert len(set(thread)) == len(thread)
    assert all("(continued, part" in text for text in thread)
    assert runner.tick() == []
