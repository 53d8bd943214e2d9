"""The page's side of the sandbox: what a person does, sent to the bot as Slack's client would."""

from __future__ import annotations

import mimetypes
import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.dates import iso_week
from sandbox.blockkit import block_elements
from sandbox.payloads import Delivery, SlackClientSimulator, selection
from sandbox.payloads.escaping import escape_command_text
from sandbox.slack_api import FakeSlack, View
from sandbox.workspace.clock import DemoClock
from scheduler import jobs
from scheduler.due import Due, latest_daily, latest_weekly
from scheduler.runner import Run, Runner

JSON = dict[str, Any]

# The message shortcuts of manifest.yml, as Slack lists them on a message's "⋯" menu.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Create a deal", "deal_from_message"),
    ("Log to a deal", "log_to_deal"),
)
COMMANDS: tuple[str, ...] = ("/deal",)
MAX_DELIVERIES = 40


class ActionError(Exception):
    """A page request that cannot be carried out (unknown user, no such message...)."""


@dataclass
class Logged:
    """One request the page made Slack send to the bot, for the developer panel."""

    id: int
    what: str
    status: int
    elapsed_ms: int
    ack: str
    payload: Mapping[str, Any]
    at: str


class Workspace:
    """The page's side of the sandbox: user actions as Slack's client, the clock and the jobs."""

    def __init__(
        self,
        fake: FakeSlack,
        slack: SlackClientSimulator,
        runner: Runner,
        clock: DemoClock,
    ) -> None:
        self.fake = fake
        self.slack = slack
        self.runner = runner
        self.clock = clock
        self._lock = threading.Lock()
        self._changes = 0
        self._log: deque[Logged] = deque(maxlen=MAX_DELIVERIES)
        self._log_ids = 0
        # Set when the server stops, so open long polls end instead of being cancelled.
        self.closing = False

    # ------------------------------------------------------------------ bookkeeping

    def version(self) -> str:
        """Changes whenever anything the page shows may have changed."""
        fake = self.fake
        offset = int(self.clock.offset.total_seconds())
        return f"{len(fake.calls)}.{len(fake.violations)}.{self._changes}.{offset}"

    def _changed(self) -> None:
        with self._lock:
            self._changes += 1

    def _logged(self, delivery: Delivery | None) -> JSON:
        self._changed()
        if delivery is None:
            return {"ok": True}
        with self._lock:
            self._log_ids += 1
            entry = Logged(
                self._log_ids,
                _describe(delivery.payload),
                delivery.status,
                round(delivery.elapsed * 1000),
                delivery.body[:4000],
                delivery.payload,
                datetime.now(UTC).isoformat(timespec="seconds"),
            )
            self._log.append(entry)
        return {"ok": delivery.status == 200, "status": delivery.status, "ack": delivery.body}

    @property
    def deliveries(self) -> list[Logged]:
        """The latest requests delivered to the bot, oldest first."""
        with self._lock:
            return list(self._log)

    def person(self, user: str) -> str:
        """The user id when it names a person of the workspace (not the bot), else ActionError."""
        found = self.fake.users.get(user)
        if found is None or found.is_bot:
            raise ActionError(f"no such person: {user!r}")
        return user

    def _channel(self, channel: str) -> str:
        if channel not in self.fake.channels:
            raise ActionError(f"no such channel: {channel!r}")
        return channel

    # ------------------------------------------------------------------ user actions

    def send(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> JSON:
        """The composer: a `/command` goes to the bot signed; anything else is a message."""
        user, channel = self.person(user), self._channel(channel)
        text = text.strip()
        if not text:
            raise ActionError("type a message or a /deal command")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command not in COMMANDS:
                raise ActionError(
                    f"{command} is not a valid command here; try /deal help "
                    "(Slack reads every message starting with / as a command)"
                )
            # The manifest asks for should_escape: Slack escapes the text and links mentions.
            escaped = escape_command_text(
                rest.strip(), self.fake.users.values(), self.fake.channels.values()
            )
            return self._logged(self.slack.command(user, escaped, channel_id=channel))
        self.fake.post_user_message(channel, user, text, thread_ts=thread_ts or None)
        return self._logged(None)

    def click(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        value: object = None,
        *,
        block_id: str | None = None,
    ) -> JSON:
        """Click or pick something in a message (ephemeral ones included), in `block_id`."""
        user, channel = self.person(user), self._channel(channel)
        try:
            delivery = self.slack.click(
                user, channel, ts, action_id, value=value or None, block_id=block_id
            )
        except LookupError as exc:
            raise ActionError(str(exc)) from None
        return self._logged(delivery)

    def click_in_view(
        self,
        user: str,
        view_id: str,
        action_id: str,
        value: object = None,
        inputs: Mapping[str, Any] | None = None,
        *,
        block_id: str | None = None,
    ) -> JSON:
        """Click or pick something in a modal or the App Home, with what is typed so far."""
        user = self.person(user)
        view = self._view(view_id, user)
        if inputs:
            self.fake.set_view_state(view_id, _merged_state(view, inputs))
        try:
            delivery = self.slack.click_in_view(
                user, view_id, action_id, value=value or None, block_id=block_id
            )
        except LookupError as exc:
            raise ActionError(str(exc)) from None
        return self._logged(delivery)

    def submit(self, user: str, view_id: str, inputs: Mapping[str, Any]) -> JSON:
        """Press a modal's submit button with the inputs as the page shows them."""
        user = self.person(user)
        view = self._view(view_id, user)
        if not view.open:
            raise ActionError("this modal is closed")
        self.fake.set_view_state(view_id, _merged_state(view, inputs))
        return self._logged(self.slack.submit(user, None, view_id=view_id))

    def close(self, user: str, view_id: str) -> JSON:
        """Press a modal's Cancel (sends view_closed only when the view asked for it)."""
        user = self.person(user)
        self._view(view_id, user)
        return self._logged(self.slack.close(user, view_id=view_id))

    def shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> JSON:
        """Run a message shortcut from a message's "⋯" menu."""
        user, channel = self.person(user), self._channel(channel)
        if callback_id not in {c for _, c in SHORTCUTS}:
            raise ActionError(f"no message shortcut {callback_id!r}")
        if self.fake.message(channel, ts) is None:
            raise ActionError(f"no message {ts} in {channel}")
        return self._logged(self.slack.message_shortcut(user, channel, ts, callback_id))

    def open_home(self, user: str) -> JSON:
        """Open the App Home tab: Slack sends app_home_opened."""
        return self._logged(self.slack.open_home(self.person(user)))

    def clear_violations(self) -> None:
        """Forget the violations shown so far."""
        self.fake.violations.clear()
        self._changed()

    def _view(self, view_id: str, user: str) -> View:
        view = self.fake.view(view_id)
        if view is None or view.user != user:
            raise ActionError(f"no view {view_id} for {user}")
        return view

    # ------------------------------------------------------------------ the clock and the jobs

    def run_job(self, kind: str) -> str:
        """Run the reminders or the digest now, forced, as `pipebot jobs run --force` does."""
        if kind not in jobs.KINDS:
            raise ActionError(f"no job {kind!r}")
        teams = self.runner.teams(self.fake.team_id)
        if not teams:
            raise ActionError("no team yet: use /deal once (or restart the demo without --empty)")
        at = self.clock()
        lines = []
        for team in teams:
            schedule = team.schedule()
            tz = ZoneInfo(team.timezone)
            due: Due | None = None
            if schedule is not None and kind == jobs.REMINDERS and schedule.reminders:
                due = latest_daily(at, tz, schedule.reminders)
            elif schedule is not None and kind == jobs.DIGEST and schedule.digest:
                due = latest_weekly(at, tz, schedule.digest)
            if due is None:
                local = at.astimezone(tz).date()
                period = local.isoformat() if kind == jobs.REMINDERS else iso_week(local)
                due = Due(fire_at=at, period=period, local_date=local)
            outcomes = self.runner.run(Run(team, kind, due), force=True)
            summary = ", ".join(o.value for o in outcomes) or "nothing to post"
            if kind == jobs.DIGEST and not team.channel_id:
                summary += " (no channel: /deal config channel #sales)"
            lines.append(f"{kind} for {due.period}: {summary}")
        self._changed()
        return "; ".join(lines)

    def advance(self, days: int) -> str:
        """Move the demo clock forward, then let the scheduler do what is due by then."""
        if days not in (1, 7):
            raise ActionError("the clock moves by 1 or 7 days")
        now = self.clock.advance(timedelta(days=days))
        outcomes = self.runner.tick()
        self._changed()
        teams = self.runner.teams(self.fake.team_id)
        zone = ZoneInfo(teams[0].timezone) if teams else UTC
        local = now.astimezone(zone)
        counts = Counter(o.value for o in outcomes)
        done = ", ".join(f"{n} {what}" for what, n in counts.items()) or "nothing was due"
        return f"It is now {local:%a %-d %b %Y %H:%M} ({zone}). Scheduler: {done}."

    # ------------------------------------------------------------------ what the page shows

    def file(self, file_id: str) -> tuple[bytes, str] | None:
        """An uploaded file's bytes and media type (None when unknown or unfinished)."""
        for upload in self.fake.files:
            if upload.id == file_id and upload.data is not None:
                kind = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
                return upload.data, kind
        return None


def _describe(payload: Mapping[str, Any]) -> str:
    if "command" in payload:
        return f"{payload['command']} {payload.get('text', '')}".strip()
    kind = str(payload.get("type", "?"))
    if kind == "block_actions":
        actions = payload.get("actions") or [{}]
        return f"block_actions {actions[0].get('action_id')}"
    if kind in ("view_submission", "view_closed"):
        return f"{kind} {(payload.get('view') or {}).get('callback_id')}"
    if kind in ("message_action", "shortcut"):
        return f"{kind} {payload.get('callback_id')}"
    if kind == "event_callback":
        return f"event {(payload.get('event') or {}).get('type')}"
    return kind


def _merged_state(view: View, inputs: Mapping[str, Any]) -> JSON:
    """view.state.values: what was there, overlaid with the page's inputs (by block, action)."""
    state: JSON = {k: dict(v) for k, v in view.state_values.items()}
    for block_id, element in block_elements(view.blocks):
        given = inputs.get(block_id)
        action_id = str(element.get("action_id"))
        if not isinstance(given, Mapping) or action_id not in given:
            continue
        value = given[action_id]
        if value == "" or value == []:
            value = None
        try:
            chosen = selection(element, value)
        except LookupError as exc:
            raise ActionError(str(exc)) from None
        state.setdefault(block_id, {})[action_id] = {"type": element.get("type"), **chosen}
    return state
