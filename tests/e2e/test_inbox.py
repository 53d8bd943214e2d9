"""The inbox end to end: requests written before the ack, retries recognised, replays once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from slack_bolt import BoltRequest
from sqlalchemy import select, update

from bot.inbox import Replayer
from bot.middleware import TICKET
from pipeline.clock import utcnow
from sandbox.payloads import FORM, encode_form
from sandbox.payloads.from_fake import command_payload
from sandbox.slack_api.models import RESPONSE_URL_METHOD
from storage import inbox
from storage.inbox import Incoming, Ticket
from storage.models import InboxEntry
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, add_deal, cards, idle, open_modal, wait


def rows(bot: Bot) -> list[InboxEntry]:
    """Every inbox row, oldest first."""
    with bot.db.read_scope() as s:
        found = list(s.execute(select(InboxEntry).order_by(InboxEntry.id)).scalars())
        s.expunge_all()  # readable after the read's rollback
        return found


def left_by_a_dead_process(bot: Bot, text: str, *, mode: str = "http") -> int:
    """An inbox row as a process that acked `/deal <text>` and died leaves it: not done, its
    lease run out."""
    fields = command_payload(bot.fake, ALICE, text)
    body = json.dumps(fields) if mode == "socket_mode" else encode_form(fields).decode()
    headers = {} if mode == "socket_mode" else {"content-type": [FORM]}
    dead = utcnow() - timedelta(minutes=5)
    with bot.db.session_scope() as s:
        row = inbox.receive(
            s,
            Incoming("T0DEMO", "command", mode, body, headers),
            key=f"command:dead:{text}",
            now=dead,
            lease_until=dead + timedelta(seconds=30),
        )
    assert row is not None
    return row


def test_the_work_after_the_ack_marks_its_row_done(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k")
    bot.slack.command(ALICE, "list")
    idle(bot)
    written = rows(bot)
    assert [r.kind for r in written] == ["command", "command"]
    assert all(r.done_at is not None for r in written)
    assert all(r.mode == "http" and "text=add+Acme" in written[0].body for r in written[:1])
    assert written[0].headers == {"content-type": [FORM]}


def test_a_slack_retry_of_an_event_runs_once(bot: Bot) -> None:
    first = bot.slack.open_home(ALICE)
    wait(bot, lambda: bot.fake.calls_to("views.publish"))
    assert bot.slack.redeliver(first, retry_num=1).status == 200
    assert bot.slack.redeliver(first, retry_num=2).status == 200
    idle(bot)
    assert len(bot.fake.calls_to("views.publish")) == 1
    assert [r.kind for r in rows(bot)] == ["event"]


def test_modal_submissions_are_not_written(bot: Bot) -> None:
    bot.slack.command(ALICE, "add")
    view = open_modal(bot, ALICE, 0)
    bot.slack.submit(ALICE, {"name": "Initech"}, view_id=view.id)
    idle(bot)
    assert [r.kind for r in rows(bot)] == ["command"]


def test_a_row_a_dead_process_left_is_run_once_by_the_replayer(bot: Bot) -> None:
    row = left_by_a_dead_process(bot, "add Globex 50k")
    replayer = Replayer(bot.app.inbox, bot.app)  # type: ignore[arg-type]
    replayer.step()
    wait(bot, lambda: cards(bot))
    idle(bot)
    replayer.step()  # done now: nothing to run
    idle(bot)
    assert ["#1 Globex" in m.text for m in cards(bot)] == [True]
    [entry] = rows(bot)
    assert entry.id == row
    assert entry.done_at is not None
    assert entry.attempts == 2


def test_a_row_written_in_socket_mode_is_run_again_from_its_json(bot: Bot) -> None:
    left_by_a_dead_process(bot, "add Hooli 50k", mode="socket_mode")
    assert bot.app.inbox is not None
    assert bot.app.inbox.replay(bot.app) == 1
    wait(bot, lambda: cards(bot))
    assert "#1 Hooli" in cards(bot)[0].text


def test_two_runs_of_one_row_apply_and_post_once(bot: Bot) -> None:
    # A run whose lease ran out while it still worked, and the replay of its row, at once.
    row = left_by_a_dead_process(bot, "add Umbrella 50k")
    with bot.db.read_scope() as s:
        entry = inbox.entry(s, row)
        assert entry is not None
        body = entry.body
    bot.fake.delay("chat.postMessage", 0.5)
    start = threading.Barrier(2)

    def run() -> None:
        request = BoltRequest(body=body, headers={"content-type": [FORM]}, context={})
        request.context[TICKET] = Ticket(row)
        start.wait()
        bot.app.dispatch(request)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    idle(bot)
    bot.fake.delay("chat.postMessage", 0)
    assert [m.text.count("Umbrella") > 0 for m in cards(bot)] == [True]
    assert bot.fake.ephemerals(ALICE) == []  # the stopped run said nothing


def test_the_lease_of_a_row_at_work_is_renewed(bot: Bot) -> None:
    # A read-only answer: its row is done only once the answer is out, held 2 s by Slack.
    add_deal(bot, "Soylent 50k")
    idle(bot)
    bot.fake.delay(RESPONSE_URL_METHOD, 2.0)
    bot.slack.command(ALICE, "list")
    listed = rows(bot)[-1]
    assert bot.app.inbox is not None
    assert listed.id in bot.app.inbox.held()
    with bot.db.session_scope() as s:  # as if its lease were running out
        s.execute(update(InboxEntry).values(lease_until=utcnow() - timedelta(seconds=1)))
    Replayer(bot.app.inbox, bot.app).step()  # renews it: the replay claims nothing
    renewed = rows(bot)[-1]
    assert renewed.lease_until > utcnow()
    assert renewed.attempts == 1
    assert renewed.done_at is None
    idle(bot)
    bot.fake.delay(RESPONSE_URL_METHOD, 0)
    assert bot.app.inbox.held() == set()
    assert rows(bot)[-1].done_at is not None
    assert len(bot.fake.calls_to(RESPONSE_URL_METHOD)) == 1


def test_done_rows_are_pruned_after_the_retention(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k")
    idle(bot)
    assert bot.app.inbox is not None
    with bot.db.session_scope() as s:
        s.execute(update(InboxEntry).values(done_at=utcnow() - timedelta(days=2)))
    Replayer(bot.app.inbox, bot.app).step()
    assert rows(bot) == []


def test_the_readiness_check_counts_requests_acked_and_not_done(bot: Bot) -> None:
    assert bot.app.inbox is not None
    check = bot.app.inbox.check(limit=1)
    assert check.probe() is None
    left_by_a_dead_process(bot, "add Initech 50k")
    reason = check.probe()
    assert reason is not None
    assert reason.startswith("1 requests wait (limit 1), the oldest for ")
    assert int(reason.split()[-2]) >= 300  # written five minutes ago
