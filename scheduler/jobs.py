"""What each scheduled job posts, built from the same domain code the slash commands use."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.reminders import by_owner, due_items
from scheduler.ledger import Key
from scheduler.sender import Post, Upload
from storage.unit_of_work import Pipe
from views.reminders import build_reminder

if TYPE_CHECKING:
    from pipeline.digest import DigestData

REMINDERS = "reminders"
DIGEST = "digest"
KINDS = (REMINDERS, DIGEST)


def reminder_posts(pipe: Pipe, *, period: str, now: datetime, mode: str) -> list[Post]:
    """Today's reminder posts for one team: the channel, each owner's DM, or both."""
    with pipe.reports() as r:
        today = r.today
        items = due_items(r.source, now=now, today=today)
        if not items:
            return []
        stages = r.team.stages
        channel = r.team.channel_id
    groups = by_owner(items)
    posts = []
    to_channel = mode in ("channel", "channel+dm") and channel
    # Without a channel, reminders still reach people: each owner by DM.
    to_owners = mode in ("dm", "channel+dm") or (mode == "channel" and not channel)
    if to_channel:
        message = build_reminder(groups, stages, today=today, title="Deals to follow up today")
        key = Key(pipe.tenant, REMINDERS, period, str(channel))
        posts.append(Post(key, message.text, message.blocks, message.thread))
    if to_owners:
        for owner, owned in groups.items():
            message = build_reminder(
                {owner: owned}, stages, today=today, title="Your deals to follow up today"
            )
            posts.append(
                Post(
                    Key(pipe.tenant, REMINDERS, period, owner),
                    message.text,
                    message.blocks,
                    message.thread,
                )
            )
    return posts


def record_forecasts(pipe: Pipe, data: DigestData, *, digest: str, now: datetime) -> None:
    """Record the digest's month and quarter forecasts (one transaction; a repeat is a no-op)."""
    from pipeline.accuracy import snapshots
    from storage import accuracy_queries

    if data.ranges is None:
        return
    rows = snapshots(data.forecast, data.ranges, digest=digest, recorded_at=now)
    with pipe.db.session_scope() as session:
        accuracy_queries.record(session, pipe.tenant, rows)


def digest_posts(pipe: Pipe, *, period: str, now: datetime) -> list[Post]:
    """The weekly digest for the team's channel, with its chart in the thread.

    Its forecasts are recorded for forecast accuracy, once per digest week: a retry, or an
    admin's `/deal digest send` (period `2026-W49+<time>`), records nothing new.
    """
    from pipeline.digest import collect_digest
    from views.charts import render_digest_chart
    from views.digest import build_digest

    with pipe.reports() as r:
        channel = r.team.channel_id
        if not channel:
            return []
        data = collect_digest(r.source, now=now)
    record_forecasts(pipe, data, digest=period.split("+")[0], now=now)
    message = build_digest(data)
    chart = Upload(
        filename=f"pipeline-{period}.png",
        content=render_digest_chart(data),
        title=f"Pipeline and forecast, {period}",
    )
    return [
        Post(
            Key(pipe.tenant, DIGEST, period, channel),
            message.text,
            message.blocks,
            message.thread,
            chart,
        )
    ]
