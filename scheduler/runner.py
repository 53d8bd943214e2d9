"""The scheduler: a one-minute tick that finds due runs per team and delivers them.

APScheduler only provides the tick. What is due comes from each team's schedule, its
timezone and the ledger, so replicas, restarts, downtime and DST all resolve the same way.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

import telemetry
from pipeline.clock import Clock, utcnow
from pipeline.schedule import DailySchedule, WeeklySchedule, next_fire_time
from pipeline.service import TeamDefaults
from scheduler import jobs, ledger
from scheduler.due import Due, expired_weekly, latest_daily, latest_weekly, previous_daily
from scheduler.sender import Outcome, Pacer, Post, Sender
from storage.db import Database
from storage.schedules import TeamRow, team_schedules
from storage.unit_of_work import Pipe

logger = logging.getLogger("pipebot.scheduler")

TICK_ID = "pipebot.tick"
RUN_MARK = "*"  # the ledger target that records "this team's run for this period is done"


@dataclass(frozen=True)
class Run:
    """One job for one team and one period."""

    team: TeamRow
    kind: str
    due: Due


def worker_id() -> str:
    """Who claims deliveries: host and process, for the ledger's records."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Runner:
    """Finds due runs and delivers them, many teams at once, each post exactly once."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        clock: Clock = utcnow,
        max_workers: int = 16,
        pacer: Pacer | None = None,
        defaults: TeamDefaults | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_workers = max_workers
        self.defaults = defaults or TeamDefaults()
        self.sender = Sender(db, client, worker=worker_id(), clock=clock, pacer=pacer)

    def teams(self, team_id: str | None = None) -> list[TeamRow]:
        """Every team (or one), with what scheduling needs."""
        with self.db.read_scope() as session:
            return team_schedules(session, team_id)

    def due_runs(self, now: datetime, teams: Iterable[TeamRow]) -> list[Run]:
        """Runs whose time has come and that no one has completed yet."""
        candidates = _runs(now, teams, daily=latest_daily, weekly=latest_weekly)
        return self._not_done(candidates)

    def missed_runs(self, now: datetime) -> list[Run]:
        """Runs that never happened and are past their grace window (skipped for good)."""
        candidates = _runs(now, self.teams(), daily=previous_daily, weekly=expired_weekly)
        # A run due before the team existed was never missed.
        candidates = [r for r in candidates if r.due.fire_at >= r.team.created_at]
        return self._not_done(candidates)

    def report_missed(self) -> list[Run]:
        """Log the runs missed while pipebot was down that are now too late to post."""
        try:
            missed = self.missed_runs(self.clock())
        except Exception:
            logger.exception("could not check for missed runs")
            return []
        for run in missed:
            telemetry.SCHEDULER_MISSED_RUNS.labels(run.kind).inc()
            logger.warning(
                "skipped the %s of %s for %s: pipebot was not running within its grace window",
                run.kind,
                run.team.id,
                run.due.period,
            )
        return missed

    def _not_done(self, runs: list[Run]) -> list[Run]:
        """The runs no one has marked done yet (one read for all of them)."""
        done = ledger.settled(self.db, [_mark(r) for r in runs])
        return [r for r in runs if _mark(r) not in done]

    def tick(self) -> list[Outcome]:
        """One pass: deliver every due run and every retry whose time has come."""
        now = self.clock()
        telemetry.SCHEDULER_LAST_TICK.set(now.timestamp())
        try:
            runs = self.due_runs(now, self.teams())
            retries = ledger.pending_retries(self.db, now)
        except Exception:
            # The database may be down; the next tick derives the same runs again.
            logger.exception("scheduler tick could not read the database")
            telemetry.SCHEDULER_TICKS.labels("db_error").inc()
            return []
        telemetry.SCHEDULER_TICKS.labels("ok").inc()
        retry_runs = self._retry_runs(retries, now)
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="deliver") as pool:
            for result in pool.map(self._run_safely, runs + retry_runs):
                outcomes.extend(result)
        return outcomes

    def _retry_runs(self, keys: list[ledger.Key], now: datetime) -> list[Run]:
        teams = {t.id: t for t in self.teams()} if keys else {}
        runs = {}
        for key in keys:
            team = teams.get(key.team_id)
            if team is None or key.kind not in jobs.KINDS:
                continue
            runs[(key.team_id, key.kind, key.period)] = Run(
                team, key.kind, Due(fire_at=now, period=key.period, local_date=now.date())
            )
        return list(runs.values())

    def _run_safely(self, run: Run) -> list[Outcome]:
        try:
            return self.run(run)
        except Exception:
            # One team's failure (bad data, a bug) must never stop the others.
            logger.exception("%s for team %s failed", run.kind, run.team.id)
            return []

    def posts_for(self, run: Run, now: datetime) -> list[Post]:
        """What a run posts, built by the same domain code the commands use."""
        pipe = Pipe(self.db, run.team.id, self.clock, self.defaults)
        if run.kind == jobs.REMINDERS:
            schedule = run.team.schedule()
            mode = schedule.mode.value if schedule else "channel"
            return jobs.reminder_posts(pipe, period=run.due.period, now=now, mode=mode)
        return jobs.digest_posts(pipe, period=run.due.period, now=now)

    def run(self, run: Run, *, force: bool = False) -> list[Outcome]:
        """Deliver one team's run, then mark it done so later ticks skip it cheaply."""
        now = self.clock()
        posts = self.posts_for(run, now)
        outcomes = []
        for post in posts:
            if force:
                post = Post(
                    ledger.Key(
                        post.key.team_id,
                        post.key.kind,
                        f"{post.key.period}+{int(now.timestamp())}",
                        post.key.target,
                    ),
                    post.text,
                    post.blocks,
                    post.thread,
                    post.upload,
                )
            outcome = self.sender.deliver(post)
            outcomes.append(outcome)
            if outcome == Outcome.FAILED:
                self._tell_admins(run, post)
        if not force:
            ledger.mark_done(self.db, _mark(run), worker=self.sender.worker, now=now)
        return outcomes

    def _tell_admins(self, run: Run, post: Post) -> None:
        """A post failed for good: DM the team's admins, once per admin and period."""
        error = ledger.error_of(self.db, post.key)
        where = f"<#{post.key.target}>" if not post.to_user else f"<@{post.key.target}>"
        text = (
            f":warning: pipebot could not post the {run.kind} for {run.due.period} to {where}: "
            f"`{error}`. Invite @pipebot to the channel or pick another with "
            "`/deal config channel #sales`."
        )
        for admin in self.admins(run.team):
            alert = Post(
                ledger.Key(run.team.id, "alert", f"{run.kind}:{run.due.period}", admin), text, []
            )
            self.sender.deliver(alert)

    def admins(self, team: TeamRow) -> list[str]:
        """The team's pipeline admins, or else its Slack workspace admins."""
        if team.admins:
            return list(team.admins)
        try:
            members = self.sender.client.users_list()["members"]
        except Exception:
            logger.exception("could not list workspace admins of %s", team.id)
            return []
        return [
            m["id"]
            for m in members
            if (m.get("is_admin") or m.get("is_owner"))
            and not m.get("is_bot")
            and not m.get("deleted")
        ]

    def next_runs(self, team: TeamRow, now: datetime) -> dict[str, datetime | None]:
        """The next fire time of each job for a team."""
        schedule = team.schedule()
        if schedule is None:
            return {jobs.REMINDERS: None, jobs.DIGEST: None}
        return {
            jobs.REMINDERS: next_fire_time(
                schedule.reminders if schedule.reminders_on else None, team.timezone, after=now
            ),
            jobs.DIGEST: next_fire_time(schedule.digest, team.timezone, after=now),
        }


def _mark(run: Run) -> ledger.Key:
    """The ledger row that records a run as done, so later ticks and replicas skip it."""
    return ledger.Key(run.team.id, f"{run.kind}-run", run.due.period, RUN_MARK)


def _runs(
    now: datetime,
    teams: Iterable[TeamRow],
    *,
    daily: Callable[[datetime, ZoneInfo, DailySchedule], Due | None],
    weekly: Callable[[datetime, ZoneInfo, WeeklySchedule], Due | None],
) -> list[Run]:
    """Each team's reminder and digest run as `daily` and `weekly` find them (None: no run)."""
    runs: list[Run] = []
    for team in teams:
        schedule = team.schedule()
        if schedule is None:
            continue
        tz = ZoneInfo(team.timezone)
        if schedule.reminders_on and schedule.reminders is not None:
            due = daily(now, tz, schedule.reminders)
            if due:
                runs.append(Run(team, jobs.REMINDERS, due))
        if schedule.digest is not None:
            due = weekly(now, tz, schedule.digest)
            if due:
                runs.append(Run(team, jobs.DIGEST, due))
    return runs


def start_background(
    runner: Runner, *, interval: timedelta = timedelta(minutes=1)
) -> BackgroundScheduler:
    """Run the tick every minute in a background thread (one job store per process)."""
    runner.report_missed()
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        runner.tick,
        IntervalTrigger(seconds=int(interval.total_seconds())),
        id=TICK_ID,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=utcnow(),
        replace_existing=True,
    )
    scheduler.start()
    return scheduler
