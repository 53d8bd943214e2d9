"""`pipebot run`, `pipebot scheduler` and `pipebot jobs`: the long-running parts.

Bolt, the Slack SDK and the scheduler are imported when one of these commands runs, not when
the parser is built: every other `pipebot` command starts without them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cli.common import CliError, load_settings, open_database
from cli.demo import add_command as add_demo

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.app import PipebotApp
    from bot.inbox import Replayer
    from bot.settings import Settings
    from cli.common import Subparsers
    from scheduler.runner import Runner

logger = logging.getLogger("pipebot")

# scheduler.jobs.KINDS, spelled here so that building the parser imports no scheduler (a test
# keeps the two equal).
JOB_KINDS = ("reminders", "digest")


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def check_token(client: WebClient) -> bool:
    """Ask Slack who we are: False if unreachable (logged); a refused token is explained."""
    from slack_sdk.errors import SlackApiError

    from bot.app import CredentialsError

    try:
        client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
            raise CredentialsError(
                f"Slack refused SLACK_BOT_TOKEN ({error}). Copy the Bot User OAuth Token "
                "(xoxb-…) again from your app's OAuth & Permissions page, and reinstall the app "
                'if you changed its scopes. See README.md, "Connect a real Slack workspace".'
            ) from None
        raise
    except OSError as exc:
        logger.warning("could not reach Slack to check the token: %s", exc)
        return False
    return True


def _runner(settings: Settings, args: argparse.Namespace, client: WebClient) -> Runner:
    from pipeline.service import TeamDefaults
    from scheduler.runner import Runner

    db = open_database(args)
    defaults = TeamDefaults(timezone=settings.default_timezone, currency=settings.default_currency)
    return Runner(db, client, defaults=defaults)


def _run(args: argparse.Namespace) -> int:
    from bot.app import CredentialsError, build_app, build_client, require
    from pipeline.service import TeamDefaults
    from scheduler.runner import Runner, start_background

    settings = load_settings()
    _logging(settings)
    socket_mode = bool(settings.slack_app_token) and not args.http
    try:
        require(settings, socket_mode=socket_mode)
    except CredentialsError as exc:
        raise CliError(str(exc)) from None
    db = open_database(args)
    client = build_client(settings)
    try:
        reachable = check_token(client)
    except CredentialsError as exc:
        raise CliError(str(exc)) from None
    # Slack answered: let Bolt learn the bot's identity now rather than on the first request.
    app = build_app(settings, db, client=client, know_identity=reachable)
    import uvicorn

    from bot.health import default_checks
    from bot.server import build_asgi

    # Everything is loaded now: keep those objects out of the garbage collector's full passes,
    # which would otherwise stall every thread, acks included, for ~50 ms each time.
    gc.collect()
    gc.freeze()
    # Every replica finishes the work of requests a dead process acked (bot/inbox.py).
    replayer = _replayer(app)
    scheduler = None
    if not args.no_scheduler:
        defaults = TeamDefaults(settings.default_timezone, settings.default_currency)
        scheduler = start_background(Runner(db, app.client, defaults=defaults))
        logger.info("scheduler started (reminders and digests)")
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        logger.info("pipebot is connecting to Slack over Socket Mode")
        handler = SocketModeHandler(app, settings.slack_app_token)
        handler.connect()  # type: ignore[no-untyped-call]
        # SIGTERM (what Docker and Kubernetes send) closes the connection and stops the
        # scheduler cleanly, as uvicorn does in HTTP mode. Ctrl-C (SIGINT) stops it too, also
        # when a script started it in the background, which leaves SIGINT ignored: uvicorn
        # takes it in HTTP mode the same way.
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            stop.wait()
        finally:
            handler.close()  # type: ignore[no-untyped-call]
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            _stop(replayer, app)
        return 0
    port = args.port or int(os.environ.get("PORT", "3000"))
    logger.info("pipebot listens on http://%s:%s/slack/events", args.host, port)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again under the handler
    # it found: make that handler a no-op, so the drain below runs instead of a sudden death.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    checks = default_checks(db)
    if app.inbox is not None:
        checks.append(app.inbox.check(limit=settings.readyz_max_backlog))
    uvicorn.run(build_asgi(app, db, checks), host=args.host, port=port, log_level="info")
    # Slack does not resend what was acked: finish it before exiting, so a graceful restart
    # loses nothing.
    logger.info("stopped serving; finishing the work of requests already acked")
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    _stop(replayer, app)
    return 0


def _replayer(app: PipebotApp) -> Replayer | None:
    from bot.inbox import Replayer

    if app.inbox is None:
        return None
    logger.info("inbox replayer started (lease %s)", app.inbox.lease)
    return Replayer(app.inbox, app).start()


def _stop(replayer: Replayer | None, app: PipebotApp) -> None:
    """Stop replaying, then finish the work already acked (its rows are marked done)."""
    if replayer is not None:
        replayer.stop()
    app.drain()


def _scheduler(args: argparse.Namespace) -> int:
    from bot.app import CredentialsError, build_client
    from scheduler.runner import start_background

    settings = load_settings()
    _logging(settings)
    if not settings.slack_bot_token:
        raise CliError("SLACK_BOT_TOKEN is not set; the scheduler posts as the bot.")
    client = build_client(settings)
    try:
        check_token(client)
    except CredentialsError as exc:
        raise CliError(str(exc)) from None
    scheduler = start_background(_runner(settings, args, client))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    scheduler.shutdown()
    return 0


def _jobs_list(args: argparse.Namespace) -> int:
    from bot.app import build_client

    settings = load_settings()
    runner = _runner(settings, args, build_client(settings))
    now = datetime.now(UTC)
    teams = runner.teams(args.team)
    if not teams:
        print("No teams yet: pipebot creates a team the first time someone uses /deal.")
    for team in teams:
        nexts = runner.next_runs(team, now)
        tz = ZoneInfo(team.timezone)
        cells = [
            f"{kind} {when.astimezone(tz):%a %Y-%m-%d %H:%M %Z}" if when else f"{kind} off"
            for kind, when in nexts.items()
        ]
        print(f"{team.id} ({team.timezone}): " + " · ".join(cells))
    return 0


def _at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f'"{text}" is not an ISO time.', example="--at 2026-11-30T09:00:00+01:00"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _jobs_run(args: argparse.Namespace) -> int:
    from bot.app import build_client
    from pipeline.dates import iso_week
    from scheduler import jobs
    from scheduler.due import Due, latest_daily, latest_weekly
    from scheduler.runner import Run

    settings = load_settings()
    if not settings.slack_bot_token:
        raise CliError("SLACK_BOT_TOKEN is not set; jobs post as the bot.")
    at = _at(args.at)
    runner = _runner(settings, args, build_client(settings))
    runner.clock = runner.sender.clock = lambda: at
    teams = runner.teams(args.team)
    if args.team and not teams:
        raise CliError(f"There is no team {args.team}.", example="pipebot jobs list")
    total = 0
    for team in teams:
        schedule = team.schedule()
        tz = ZoneInfo(team.timezone)
        due: Due | None = None
        if schedule is not None and args.kind == jobs.REMINDERS and schedule.reminders:
            due = latest_daily(at, tz, schedule.reminders)
        elif schedule is not None and args.kind == jobs.DIGEST and schedule.digest:
            due = latest_weekly(at, tz, schedule.digest)
        if due is None:
            if not args.force:
                print(f"{team.id}: no {args.kind} due at {at.isoformat()} (use --force to send)")
                continue
            local = at.astimezone(tz).date()
            period = local.isoformat() if args.kind == jobs.REMINDERS else iso_week(local)
            due = Due(fire_at=at, period=period, local_date=local)
        outcomes = runner.run(Run(team, args.kind, due), force=args.force)
        total += len(outcomes)
        summary = ", ".join(o.value for o in outcomes) or "nothing to post"
        print(f"{team.id}: {args.kind} for {due.period}: {summary}")
    return 0


def add_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Register run, scheduler and jobs."""
    run = sub.add_parser("run", help="start the bot (and its scheduler)", parents=[common])
    run.add_argument("--port", type=int, default=None, help="HTTP port (default PORT or 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP address to listen on")
    run.add_argument("--http", action="store_true", help="HTTP mode even with SLACK_APP_TOKEN")
    run.add_argument("--no-scheduler", action="store_true", help="do not post reminders/digests")
    run.set_defaults(handler=_run)

    sched = sub.add_parser("scheduler", help="run only the scheduler", parents=[common])
    sched.set_defaults(handler=_scheduler)

    jobs_parser = sub.add_parser("jobs", help="scheduled jobs", parents=[common])
    actions = jobs_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="each team's next run times", parents=[common])
    listing.add_argument("--team", default=None)
    listing.set_defaults(handler=_jobs_list)
    once = actions.add_parser("run", help="run a job once, as if at --at", parents=[common])
    once.add_argument("kind", choices=JOB_KINDS)
    once.add_argument("--team", default=None)
    once.add_argument("--at", default=None, metavar="ISO-TIME")
    once.add_argument("--force", action="store_true", help="send even if done or not due")
    once.set_defaults(handler=_jobs_run)

    add_demo(sub, common)
