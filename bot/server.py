"""HTTP mode: Slack requests at POST /slack/events and a health check, served by uvicorn."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.db import Database


def build_asgi(app: App, db: Database) -> Starlette:
    """The ASGI app: Bolt's sync dispatch runs in a worker thread so requests never queue."""

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_request = to_bolt_request(request, body)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
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
