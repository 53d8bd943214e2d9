"""HTTP mode: Slack requests at POST /slack/events and a health check, served by uvicorn."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import gate
from bot.app import PipebotApp
from storage.db import Database


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


def build_asgi(app: App, db: Database) -> Starlette:
    """The ASGI app: Bolt's sync dispatch, on the event loop only when it just acks."""

    secret = app.signing_secret if isinstance(app, PipebotApp) else ""

    async def slack_events(request: Request) -> Response:
        body = await _body(request)
        if secret:
            refusal = gate.check(body, request.headers, secret)
            if refusal is not None:
                gate.refuse(refusal, request.url.path)
                return PlainTextResponse(refusal.reason, status_code=refusal.status)
        bolt_request = to_bolt_request(request, body)
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
            return Response(status_code=200)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        ok = await run_in_threadpool(db.ping)
        return JSONResponse({"ok": ok, "database": "up" if ok else "down"}, 200 if ok else 503)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
