"""What an operator sees over HTTP: /readyz says why a replica is not ready, /metrics counts.

The metrics are process-wide (prometheus_client's default registry), so each test reads what
moved between two scrapes rather than absolute values.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bot.health import Backlog, Check, backlog_check, default_checks
from bot.server import build_asgi
from sandbox.slack_api import ThreadedServer
from scheduler.sender import Outcome
from storage.db import Database
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, idle, quiet_deals, scheduler_for

FAMILIES = {
    "pipebot_slack_requests",
    "pipebot_slack_ack_seconds",
    "pipebot_deliveries",
    "pipebot_slack_api_errors",
    "pipebot_scheduler_ticks",
    "pipebot_scheduler_last_tick_timestamp_seconds",
    "pipebot_scheduler_missed_runs",
    "pipebot_ready",
    "pipebot_inbox_backlog",
    "pipebot_inbox_oldest_seconds",
}


def root(bot: Bot) -> str:
    return bot.url.removesuffix("/slack/events")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def get_status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def ready(url: str) -> tuple[int, dict[str, Any]]:
    status, body = get(url + "/readyz")
    return status, json.loads(body)


class Scrape:
    """One read of /metrics: every sample by name and labels, and the families it declares."""

    def __init__(self, url: str) -> None:
        status, text = get(url + "/metrics")
        assert status == 200
        families = list(text_string_to_metric_families(text))
        self.families = {f.name for f in families}
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """A sample's value (0 when it has not appeared yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def test_readyz_is_ready_when_the_database_answers_and_is_migrated(bot: Bot) -> None:
    assert ready(root(bot)) == (200, {"ok": True, "checks": {"database": "ok", "migrations": "ok"}})
    assert get(root(bot) + "/healthz")[0] == 200


def test_readyz_is_503_with_the_reason_when_the_database_is_down(bot: Bot) -> None:
    # A real outage: nothing listens on port 1, so every connection is refused.
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/test")
    try:
        with ThreadedServer(build_asgi(bot.app, down)) as server:
            status, body = ready(server.url)
            metrics = Scrape(server.url)
            health = get(server.url + "/healthz")[0]
    finally:
        down.dispose()
    assert status == 503
    assert body["ok"] is False
    assert body["checks"]["database"] == "the database does not answer"
    assert body["checks"]["migrations"] == "cannot read the schema version: OperationalError"
    assert health == 503
    assert metrics.value("pipebot_ready", check="database") == 0


def test_readyz_is_503_when_the_schema_is_behind(bot: Bot, tmp_path: Path) -> None:
    unmigrated = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with ThreadedServer(build_asgi(bot.app, unmigrated)) as server:
            status, body = ready(server.url)
    finally:
        unmigrated.dispose()
    assert status == 503
    assert body["checks"] == {
        "database": "ok",
        "migrations": "the schema is behind: run `pipebot db upgrade`",
    }


def test_readyz_refuses_a_backlog_at_its_limit_and_metrics_show_it(bot: Bot) -> None:
    waiting = [Backlog(2, 5.0)]
    checks = [*default_checks(bot.db), backlog_check(lambda: waiting[0], limit=3)]
    with ThreadedServer(build_asgi(bot.app, bot.db, checks)) as server:
        status, body = ready(server.url)
        assert (status, body["checks"]["inbox"]) == (200, "ok")
        waiting[0] = Backlog(3, 42.0)
        # /metrics runs the backlog check itself, so its gauges are fresh without /readyz.
        metrics = Scrape(server.url)
        assert metrics.value("pipebot_inbox_backlog") == 3
        assert metrics.value("pipebot_inbox_oldest_seconds") == 42
        status, body = ready(server.url)
    assert status == 503
    assert body["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "inbox": "3 requests wait (limit 3), the oldest for 42 s",
    }
    assert Scrape(root(bot)).value("pipebot_ready", check="inbox") == 0


def test_metrics_count_requests_and_acks_by_kind(bot: Bot) -> None:
    before = Scrape(root(bot))
    assert before.families >= FAMILIES
    assert bot.slack.command(ALICE, "help").status == 200
    idle(bot)
    unsigned = urllib.request.Request(bot.url, data=b"command=%2Fdeal", method="POST")
    assert get_status(unsigned) == 401
    after = Scrape(root(bot))
    assert moved(before, after, "pipebot_slack_requests_total", kind="command", status="200") == 1
    assert moved(before, after, "pipebot_slack_ack_seconds_count", kind="command") == 1
    assert moved(before, after, "pipebot_slack_requests_total", kind="refused", status="401") == 1
    assert moved(before, after, "pipebot_slack_ack_seconds_count", kind="refused") == 0


def test_metrics_move_when_a_post_is_delivered_and_when_slack_answers_an_error(
    bot: Bot,
) -> None:
    quiet_deals(bot)
    runner = scheduler_for(bot)
    before = Scrape(root(bot))
    assert runner.tick() == [Outcome.SENT]
    after = Scrape(root(bot))
    labels = {"kind": "reminders", "part": "post"}
    assert moved(before, after, "pipebot_deliveries_total", **labels, outcome="sent") == 1
    assert moved(before, after, "pipebot_scheduler_ticks_total", result="ok") == 1
    last_tick = after.value("pipebot_scheduler_last_tick_timestamp_seconds")
    assert last_tick == bot.clock.now.timestamp()
    # The next day Slack answers a 503: counted by method and code, and the post waits a retry.
    bot.clock.advance(days=1)
    bot.fake.fail_next("chat.postMessage", status=503)
    assert runner.tick() == [Outcome.RETRY]
    later = Scrape(root(bot))
    errors = moved(
        after,
        later,
        "pipebot_slack_api_errors_total",
        method="chat.postMessage",
        code="internal_error",
    )
    assert errors == 1
    assert moved(after, later, "pipebot_deliveries_total", **labels, outcome="retry") == 1


def test_a_check_that_raises_is_a_failed_check_not_a_500(bot: Bot) -> None:
    def broken() -> str | None:
        raise RuntimeError("the inbox table is gone")

    checks = [*default_checks(bot.db), Check("inbox", broken)]
    with ThreadedServer(build_asgi(bot.app, bot.db, checks)) as server:
        status, body = ready(server.url)
    assert status == 503
    assert body["checks"]["inbox"] == "the check failed: RuntimeError"
