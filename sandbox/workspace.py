"""A local Slack workspace in the browser: the fake Web API, the real bot and a page to drive both.

`build_demo` wires one Starlette app that serves, on one port:

- `/` and `/static/...`: the workspace page (plain HTML/CSS/JS from sandbox/static);
- `/workspace/...`: the page's JSON endpoints (state, and every user action);
- `/api/...`, `/upload/...`, `/response/...`: the project's FakeSlack (the Web API the bot calls);
- `/slack/events`, `/healthz`: the bot itself, in HTTP mode with real signature checks.

Every user action goes through SlackClientSimulator, so the bot receives exactly what Slack
sends (signed, form-encoded); nothing in the bot knows it is talking to a sandbox.
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.app import build_app
from bot.server import build_asgi
from bot.settings import Settings
from pipeline.dates import iso_week
from pipeline.service import TeamDefaults
from sandbox.blockkit import block_elements
from sandbox.payloads import Delivery, SlackClientSimulator, selection
from sandbox.slack_api import (
    BOT_USER_ID,
    DEFAULT_CHANNEL,
    Ephemeral,
    FakeSlack,
    Message,
    UploadedFile,
    View,
    create_app,
)
from scheduler import jobs
from scheduler.due import Due, latest_daily, latest_weekly
from scheduler.runner import Run, Runner
from storage.db import Database
from storage.models import Deal

JSON = dict[str, Any]

STATIC = Path(__file__).with_name("static")
# The message shortcuts of manifest.yml, as Slack lists them on a message's "⋯" menu.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Create a deal", "deal_from_message"),
    ("Log to a deal", "log_to_deal"),
)
COMMANDS: tuple[str, ...] = ("/deal",)
LONG_POLL = 20.0
POLL_STEP = 0.1
MAX_DELIVERIES = 40
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class DemoClock:
    """The real clock plus an offset the demo moves forward ("+1 day"); thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0) if start is None else start - datetime.now(UTC)
        self._moved = timedelta(0)

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        """The demo's now as a Unix time (the fake Slack's clock)."""
        return self().timestamp()

    @property
    def offset(self) -> timedelta:
        """How far ahead of the real clock the demo is."""
        with self._lock:
            return self._offset

    @property
    def moved(self) -> timedelta:
        """How far the demo was moved forward since it started."""
        with self._lock:
            return self._moved

    def advance(self, delta: timedelta) -> datetime:
        """Move the demo's time forward and return the new now."""
        with self._lock:
            self._offset += delta
            self._moved += delta
        return self()


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
    """The page's side of the sandbox: user actions as Slack's client, and the state to draw."""

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

    def _human(self, user: str) -> str:
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
        user, channel = self._human(user), self._channel(channel)
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
            return self._logged(self.slack.command(user, rest.strip(), channel_id=channel))
        self.fake.post_user_message(channel, user, text, thread_ts=thread_ts or None)
        return self._logged(None)

    def click(self, user: str, channel: str, ts: str, action_id: str, value: object = None) -> JSON:
        """Click or pick something in a message (ephemeral ones included)."""
        user, channel = self._human(user), self._channel(channel)
        try:
            delivery = self.slack.click(user, channel, ts, action_id, value=value or None)
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
    ) -> JSON:
        """Click or pick something in a modal or the App Home, with what is typed so far."""
        user = self._human(user)
        view = self._view(view_id, user)
        if inputs:
            self.fake.set_view_state(view_id, _merged_state(view, inputs))
        try:
            delivery = self.slack.click_in_view(user, view_id, action_id, value=value or None)
        except LookupError as exc:
            raise ActionError(str(exc)) from None
        return self._logged(delivery)

    def submit(self, user: str, view_id: str, inputs: Mapping[str, Any]) -> JSON:
        """Press a modal's submit button with the inputs as the page shows them."""
        user = self._human(user)
        view = self._view(view_id, user)
        if not view.open:
            raise ActionError("this modal is closed")
        self.fake.set_view_state(view_id, _merged_state(view, inputs))
        return self._logged(self.slack.submit(user, None, view_id=view_id))

    def close(self, user: str, view_id: str) -> JSON:
        """Press a modal's Cancel (sends view_closed only when the view asked for it)."""
        user = self._human(user)
        self._view(view_id, user)
        return self._logged(self.slack.close(user, view_id=view_id))

    def shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> JSON:
        """Run a message shortcut from a message's "⋯" menu."""
        user, channel = self._human(user), self._channel(channel)
        if callback_id not in {c for _, c in SHORTCUTS}:
            raise ActionError(f"no message shortcut {callback_id!r}")
        if self.fake.message(channel, ts) is None:
            raise ActionError(f"no message {ts} in {channel}")
        return self._logged(self.slack.message_shortcut(user, channel, ts, callback_id))

    def open_home(self, user: str) -> JSON:
        """Open the App Home tab: Slack sends app_home_opened."""
        return self._logged(self.slack.open_home(self._human(user)))

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

    def state(self, user: str) -> JSON:
        """Everything the page draws for one user, as JSON."""
        user = self._human(user)
        fake = self.fake
        version = self.version()
        dm = fake.dm_channel(user)
        files = {f.id: _file_json(f) for f in fake.files if f.completed}
        channels = [c for c in fake.channels.values() if not c.is_im] + [fake.channels[dm]]
        mine = fake.ephemerals(user)
        messages: dict[str, list[JSON]] = {}
        for channel in channels:
            shown = []
            for message in fake.messages(channel.id):
                replies = [_message_json(r, files) for r in fake.thread(channel.id, message.ts)]
                replies += [
                    _ephemeral_json(e)
                    for e in mine
                    if e.channel == channel.id and e.thread_ts == message.ts
                ]
                replies.sort(key=lambda m: float(m["ts"]))
                shown.append({**_message_json(message, files), "replies": replies})
            shown += [
                _ephemeral_json(e) for e in mine if e.channel == channel.id and not e.thread_ts
            ]
            shown.sort(key=lambda m: float(m["ts"]))
            messages[channel.id] = shown
        stack = fake.open_views(user)
        home = fake.home(user)
        teams = self.runner.teams(fake.team_id)
        now = self.clock()
        return {
            "version": version,
            "me": user,
            "team": {"id": fake.team_id, "domain": fake.team_domain},
            "users": [
                {
                    "id": u.id,
                    "name": u.name,
                    "real_name": u.real_name,
                    "is_admin": u.is_admin,
                    "is_bot": u.is_bot,
                    "tz": u.tz,
                }
                for u in fake.users.values()
            ],
            "channels": [
                {
                    "id": c.id,
                    "name": "pipebot" if c.is_im else c.name,
                    "is_im": c.is_im,
                    "default": c.id == DEFAULT_CHANNEL,
                }
                for c in channels
            ],
            "messages": messages,
            "modal": _modal_json(stack[-1], len(stack)) if stack else None,
            "home": {"id": home.id, "hash": home.hash, "blocks": home.blocks} if home else None,
            "violations": list(fake.violations),
            "deliveries": [_logged_json(d) for d in self.deliveries[-12:]],
            "shortcuts": [{"name": n, "callback_id": c} for n, c in SHORTCUTS],
            "commands": list(COMMANDS),
            "clock": {
                "now": now.isoformat(),
                "moved_days": round(self.clock.moved.total_seconds() / 86400, 2),
                "tz": teams[0].timezone if teams else "UTC",
            },
        }


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


def _file_json(upload: UploadedFile) -> JSON:
    kind = mimetypes.guess_type(upload.filename)[0] or ""
    return {
        "id": upload.id,
        "name": upload.filename,
        "title": upload.title or upload.filename,
        "url": f"workspace/files/{upload.id}",
        "image": kind.startswith("image/"),
        "size": upload.length,
    }


def _message_json(message: Message, files: Mapping[str, JSON]) -> JSON:
    return {
        "ts": message.ts,
        "user": message.user,
        "bot": message.user == BOT_USER_ID,
        "text": message.text,
        "blocks": message.blocks,
        "files": [files[f] for f in message.files if f in files],
        "thread_ts": message.thread_ts,
        "edited": bool(message.edits),
        "ephemeral": False,
    }


def _ephemeral_json(eph: Ephemeral) -> JSON:
    return {
        "ts": eph.ts,
        "user": BOT_USER_ID,
        "bot": True,
        "text": eph.text,
        "blocks": eph.blocks,
        "files": [],
        "thread_ts": eph.thread_ts,
        "edited": bool(eph.edits),
        "ephemeral": True,
        "replies": [],
    }


def _modal_json(view: View, depth: int) -> JSON:
    return {
        "id": view.id,
        "hash": view.hash,
        "callback_id": view.callback_id,
        "title": view.view.get("title"),
        "submit": view.view.get("submit"),
        "close": view.view.get("close"),
        "blocks": view.blocks,
        "errors": view.errors or {},
        "state": view.state_values,
        "depth": depth,
        "root_view_id": view.root_view_id,
    }


def _logged_json(entry: Logged) -> JSON:
    return {
        "id": entry.id,
        "what": entry.what,
        "status": entry.status,
        "elapsed_ms": entry.elapsed_ms,
        "ack": entry.ack,
        "payload": entry.payload,
        "at": entry.at,
    }


# ---------------------------------------------------------------------- HTTP


async def _body(request: Request) -> JSON:
    # JSON only: a page on another site cannot send that without a CORS preflight we refuse.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ActionError("the body must be JSON (Content-Type: application/json)")
    try:
        data = await request.json()
    except ValueError:
        raise ActionError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise ActionError("the body must be a JSON object")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ActionError(f"{key!r} must be a non-empty string")
    return value


def _inputs(data: Mapping[str, Any]) -> Mapping[str, Any]:
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise ActionError("'inputs' must be an object of {block_id: {action_id: value}}")
    return inputs


Endpoint = Callable[[Request], Awaitable[Response]]


def workspace_routes(ws: Workspace) -> list[Route | Mount]:
    """The page and its JSON endpoints (mounted beside the fake's and the bot's routes)."""

    def action(run: Callable[[JSON], JSON]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                data = await _body(request)
                # Blocking: the simulator waits on the bot, which is served by this same loop.
                result = await run_in_threadpool(run, data)
            except ActionError as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
            return JSONResponse({**result, "version": ws.version()})

        return endpoint

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or ""
        since = request.query_params.get("since")
        deadline = time.monotonic() + LONG_POLL
        # Long poll: answer as soon as anything changes, without holding a worker thread.
        while since is not None and since == ws.version() and time.monotonic() < deadline:
            if ws.closing or await request.is_disconnected():
                break
            await asyncio.sleep(POLL_STEP)
        try:
            body = await run_in_threadpool(ws.state, user)
        except ActionError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def file(request: Request) -> Response:
        found = ws.file(request.path_params["file_id"])
        if found is None:
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        data, kind = found
        return Response(data, media_type=kind, headers={"Cache-Control": "max-age=3600"})

    async def deliveries(_: Request) -> Response:
        return JSONResponse([_logged_json(d) for d in ws.deliveries])

    async def favicon(_: Request) -> Response:
        return RedirectResponse("/static/favicon.svg")

    def job(data: JSON) -> JSON:
        return {"ok": True, "message": ws.run_job(_text(data, "kind"))}

    def advance(data: JSON) -> JSON:
        days = data.get("days")
        if not isinstance(days, int) or isinstance(days, bool):
            raise ActionError("'days' must be 1 or 7")
        return {"ok": True, "message": ws.advance(days)}

    def clear(_: JSON) -> JSON:
        ws.clear_violations()
        return {"ok": True}

    post = ["POST"]
    return [
        Route("/", index, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/workspace/state", state, methods=["GET"]),
        Route("/workspace/files/{file_id}", file, methods=["GET"]),
        Route("/workspace/deliveries", deliveries, methods=["GET"]),
        Route(
            "/workspace/send",
            action(
                lambda d: ws.send(
                    _text(d, "user"),
                    _text(d, "channel"),
                    _text(d, "text", required=False),
                    _text(d, "thread_ts", required=False) or None,
                )
            ),
            methods=post,
        ),
        Route(
            "/workspace/click",
            action(
                lambda d: ws.click(
                    _text(d, "user"),
                    _text(d, "channel"),
                    _text(d, "ts"),
                    _text(d, "action_id"),
                    d.get("value"),
                )
            ),
            methods=post,
        ),
        Route(
            "/workspace/click_in_view",
            action(
                lambda d: ws.click_in_view(
                    _text(d, "user"),
                    _text(d, "view_id"),
                    _text(d, "action_id"),
                    d.get("value"),
                    _inputs(d),
                )
            ),
            methods=post,
        ),
        Route(
            "/workspace/submit",
            action(lambda d: ws.submit(_text(d, "user"), _text(d, "view_id"), _inputs(d))),
            methods=post,
        ),
        Route(
            "/workspace/close",
            action(lambda d: ws.close(_text(d, "user"), _text(d, "view_id"))),
            methods=post,
        ),
        Route(
            "/workspace/shortcut",
            action(
                lambda d: ws.shortcut(
                    _text(d, "user"), _text(d, "channel"), _text(d, "ts"), _text(d, "callback_id")
                )
            ),
            methods=post,
        ),
        Route("/workspace/home", action(lambda d: ws.open_home(_text(d, "user"))), methods=post),
        Route("/workspace/job", action(job), methods=post),
        Route("/workspace/advance", action(advance), methods=post),
        Route("/workspace/violations/clear", action(clear), methods=post),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


# ---------------------------------------------------------------------- wiring


@dataclass
class Demo:
    """The whole sandbox: the ASGI app to serve and what it is made of."""

    asgi: Starlette
    workspace: Workspace
    fake: FakeSlack
    bot: App
    runner: Runner
    clock: DemoClock
    db: Database
    signing_secret: str


def build_demo(
    db: Database,
    *,
    base_url: str,
    clock: DemoClock | None = None,
    signing_secret: str | None = None,
    token: str | None = None,
    settings: Settings | None = None,
) -> Demo:
    """Wire the fake Slack, the bot in HTTP mode and the scheduler around one database."""
    clock = clock or DemoClock()
    token = token or f"xoxb-demo-{secrets.token_hex(12)}"
    secret = signing_secret or secrets.token_hex(32)
    base_url = base_url.rstrip("/")
    fake = FakeSlack(token=token, now=clock.timestamp, public_url=base_url)
    base = settings or Settings(_env_file=None)
    settings = base.model_copy(
        update={
            "database_url": db.url,
            "slack_bot_token": token,
            "slack_signing_secret": secret,
            "slack_app_token": None,
            "slack_api_url": fake.api_url,
        }
    )
    bot = build_app(settings, db, clock=clock)
    defaults = TeamDefaults(settings.default_timezone, settings.default_currency)
    runner = Runner(db, bot.client, clock=clock, defaults=defaults)
    slack = SlackClientSimulator(f"{base_url}/slack/events", secret, fake)
    workspace = Workspace(fake, slack, runner, clock)
    asgi = Starlette(
        routes=[
            *workspace_routes(workspace),
            *build_asgi(bot, db).routes,
            *create_app(fake).routes,
        ],
        # Loopback names only, so a DNS-rebinding page cannot drive the workspace.
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS))],
    )
    return Demo(asgi, workspace, fake, bot, runner, clock, db, secret)


def has_deals(db: Database, team_id: str) -> bool:
    """True when the team has at least one deal (the demo then keeps its data)."""
    with db.read_scope() as session:
        count = session.scalar(
            select(func.count()).select_from(Deal).where(Deal.team_id == team_id)
        )
    return bool(count)


# What people say in #sales before anyone uses the bot: something to run the shortcuts on.
CHATTER: tuple[tuple[str, str, str], ...] = (
    ("C0GENERAL", "U0ALICE", "Welcome to the pipebot demo! Deals live in <#C0SALES>."),
    (
        DEFAULT_CHANNEL,
        "U0BOB",
        "Vandelay Industries wants 30k EUR of seats\n"
        "Just got off the phone with them: they decide by 18/12, *budget is approved*.",
    ),
    (
        DEFAULT_CHANNEL,
        "U0CAROL",
        "Cyberdyne sent the security questionnaire back, all green :tada:",
    ),
)


def post_chatter(fake: FakeSlack) -> None:
    """People's messages in the channels, so the "⋯" shortcuts have something to act on."""
    for channel, user, text in CHATTER:
        if channel in fake.channels and user in fake.users:
            fake.post_user_message(channel, user, text)
