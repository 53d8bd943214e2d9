"""The real entry points: `pipebot run` over HTTP, credential errors, `pipebot jobs`."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest

from bot.app import build_app
from bot.settings import get_settings
from cli.main import main
from sandbox.payloads import SlackClientSimulator
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_USER, FakeSlackServer
from storage.db import Database
from storage.services import service_in
from tests.e2e.conftest import SECRET, bot_settings
from tests.e2e.processes import free_port, start_http, wait_healthy


def test_missing_credentials_are_explained_without_a_traceback(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    get_settings.cache_clear()
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET is not set" in err
    assert "manifest.yml" in err
    assert "Traceback" not in err


def test_socket_mode_needs_an_app_level_token(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-not-an-app-token")
    get_settings.cache_clear()
    assert main(["run"]) == 2
    assert "SLACK_APP_TOKEN must be an app-level token" in capsys.readouterr().err


def test_a_token_slack_refuses_is_explained(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    get_settings.cache_clear()
    assert main(["run", "--http", "--no-scheduler"]) == 2
    err = capsys.readouterr().err
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in err
    assert "Traceback" not in err


def test_pipebot_run_serves_slack_over_http(
    env: dict[str, str], fake_server: FakeSlackServer, db: Database
) -> None:
    port = free_port()
    process = start_http(env, port)
    try:
        wait_healthy(process, port)
        slack = SlackClientSimulator(
            f"http://127.0.0.1:{port}/slack/events", SECRET, fake_server.fake
        )
        delivery = slack.command(DEFAULT_USER, "add Acme Corp 50k proposal")
        assert delivery.status == 200
        fake_server.fake.wait_until(lambda: fake_server.fake.messages(DEFAULT_CHANNEL), timeout=10)
        assert "#1 Acme Corp" in fake_server.fake.messages(DEFAULT_CHANNEL)[0].text
        bad = slack.post(slack.url, b"token=x&text=add%20Evil", slack_form(), secret="wrong")
        assert bad.status == 401
        with db.read_scope() as s:
            assert [d.name for d in service_in(s, "T0DEMO").list_deals()] == ["Acme Corp"]
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_stop_right_after_the_ack_still_finishes_the_work(
    env: dict[str, str], fake_server: FakeSlackServer, db: Database
) -> None:
    # Slack never resends a request that was acked: a restart (SIGTERM) must not drop it.
    port = free_port()
    process = start_http(env, port)
    try:
        wait_healthy(process, port)
        fake_server.fake.delay("chat.postMessage", 1.5)
        slack = SlackClientSimulator(
            f"http://127.0.0.1:{port}/slack/events", SECRET, fake_server.fake
        )
        delivery = slack.command(DEFAULT_USER, "add Acme Corp 50k proposal")
        assert delivery.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        fake_server.fake.delay("chat.postMessage", 0)
    [card] = fake_server.fake.messages(DEFAULT_CHANNEL)
    assert "#1 Acme Corp" in card.text
    with db.read_scope() as s:
        assert [d.name for d in service_in(s, "T0DEMO").list_deals()] == ["Acme Corp"]


def slack_form() -> str:
    return "application/x-www-form-urlencoded"


def test_jobs_run_posts_once_and_force_posts_again(
    env: dict[str, str],
    fake_server: FakeSlackServer,
    db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday, after 09:00
    with db.session_scope() as s:
        p = service_in(s, "T0DEMO", clock=lambda: at - timedelta(days=40))
        p.set_channel(DEFAULT_CHANNEL)
        p.create("Sleepy Co", actor=DEFAULT_USER)
    args = ["jobs", "run", "reminders", "--team", "T0DEMO", "--at", at.isoformat()]
    assert main(args) == 0
    assert "reminders for 2026-12-01: sent" in capsys.readouterr().out
    assert main(args) == 0
    assert "reminders for 2026-12-01: skipped" in capsys.readouterr().out
    assert len(fake_server.fake.messages(DEFAULT_CHANNEL)) == 1
    assert main([*args, "--force"]) == 0
    assert len(fake_server.fake.messages(DEFAULT_CHANNEL)) == 2
    digest = ["jobs", "run", "digest", "--team", "T0DEMO", "--at", "2026-11-30T09:05:00+00:00"]
    assert main(digest) == 0
    assert "digest for 2026-W49: sent" in capsys.readouterr().out
    assert fake_server.fake.messages(DEFAULT_CHANNEL)[-1].text.startswith("Weekly pipeline")
    assert main(["jobs", "list", "--team", "T0DEMO"]) == 0
    assert "T0DEMO (UTC): reminders" in capsys.readouterr().out


def test_only_requests_that_just_ack_are_dispatched_on_the_event_loop(
    fake_server: FakeSlackServer, db: Database
) -> None:
    settings = bot_settings(db, fake_server)

    def request(kind: str) -> BoltRequest:
        payload = json.dumps({"type": kind, "team": {"id": "T0DEMO"}, "user": {"id": "U1"}})
        return BoltRequest(body=urlencode({"payload": payload}), headers={})

    app = build_app(settings, db, know_identity=True)
    assert len(fake_server.fake.calls_to("auth.test")) == 1  # asked before any request
    assert app.acks_at_once(request("view_closed"))
    assert not app.acks_at_once(request("block_actions"))  # its inbox row is written first
    assert not app.acks_at_once(request("shortcut"))
    assert not app.acks_at_once(request("view_submission"))  # its answer waits for its write
    cold = build_app(settings, db)
    assert not cold.acks_at_once(request("view_closed"))  # its first ack asks auth.test
    app.drain()
    cold.drain()


def test_a_bad_workers_setting_is_explained(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKERS", "0")
    get_settings.cache_clear()
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "WORKERS" in err.upper()
    assert "Traceback" not in err
