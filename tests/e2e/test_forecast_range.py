"""/deal stats shows this quarter's likely range and the accuracy of ended periods."""

from __future__ import annotations

from datetime import date

from sandbox.blockkit import validate_blocks
from tests.e2e.conftest import Bot
from tests.e2e.test_reports import ALICE, answer, content, seed, usd, write


def test_stats_show_the_quarter_s_likely_range(bot: Bot) -> None:
    """Won this quarter: Won1 and Won2 ($1,000 each). Delta ($20,000, proposal, 60 %) closes
    on 31 Dec: it is lost in 40 % of the runs (P10 $2K) and won in 60 % (P90 $22K)."""
    seed(bot)
    write(
        bot,
        lambda p: p.create(
            "Delta",
            actor=ALICE,
            amount=usd(20_000),
            stage="proposal",
            close_date=date(2026, 12, 31),
        ),
    )
    bot.slack.command(ALICE, "stats")
    message = answer(bot)
    assert validate_blocks(message.blocks) == []
    body = content(message)
    assert "*Likely range this quarter*\\nQ4 2026: $2K won; likely $2K–$22K (P10–P90)" in body
    assert "10,000 simulated outcomes" in body
    assert "Forecast accuracy" not in body  # no period has ended since pipebot recorded one
