"""HTTP mode: Slack requests at POST /slack/events, health, readiness and metrics, via uvicorn."""

from __future__ import annotations

import time
from collections.abc import Sequence

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import telemetry
from bot import gate
from bot.app import PipebotApp
from bot.health import Check, default_checks, run_checks
from storage.db import Database

# Request kinds counted apart (a bounded set: anything else counts as "other").
KINDS = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "event_callback",
        "url_verification",
        "app_rate_limited",
    }
)


async def _body(request: Request) -> bytes:
    """The body, read no further than one byte past the gate's limit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > gate.MAX_BODY:
            break
    return b"".join(chunks)


def request_kind(request: BoltRequest) -> str:
    """What a Slack request is, for the metrics: command, or its payload's type."""
    body = request.body
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in KINDS else "other"


def _counted(kind: str, started: float, response: Response) -> Response:
    telemetry.REQUESTS.labels(kind, str(response.status_code)).inc()
    if 200 <= response.status_code < 300:
        telemetry.ACK_SECONDS.labels(kind).observe(time.perf_counter() - started)
    return response


def build_asgi(app: App, db: Database, checks: Sequence[Check] | None = None) -> Starlette:
    """The ASGI app: Bolt's sync dispatch, on the event loop only when it just acks.

    `checks` are what /readyz runs (default: the database and its migrations).
    """

    secret = app.signing_secret if isinstance(app, PipebotApp) else ""
    readiness = list(checks) if checks is not None else default_checks(db)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await _body(request)
        if secret:
            refusal = gate.check(body, request.headers, secret)
            if refusal is not None:
                gate.refuse(refusal, request.url.path)
                refused = PlainTextResponse(refusal.reason, status_code=refusal.status)
                return _counted("refused", started, refused)
        bolt_request = to_bolt_request(request, body)
        kind = request_kind(bolt_request)
        if isinstance(app, PipebotApp) and app.acks_at_once(bolt_request):
            # About a millisecond of work: on the loop it saves two hops between threads,
            # each a wait for the GIL that after-ack work holds (docs/PERFORMANCE.md).
            bolt_response = app.dispatch(bolt_request)
        else:
            # Anything that may wait (the inbox row, a modal's write, Slack) runs in a thread,
            # so the loop keeps answering other requests meanwhile.
            bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        if bolt_response.status == 404:
            # Signed and well formed, but nothing listens for it (an event pipebot does not
            # subscribe to): say so once and answer 200, or Slack would resend it.
            gate.unhandled(request.url.path)
            return _counted(kind, started, Response(status_code=200))
        return _counted(kind, started, to_starlette_response(bolt_response))

    async def healthz(_: Request) -> Response:
        ok = await run_in_threadpool(db.ping)
        return JSONResponse({"ok": ok, "database": "up" if ok else "down"}, 200 if ok else 503)

    async def readyz(_: Request) -> Response:
        results = await run_in_threadpool(run_checks, readiness)
        ok = not any(results.values())
        body = {"ok": ok, "checks": {name: reason or "ok" for name, reason in results.items()}}
        return JSONResponse(body, 200 if ok else 503)

    async def metrics(_: Request) -> Response:
        scraped = [c for c in readiness if c.on_scrape]
        if scraped:
            await run_in_threadpool(run_checks, scraped)
        content, media_type = telemetry.exposition()
        return Response(content, media_type=media_type)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
