"""The page and its JSON endpoints: GET the state (long poll), POST what a person does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox.workspace.actions import ActionError, Workspace
from sandbox.workspace.page import logged_json, page_state

JSON = dict[str, Any]
Action = Callable[[Workspace, JSON], JSON]

STATIC = Path(__file__).resolve().parent.parent / "static"
LONG_POLL = 20.0
POLL_STEP = 0.1


def workspace_routes(ws: Workspace) -> list[Route | Mount]:
    """The page and its JSON endpoints (mounted beside the fake's and the bot's routes)."""
    return [
        Route("/", _index, methods=["GET"]),
        Route("/favicon.ico", _favicon, methods=["GET"]),
        Route("/workspace/state", partial(_state, ws), methods=["GET"]),
        Route("/workspace/files/{file_id}", partial(_file, ws), methods=["GET"]),
        Route("/workspace/deliveries", partial(_deliveries, ws), methods=["GET"]),
        *[
            Route(f"/workspace/{path}", partial(_action, ws, run), methods=["POST"])
            for path, run in ACTIONS.items()
        ],
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


# ---------------------------------------------------------------------- GET


async def _index(_: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _favicon(_: Request) -> Response:
    return RedirectResponse("/static/favicon.svg")


async def _state(ws: Workspace, request: Request) -> Response:
    """The page's state; with `since`, a long poll that answers once the version moves."""
    user = request.query_params.get("user") or ""
    since = request.query_params.get("since")
    deadline = time.monotonic() + LONG_POLL
    # Long poll: answer as soon as anything changes, without holding a worker thread.
    while since is not None and since == ws.version() and time.monotonic() < deadline:
        if ws.closing or await request.is_disconnected():
            break
        await asyncio.sleep(POLL_STEP)
    try:
        body = await run_in_threadpool(page_state, ws, user)
    except ActionError as exc:
        return _error(exc)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _file(ws: Workspace, request: Request) -> Response:
    found = ws.file(request.path_params["file_id"])
    if found is None:
        return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
    data, kind = found
    return Response(data, media_type=kind, headers={"Cache-Control": "max-age=3600"})


async def _deliveries(ws: Workspace, _: Request) -> Response:
    return JSONResponse([logged_json(d) for d in ws.deliveries])


# ---------------------------------------------------------------------- POST


async def _action(ws: Workspace, run: Action, request: Request) -> Response:
    """Run one person's action from a JSON body; answer its result and the new version."""
    try:
        data = await _body(request)
        # Blocking: the simulator waits on the bot, which is served by this same loop.
        result = await run_in_threadpool(run, ws, data)
    except ActionError as exc:
        return _error(exc)
    return JSONResponse({**result, "version": ws.version()})


def _send(ws: Workspace, d: JSON) -> JSON:
    return ws.send(
        _text(d, "user"),
        _text(d, "channel"),
        _text(d, "text", required=False),
        _text(d, "thread_ts", required=False) or None,
    )


def _click(ws: Workspace, d: JSON) -> JSON:
    where = (_text(d, "user"), _text(d, "channel"), _text(d, "ts"))
    block_id = _text(d, "block_id", required=False) or None
    return ws.click(*where, _text(d, "action_id"), d.get("value"), block_id=block_id)


def _click_in_view(ws: Workspace, d: JSON) -> JSON:
    user, view_id, action_id = _text(d, "user"), _text(d, "view_id"), _text(d, "action_id")
    block_id = _text(d, "block_id", required=False) or None
    return ws.click_in_view(user, view_id, action_id, d.get("value"), _inputs(d), block_id=block_id)


def _submit(ws: Workspace, d: JSON) -> JSON:
    return ws.submit(_text(d, "user"), _text(d, "view_id"), _inputs(d))


def _close(ws: Workspace, d: JSON) -> JSON:
    return ws.close(_text(d, "user"), _text(d, "view_id"))


def _shortcut(ws: Workspace, d: JSON) -> JSON:
    where = (_text(d, "user"), _text(d, "channel"), _text(d, "ts"))
    return ws.shortcut(*where, _text(d, "callback_id"))


def _home(ws: Workspace, d: JSON) -> JSON:
    return ws.open_home(_text(d, "user"))


def _job(ws: Workspace, d: JSON) -> JSON:
    return {"ok": True, "message": ws.run_job(_text(d, "kind"))}


def _advance(ws: Workspace, d: JSON) -> JSON:
    days = d.get("days")
    if not isinstance(days, int) or isinstance(days, bool):
        raise ActionError("'days' must be 1 or 7")
    return {"ok": True, "message": ws.advance(days)}


def _clear(ws: Workspace, _: JSON) -> JSON:
    ws.clear_violations()
    return {"ok": True}


# POST /workspace/<path>: what the page's buttons and composer send.
ACTIONS: Mapping[str, Action] = {
    "send": _send,
    "click": _click,
    "click_in_view": _click_in_view,
    "submit": _submit,
    "close": _close,
    "shortcut": _shortcut,
    "home": _home,
    "job": _job,
    "advance": _advance,
    "violations/clear": _clear,
}


# ---------------------------------------------------------------------- request bodies


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


def _error(exc: ActionError) -> Response:
    return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
