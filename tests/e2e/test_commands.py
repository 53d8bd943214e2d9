"""The /deal subcommands that work on deals, over signed HTTP against the fake Slack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from pipeline.types import DealStatus
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, BOB, detail, idle, must, wait

CAROL = "U0CAROL"  # a plain member: not a workspace admin


def ephemeral_text(bot: Bot, user: str = ALICE) -> str:
    """Everything shown to a user privately so far, as one string."""
    return "\n".join(e.text + " " + str(e.blocks) for e in bot.fake.ephemerals(user))


def command(bot: Bot, text: str, user: str = ALICE, channel: str = DEFAULT_CHANNEL) -> None:
    delivery = bot.slack.command(user, text, channel_id=channel)
    assert delivery.status == 200
    assert delivery.elapsed < 3


def seed(bot: Bot) -> None:
    with bot.db.session_scope() as s:
        p = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock)
        p.create("Acme Corp", actor=ALICE, stage="demo")
        p.create("Beta", actor=BOB)


def test_help_and_unknown_subcommands(bot: Bot) -> None:
    command(bot, "")
    wait(bot, lambda: "Add a deal" in ephemeral_text(bot))
    command(bot, "frobnicate #1")
    text = wait(bot, lambda: "`frobnicate` is not a /deal command" in ephemeral_text(bot))
    assert text


def test_add_parses_every_part_and_posts_a_card(bot: Bot) -> None:
    command(
        bot,
        "add Acme Corp 12.5k EUR proposal close:2026-12-15 <@U0BOB|bob> "
        "next:send the contract by 2026-12-01 source:referral",
    )
    message = wait(bot, lambda: bot.fake.messages(DEFAULT_CHANNEL))[0]
    assert "#1 Acme Corp" in message.text
    assert "€12,500" in message.text
    deal = must(bot, 1)
    assert (deal.amount, deal.currency, deal.stage) == (Decimal("12500.00"), "EUR", "proposal")
    assert deal.owner_id == BOB
    assert deal.close_date == date(2026, 12, 15)
    assert (deal.next_step_text, deal.next_step_due) == ("send the contract", date(2026, 12, 1))
    assert deal.source == "referral"
    assert deal.created_by == ALICE


def test_add_with_a_bad_amount_or_date_explains_and_writes_nothing(bot: Bot) -> None:
    command(bot, "add Acme close:someday soon")
    wait(bot, lambda: "someday soon" in ephemeral_text(bot))
    assert "Example" in ephemeral_text(bot)
    command(bot, "add Beta next:call them")
    wait(bot, lambda: "needs a due date" in ephemeral_text(bot))
    assert detail(bot, 1) is None
    assert bot.fake.messages(DEFAULT_CHANNEL) == []


def test_slack_escaped_text_is_unescaped(bot: Bot) -> None:
    command(bot, "add R&amp;D Partners 5k")
    wait(bot, lambda: bot.fake.messages(DEFAULT_CHANNEL))
    assert must(bot, 1).name == "R&D Partners"


def test_show_move_won_lost_reopen(bot: Bot) -> None:
    seed(bot)
    command(bot, "show #1")
    wait(bot, lambda: "History" in ephemeral_text(bot))
    command(bot, "move acme negotiation", user=BOB)
    wait(bot, lambda: must(bot, 1).stage == "negotiation")
    replies = wait(
        bot,
        lambda: [
            r
            for m in bot.fake.messages(DEFAULT_CHANNEL)
            for r in bot.fake.thread(DEFAULT_CHANNEL, m.ts)
        ],
    )
    assert "<@U0BOB> moved #1 to Negotiation" in replies[0].text
    command(bot, "won #1")
    wait(bot, lambda: must(bot, 1).status == DealStatus.WON)
    command(bot, "lost #2 went with a competitor")
    wait(bot, lambda: must(bot, 2).status == DealStatus.LOST)
    assert (must(bot, 2).lost_reason, must(bot, 2).lost_detail) == (
        "other",
        "went with a competitor",
    )
    command(bot, "reopen #2 demo")
    wait(bot, lambda: must(bot, 2).status == DealStatus.OPEN)
    assert must(bot, 2).stage == "demo"
    assert [c.to_stage for c in must(bot, 2).stage_changes] == ["lead", "lost", "demo"]


def test_move_with_a_stale_or_wrong_stage_changes_nothing(bot: Bot) -> None:
    seed(bot)
    command(bot, "move #1 nowhere")
    wait(bot, lambda: 'There is no stage "nowhere"' in ephemeral_text(bot))
    command(bot, "move #9 demo")
    wait(bot, lambda: "There is no deal #9" in ephemeral_text(bot))
    command(bot, "move a demo")
    wait(
        bot, lambda: "Use the number" in ephemeral_text(bot) or "already in" in ephemeral_text(bot)
    )
    assert must(bot, 1).stage == "demo"
    assert must(bot, 2).stage == "lead"


def test_log_next_assign_delete(bot: Bot) -> None:
    seed(bot)
    command(bot, "log #1 call Spoke with their CFO")
    wait(bot, lambda: must(bot, 1).activities)
    assert must(bot, 1).activities[0].text == "Spoke with their CFO"
    command(bot, "log #1 tweet hello")
    wait(bot, lambda: "call, email, meeting or note" in ephemeral_text(bot))
    command(bot, "next #1 send the proposal by 2026-12-04")
    wait(bot, lambda: must(bot, 1).next_step_due == date(2026, 12, 4))
    command(bot, "assign #1 <@U0CAROL|carol>")
    wait(bot, lambda: must(bot, 1).owner_id == CAROL)
    command(bot, "delete #2", user=CAROL)  # Bob's deal, and Carol is not an admin
    wait(bot, lambda: "only they or a pipeline admin" in ephemeral_text(bot, CAROL))
    assert detail(bot, 2) is not None
    command(bot, "delete #2", user=BOB)
    wait(bot, lambda: detail(bot, 2) is None)


def test_list_filters_and_pages_within_block_kit_limits(bot: Bot) -> None:
    bot.clock.advance(days=-30)
    with bot.db.session_scope() as s:
        p = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock)
        for i in range(30):
            p.create(f"Deal {i:02d} " + "y" * 180, actor=ALICE if i % 3 else BOB, stage="demo")
    bot.clock.advance(days=30)
    command(bot, "list")
    first = wait(bot, lambda: bot.fake.ephemerals(ALICE))[0]
    assert len(first.blocks) <= 50
    assert any(
        e.get("action_id") == "deal_list_page:next"
        for b in first.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )
    for query in ("mine", "<@U0BOB|bob>", "demo", "stale", "won", "all"):
        command(bot, f"list {query}")
    wait(bot, lambda: len(bot.fake.ephemerals(ALICE)) >= 7)
    texts = [e.text for e in bot.fake.ephemerals(ALICE)]
    assert any(t.startswith("Open deals of <@U0BOB>") for t in texts)
    assert any(t.startswith("Stale deals") for t in texts)
    assert any(t.startswith("Won deals: 0") for t in texts)


def test_commands_from_another_team_see_nothing_of_this_one(bot: Bot) -> None:
    with bot.db.session_scope() as s:
        service_in(s, "T0OTHER", clock=bot.clock).create("Secret", actor=BOB)
    command(bot, "show #1")
    wait(bot, lambda: "There is no deal #1" in ephemeral_text(bot))
    command(bot, "won Secret")
    wait(bot, lambda: "No deal's name starts with" in ephemeral_text(bot))
    idle(bot)
    with bot.db.read_scope() as s:
        assert service_in(s, "T0OTHER").find("#1").status == DealStatus.OPEN


def test_a_burst_of_commands_is_acked_while_slack_is_slow(bot: Bot) -> None:
    # More commands at once than the bot has worker threads, each answer held 3.5 s by Slack:
    # no ack may wait for an earlier command's work.
    seed(bot)
    bot.fake.delay("response_url", 3.5)
    burst = 8
    with ThreadPoolExecutor(burst) as pool:
        deliveries = list(pool.map(lambda _: bot.slack.command(ALICE, "show #1"), range(burst)))
    assert [d.status for d in deliveries] == [200] * burst
    assert max(d.elapsed for d in deliveries) < 3, [round(d.elapsed, 2) for d in deliveries]
    wait(bot, lambda: len(bot.fake.ephemerals(ALICE)) == burst, timeout=30)
    bot.fake.delay("response_url", 0)


def test_a_slow_database_still_acks_in_time(bot: Bot) -> None:
    seed(bot)
    # Hold SQLite's write lock (or a PostgreSQL row lock) for 4 s while the command arrives.
    with bot.db.session_scope() as s:
        service_in(s, DEFAULT_TEAM_ID, clock=bot.clock).log_activity(
            1, "note", "holding the lock", actor=ALICE
        )
        delivery = bot.slack.command(ALICE, "move #1 proposal")
        assert delivery.status == 200
        assert delivery.elapsed < 1.0
        # The database stays locked a while: the move waits for it rather than failing.
        assert not bot.app.wait_idle(3.5), "the move finished while the database was locked"
    wait(bot, lambda: must(bot, 1).stage == "proposal", timeout=20)
    assert bot.clock.now - timedelta(days=1) < must(bot, 1).updated_at
