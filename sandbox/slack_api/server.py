"""The fake served over real HTTP: the ASGI routes, and uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.slack_api.fake import FakeSlack
from sandbox.slack_api.models import JSON, RESPONSE_URL_METHOD, UPLOAD_METHOD, ApiResult


def parse_body(content_type: str | None, raw: bytes) -> JSON:
    """Decode a request body the way Slack accepts it: JSON, urlencoded form or multipart."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if not raw:
        return {}
    if kind == "application/json":
        parsed = json.loads(raw.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    if kind == "multipart/form-data":
        return dict(_multipart_fields(content_type or "", raw))
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _multipart_fields(content_type: str, raw: bytes) -> Iterator[tuple[str, Any]]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        is_file = part.get_param("filename", header="content-disposition") is not None
        yield name, data if is_file else data.decode("utf-8")


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _origin(request: Request, suffix: str) -> str:
    # request.base_url ignores Mount prefixes, so derive the app root from the path we served.
    url = str(request.url.replace(query=""))
    return url[: -len(suffix)] if url.endswith(suffix) else url


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


def _json_response(result: ApiResult) -> Response:
    return JSONResponse(result.body, status_code=result.status, headers=result.headers)


async def _hang_up(request: Request) -> Response:
    """Close the connection without an answer, as a network lost after Slack got the call does.

    ASGI has no message for this, so the server's own transport is closed: uvicorn's protocol
    hands the app its request cycle's bound `receive`, which holds the transport.
    """
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("the fake can drop a connection only when served by uvicorn")
    transport.abort()
    while not getattr(cycle, "disconnected", True):
        await asyncio.sleep(0)  # uvicorn learns of the loss on the loop's next turns
    return Response(status_code=204)  # never sent: uvicorn drops what comes after a loss


async def _answer(request: Request, result: ApiResult) -> Response:
    return await _hang_up(request) if result.dropped else _json_response(result)


def create_app(fake: FakeSlack) -> Starlette:
    """Build the ASGI app serving `fake`: /api/{method}, /upload/{id}, /response/{id}, /link/."""

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        try:
            params = {
                **dict(request.query_params),
                **parse_body(request.headers.get("content-type"), raw),
            }
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid_form_data"})
        with fake.answering():
            await _pause(fake.delay_for(method))
            result = fake.api(
                method,
                params,
                token=_bearer(request.headers.get("authorization")),
                origin=_origin(request, f"/api/{method}"),
            )
        return await _answer(request, result)

    async def upload(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            parts = [v for _, v in _multipart_fields(content_type, raw) if isinstance(v, bytes)]
            raw = parts[0] if parts else b""
        with fake.answering():
            await _pause(fake.delay_for(UPLOAD_METHOD))
            result = fake.upload(file_id, raw)
        if result.ok:
            return PlainTextResponse(f"OK - {len(raw)}")
        return await _answer(request, result)

    async def response_url(request: Request) -> Response:
        raw = await request.body()
        try:
            payload = parse_body(request.headers.get("content-type") or "application/json", raw)
            if "payload" in payload and isinstance(payload["payload"], str):
                payload = json.loads(payload["payload"])
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        with fake.answering():
            await _pause(fake.delay_for(RESPONSE_URL_METHOD))
            result = fake.respond(request.path_params["response_id"], payload)
        return await _answer(request, result)

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/upload/{file_id}", upload, methods=["POST", "PUT"]),
            Route("/response/{response_id}", response_url, methods=["POST"]),
            fake.socket_mode.route(),
        ]
    )


class ThreadedServer:
    """Serve any ASGI app with uvicorn on 127.0.0.1 (free port) from a background thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Root URL of the served app, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start serving and block until the socket accepts connections."""
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="asgi-server", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ASGI server did not start")
            time.sleep(0.005)
        sockets = [s for srv in server.servers for s in (srv.sockets or ())]
        self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeSlackServer(ThreadedServer):
    """Serve a FakeSlack over real HTTP; point WebClient(base_url=server.base_url) at it."""

    def __init__(
        self,
        fake: FakeSlack | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.fake = fake or FakeSlack()
        super().__init__(
            create_app(self.fake), host=host, port=port, startup_timeout=startup_timeout
        )

    @property
    def base_url(self) -> str:
        """The WebClient base_url, e.g. http://127.0.0.1:PORT/api/."""
        return f"{self.url}/api/"

    def start(self) -> None:
        """Start serving; response/upload URLs the fake issues then point at this server."""
        super().start()
        self.fake.public_url = self.url
