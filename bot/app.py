"""The app factory: a Bolt app wired to the database, the clock and the Slack Web API."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.inbox import Inbox, dedupe_key
from bot.middleware import TICKET, pipe_middleware
from bot.settings import Settings
from bot.slack_client import MeteredWebClient, retry_handlers
from handlers import register_all
from handlers.errors import handle_error
from pipeline.clock import Clock, utcnow
from pipeline.service import TeamDefaults
from storage.db import Database
from storage.inbox import Ticket


class CredentialsError(Exception):
    """A missing or unusable Slack credential, explained for a person."""


HOW_TO = (
    "Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → From a "
    "manifest), install it to your workspace, then copy {what}. See README.md, "
    '"Connect a real Slack workspace".'
)


def require(settings: Settings, *, socket_mode: bool) -> None:
    """Refuse to start without the credentials the chosen mode needs."""
    if not settings.slack_bot_token:
        raise CredentialsError(
            "SLACK_BOT_TOKEN is not set. "
            + HOW_TO.format(what="the Bot User OAuth Token (xoxb-…) from OAuth & Permissions")
        )
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise CredentialsError(
            "SLACK_BOT_TOKEN does not look like a bot token: it must start with xoxb-. "
            + HOW_TO.format(what="the Bot User OAuth Token from OAuth & Permissions")
        )
    # Socket Mode needs no signature: requests come over the app's own WebSocket.
    if not socket_mode and not settings.slack_signing_secret:
        raise CredentialsError(
            "SLACK_SIGNING_SECRET is not set. "
            + HOW_TO.format(what="the Signing Secret from Basic Information")
        )
    if socket_mode and not (settings.slack_app_token or "").startswith("xapp-"):
        raise CredentialsError(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- for Socket Mode. "
            + HOW_TO.format(
                what="an App-Level Token with the connections:write scope (Basic Information)"
            )
        )


# Threads for the work after the ack: Bolt's default, which gave the fastest acks on a 2-core
# machine. The work mostly waits on Slack (0.1-0.5 s a call): 5 threads finish ~16 clicks/s;
# WORKERS raises it at some cost in ack latency (docs/PERFORMANCE.md, "Slack ack latency").
WORKERS = 5


T = TypeVar("T")

logger = logging.getLogger("pipebot")


class _Group:
    """Tasks queued together (one request's work): `done` runs once when all have finished."""

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done
        self._count = 1  # the block that queues them
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._count += 1

    def release(self) -> None:
        with self._lock:
            self._count -= 1
            last = self._count == 0
        if last:
            try:
                self._done()
            except Exception:
                logger.exception("the end of a request's work failed")


def _then(fn: Callable[..., T], release: Callable[[], None]) -> Callable[..., T]:
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            release()

    return run


class WorkPool(ThreadPoolExecutor):
    """The threads that run the work after the ack, counting it so one can wait until done."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, thread_name_prefix="pipebot-work")
        self._running = 0
        self._changed = threading.Condition()
        self._local = threading.local()

    @contextmanager
    def group(self, done: Callable[[], None]) -> Iterator[None]:
        """Tasks queued from this thread inside the block are one group: once the block and
        all of them have finished, `done` runs (in the last task's thread, so `wait_idle`
        covers it)."""
        group, outer = _Group(done), getattr(self._local, "group", None)
        self._local.group = group
        try:
            yield
        finally:
            self._local.group = outer
            group.release()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue `fn`, counted as running until it has finished."""
        group: _Group | None = getattr(self._local, "group", None)
        if group is not None:
            group.add()
            fn = _then(fn, group.release)
        with self._changed:
            self._running += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            if group is not None:
                group.release()
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: Future[Any] | None) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no work is queued or running; False if some is still there at `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)


class PipebotApp(App):
    """A Bolt app whose listeners answer Slack first and do their work after the ack.

    Bolt runs listeners on one small thread pool, first in first out; in its default mode an
    ack waits for the work of every request queued ahead of it (a burst of clicks pushed acks
    past a second in the ack benchmark). So the app runs with `process_before_response=True`
    and each listener is registered as Bolt's lazy listener behind an `ack=` that only acks
    (`handlers.listeners`): the HTTP response leaves before the work starts. Modal submissions
    are the exception: their answer (close, or errors on a field) depends on the write, so
    their `ack=` part writes inline and their `lazy=` part shows the result.
    """

    def __init__(
        self, *args: Any, workers: int = WORKERS, inbox: Inbox | None = None, **kwargs: Any
    ) -> None:
        self.work = WorkPool(workers)
        self.inbox = inbox
        # With token verification Bolt calls auth.test here, so no ack ever waits for it.
        self.knows_identity = bool(kwargs.get("token_verification_enabled", True))
        # The HTTP door checks signatures itself, before any parsing (bot/gate.py); Bolt's own
        # check would refuse the inbox's replays, whose timestamps are old by then. Without a
        # secret Bolt keeps its check (and refuses every HTTP request, as it should).
        self.signing_secret: str = kwargs.get("signing_secret") or ""
        kwargs.setdefault("request_verification_enabled", not self.signing_secret)
        super().__init__(*args, listener_executor=self.work, **kwargs)

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Bolt's dispatch; the request's inbox row is settled once its work has finished.

        Bolt runs global middleware one after the other, not around the listeners, so the
        work a request queues is tied to it here: the tasks submitted during the dispatch form
        one group, and the last to finish settles the row (`bot/inbox.py`).
        """
        if self.inbox is None:
            return super().dispatch(req)
        with self.work.group(functools.partial(self._settle, req)):
            return super().dispatch(req)

    def _settle(self, req: BoltRequest) -> None:
        ticket = req.context.get(TICKET)
        if self.inbox is not None and isinstance(ticket, Ticket):
            self.inbox.finish(ticket)

    def acks_at_once(self, request: BoltRequest) -> bool:
        """True when dispatching `request` only acks: no Web API call, no database.

        That is a request the inbox does not write (`bot.inbox.dedupe_key`) and that is no
        modal submission (its answer waits for its write), once Bolt knows the bot's identity
        (else the first request asks Slack with auth.test). A request written to the inbox
        waits for the database, and for SQLite's write lock behind a worker's transaction:
        in a thread, several such acks wait side by side instead of one after the other on
        the event loop (docs/PERFORMANCE.md, "The inbox's cost").
        """
        if not self.knows_identity or request.body.get("type") == "view_submission":
            return False
        return self.inbox is None or dedupe_key(request.body) is None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the work of every request acked so far has finished (False at timeout)."""
        return self.work.wait_idle(timeout)

    def drain(self) -> None:
        """Finish the work of every request already acked; call it before the process ends."""
        self.work.shutdown(wait=True)


def build_client(settings: Settings) -> WebClient:
    """A Web API client for SLACK_API_URL that retries refused connections and rate limits.

    It counts its failures for `/metrics`.
    """
    base_url = settings.slack_api_url
    if not base_url.endswith("/"):
        base_url += "/"
    return MeteredWebClient(
        token=settings.slack_bot_token,
        base_url=base_url,
        timeout=10,
        # Never a blind resend of a call that may have reached Slack (bot/slack_client.py).
        retry_handlers=retry_handlers(),
    )


def build_app(
    settings: Settings,
    db: Database,
    *,
    clock: Clock = utcnow,
    client: WebClient | None = None,
    know_identity: bool = False,
) -> PipebotApp:
    """The Bolt app with every listener registered; `know_identity` asks auth.test now."""
    inbox = Inbox(
        db=db,
        lease=timedelta(seconds=settings.inbox_lease_seconds),
        retention=timedelta(hours=settings.inbox_retention_hours),
    )
    app = PipebotApp(
        workers=settings.workers,
        inbox=inbox,
        # The client carries the bot token (one install, one token, from the environment);
        # `pipebot run` checks it with auth.test itself, to explain a refusal.
        client=client or build_client(settings),
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=know_identity,
        # Answer Slack from the request thread, at once; listeners' work runs lazily.
        process_before_response=True,
        logger=logging.getLogger("pipebot.bolt"),
    )
    defaults = TeamDefaults(timezone=settings.default_timezone, currency=settings.default_currency)
    # The inbox first: the pipe it is given marks the request's row done with its write.
    app.use(inbox.middleware())
    app.use(pipe_middleware(db, clock, defaults))
    app.error(handle_error)
    register_all(app)
    return app
