"""`pipebot demo`: the bot and a local Slack-like workspace in the browser, no Slack account.

One process serves, on loopback only: the bot in HTTP mode (its real /slack/events, real
signature checks, a generated signing secret and token), the project's fake Slack Web API, and
a workspace page that drives both as Slack's client would.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from cli.common import CliError, load_settings, open_database

if TYPE_CHECKING:
    from cli.common import Subparsers

DEFAULT_DB = "sqlite:///pipebot-demo.db"
DEFAULT_PORT = 3000

logger = logging.getLogger("pipebot.demo")


def add_command(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Register `pipebot demo`."""
    demo = sub.add_parser(
        "demo",
        help="try pipebot in a local browser workspace, no Slack account needed",
        description="Start the bot and a local Slack-like workspace at http://HOST:PORT "
        "(loopback only). The demo team is seeded with a dozen deals unless --empty.",
        parents=[common],
    )
    demo.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (default 3000)")
    demo.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)"
    )
    demo.add_argument("--empty", action="store_true", help="start with no demo deals")
    demo.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL or SQLite file (default sqlite:///pipebot-demo.db)",
    )
    demo.add_argument(
        "--no-scheduler",
        action="store_true",
        help="no background tick (the page's clock buttons still run the jobs)",
    )
    demo.set_defaults(handler=_demo)


def loopback(host: str) -> str:
    """The address to bind, refusing anything but loopback: the fake Slack has no auth."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise CliError(
            f"--host {host}: the demo listens on loopback only, since anyone reaching it could "
            "act as any user of the fake workspace.",
            example="--host 127.0.0.1",
        )
    return str(address)


def database_url(args: argparse.Namespace) -> str:
    """--db (a URL or a SQLite file name), else --database-url, else pipebot-demo.db."""
    given: str | None = args.db or getattr(args, "database_url", None)
    if not given:
        return DEFAULT_DB
    if "://" not in given:
        return f"sqlite:///{given}"
    for prefix in ("postgres://", "postgresql://"):
        if given.startswith(prefix):
            return "postgresql+psycopg://" + given[len(prefix) :]
    return given


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now queues the browser's first request until uvicorn takes over.
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise CliError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            example=f"pipebot demo --port {port + 1}",
        ) from None
    return sock


def _demo(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox.demo import DEMO_TEAM, seed_demo
    from sandbox.workspace import DemoClock, build_demo, has_deals, post_chatter
    from scheduler.runner import start_background

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    host = loopback(args.host)
    url = database_url(args)
    sock = _bind(host, args.port)
    port = int(sock.getsockname()[1])
    try:
        db = open_database(argparse.Namespace(database_url=url))
    except BaseException:
        sock.close()
        raise
    clock = DemoClock()
    if not args.empty and not has_deals(db, DEMO_TEAM):
        made = seed_demo(db, now=clock())
        logger.info("seeded the demo team %s with %d deals", DEMO_TEAM, made)
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    demo = build_demo(db, base_url=base, clock=clock, settings=settings)
    if not args.empty:
        post_chatter(demo.fake)
    scheduler = None if args.no_scheduler else start_background(demo.runner)
    print(f"pipebot demo: open {base} in your browser (Ctrl-C to stop)", flush=True)
    print(f"  database: {url}", flush=True)
    print(f"  the bot:  {base}/slack/events · the fake Slack Web API: {base}/api/", flush=True)
    config = uvicorn.Config(
        demo.asgi,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    workspace = demo.workspace

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            workspace.closing = True
            await super().shutdown(sockets)

    try:
        Server(config).run(sockets=[sock])
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        db.dispose()
        sock.close()
    return 0
