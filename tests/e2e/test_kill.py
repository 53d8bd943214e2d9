"""Kill tests: what pipebot acked survives a SIGKILL and is applied exactly once.

The real `pipebot run` process serves signed requests while the fake Slack holds every answer
a few seconds, so most of the work is still queued when the process is killed right after the
last ack. Another process (restarted, or a second replica on PostgreSQL) must then finish it:
every acked `/deal add` gives one deal and one card, every acked click one move and one note.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.clock import utcnow
from sandbox.payloads import SlackClientSimulator
from sandbox.slack_api import (
    DEFAULT_CHANNEL,
    DEFAULT_TEAM_ID,
    DEFAULT_USER,
    FakeSlack,
    FakeSlackServer,
)
from sandbox.slack_api.models import RESPONSE_URL_METHOD, RateLimit
from storage import inbox
from storage.db import Database
from storage.models import Deal
from storage.services import service_in
from tests.e2e.conftest import SECRET
from tests.e2e.processes import free_port, start_http, wait_healthy
from views.ids import Action

ADDS = 12
CLICKS = 6
# The fake holds each of these calls this long: the workers are stuck on the first ones and
# the rest of the burst is still queued when the process dies.
SLOW_SLACK = 4.0
SLOW_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", RESPONSE_URL_METHOD)
# Short, so the process that takes over need not wait long for a dead one's leases.
LEASE_SECONDS = "2"
DRAIN_TIMEOUT = 90.0


def letters(n: int) -> str:
    """A name part with no digits and no stage word, so `add` reads only `50k` as the amount."""
    return "q" + "".join(chr(ord("a") + (n // 26**k) % 26) for k in range(3))


@dataclass
class Pipebot:
    """A running `pipebot run` and a Slack client aimed at it."""

    process: subprocess.Popen[bytes]
    slack: SlackClientSimulator


@pytest.fixture
def started(
    env: dict[str, str], fake: FakeSlack, tmp_path: Path
) -> Iterator[Callable[[], Pipebot]]:
    """Start `pipebot run` processes on the test database; every one is gone afterwards."""
    running: list[subprocess.Popen[bytes]] = []

    def start() -> Pipebot:
        port = free_port()
        log = tmp_path / f"pipebot-{len(running)}.log"
        process = start_http({**env, "INBOX_LEASE_SECONDS": LEASE_SECONDS}, port, log=log)
        running.append(process)
        wait_healthy(process, port)
        url = f"http://127.0.0.1:{port}/slack/events"
        return Pipebot(process, SlackClientSimulator(url, SECRET, fake))

    yield start
    for process in running:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def fake(fake_server: FakeSlackServer) -> FakeSlack:
    """The fake Slack the processes talk to, without its 1-post-a-second limit per channel: a
    burst of 18 cards in one channel would be refused in part, which is not what is tested."""
    fake_server.fake.rate_limit = RateLimit(enabled=False)
    return fake_server.fake


def seed_cards(bot: Pipebot, fake: FakeSlack) -> dict[int, str]:
    """Deals #1..CLICKS, each with its card in the channel (Slack still quick): number -> ts."""
    for n in range(CLICKS):
        assert bot.slack.command(DEFAULT_USER, f"add Seed Co {letters(n)} 50k").status == 200
    fake.wait_until(lambda: len(fake.messages(DEFAULT_CHANNEL)) == CLICKS, timeout=30)
    return {n + 1: m.ts for n, m in enumerate(fake.messages(DEFAULT_CHANNEL))}


def burst(bot: Pipebot, fake: FakeSlack, cards: dict[int, str]) -> list[str]:
    """Slack slowed down, send ADDS adds and a click on each card at once; the names added."""
    for method in SLOW_METHODS:
        fake.delay(method, SLOW_SLACK)
    names = [f"Kill Co {letters(n)}" for n in range(ADDS)]

    def add(name: str) -> int:
        return bot.slack.command(DEFAULT_USER, f"add {name} 50k").status

    def click(ts: str) -> int:
        return bot.slack.click(DEFAULT_USER, DEFAULT_CHANNEL, ts, Action.ADVANCE).status

    with ThreadPoolExecutor(8) as pool:
        sent = [pool.submit(add, name) for name in names]
        sent += [pool.submit(click, ts) for ts in cards.values()]
        statuses = [future.result() for future in sent]
    assert statuses == [200] * len(sent)  # every request acked
    return names


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no drain, no goodbye."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=15)


def quick_slack(fake: FakeSlack) -> None:
    """Slack answers at once again."""
    for method in SLOW_METHODS:
        fake.delay(method, 0)


def applied(db: Database, names: list[str], cards: dict[int, str]) -> tuple[set[str], set[int]]:
    """The added names in the database, and the clicked deals that moved."""
    with db.read_scope() as s:
        added = set(s.execute(select(Deal.name).where(Deal.name.in_(names))).scalars())
        moved = set(
            s.execute(
                select(Deal.number).where(Deal.number.in_(cards), Deal.stage != "lead")
            ).scalars()
        )
    return added, moved


def wait_drained(db: Database) -> None:
    """Poll until no inbox row is acked but not done (the inbox's own signal)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        with db.read_scope() as s:
            if inbox.backlog(s, now=utcnow()).pending == 0:
                return
        assert time.monotonic() < deadline, "the inbox was not drained"
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the process finishes its work, then exits."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@dataclass
class Killed:
    """What a process acked before its SIGKILL, and what of it was applied by then."""

    names: list[str]
    cards: dict[int, str]
    added: set[str]
    moved: set[int]


def check_exactly_once(db: Database, fake: FakeSlack, killed: Killed) -> None:
    """Every acked add made one deal and every click one move; nothing was posted twice, and
    what the dead process had not applied was finished with its card or note."""
    fake.wait_answered()  # even the calls the dead process left in flight
    names, cards = killed.names, killed.cards
    with db.read_scope() as s:
        service = service_in(s, DEFAULT_TEAM_ID)
        deal_names = list(s.execute(select(Deal.name).where(Deal.name.like("Kill Co %"))).scalars())
        moves = {n: [c.to_stage for c in service.detail(f"#{n}").stage_changes] for n in cards}
    assert sorted(deal_names) == sorted(names)
    assert moves == {n: ["lead", "qualified"] for n in cards}
    top = [m.text for m in fake.messages(DEFAULT_CHANNEL)]
    for name in names:
        posted = sum(1 for text in top if name in text)
        assert posted <= 1, f"{name}: {posted} cards"
        if name not in killed.added:
            assert posted == 1, f"{name} was applied after the kill but got no card"
    for number, ts in cards.items():
        notes = [m.text for m in fake.thread(DEFAULT_CHANNEL, ts) if "moved" in m.text]
        assert len(notes) <= 1, notes
        if number not in killed.moved:
            assert len(notes) == 1, f"#{number} was moved after the kill but got no note"


def burst_then_kill(bot: Pipebot, fake: FakeSlack, db: Database) -> Killed:
    """Cards to click, then the burst while Slack is slow, then SIGKILL after its last ack."""
    cards = seed_cards(bot, fake)
    names = burst(bot, fake, cards)
    kill(bot.process)
    added, moved = applied(db, names, cards)
    # The kill came before the work was done: the test would pass vacuously otherwise.
    assert len(added) + len(moved) < ADDS + CLICKS
    quick_slack(fake)
    return Killed(names, cards, added, moved)


def test_acked_work_survives_a_sigkill_and_applies_once(
    started: Callable[[], Pipebot], fake: FakeSlack, db: Database
) -> None:
    killed = burst_then_kill(started(), fake, db)
    restarted = started()  # on the same database
    wait_drained(db)
    stop(restarted.process)
    check_exactly_once(db, fake, killed)


def test_a_surviving_replica_finishes_the_work_of_one_killed(
    started: Callable[[], Pipebot], fake: FakeSlack, db: Database
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("several replicas share a PostgreSQL database only")
    first, survivor = started(), started()
    killed = burst_then_kill(first, fake, db)
    wait_drained(db)  # the survivor takes the dead replica's rows once their lease runs out
    stop(survivor.process)
    check_exactly_once(db, fake, killed)
