"""What one durable write before the ack costs: the inbox row, against Redis and RabbitMQ.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_inbox.py [--n 2000] [--pg-url URL]

One thread writes a `/deal add` body N times, one write at a time, each made durable the way
its store makes it so, and times each write:

* the inbox row on SQLite (a file; WAL, synchronous=NORMAL: what `pipebot run` uses) and on
  PostgreSQL (local, default settings: fsync on commit), through `storage.inbox.receive` in
  its own transaction, as the ack does (`bot.inbox.Inbox.receive`);
* Redis (local): `LPUSH` over a plain socket, with the server's persistence as configured
  (printed: with `appendfsync everysec` a write is on disk within a second, not at the reply);
* RabbitMQ (local, if the `pika` package is installed): a persistent message published to a
  durable queue with publisher confirms (the broker answers once it has the message).

A queue would still need the table: the work's change and "this request is done" must commit
together, or a crash between them applies the change twice or never.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from benchlib import PG_BASE, load1
from sqlalchemy import create_engine, text

from storage import inbox
from storage.db import Database
from storage.migrate import upgrade

BODY = (
    "token=x&team_id=T0DEMO&team_domain=demo&channel_id=C0SALES&channel_name=sales"
    "&user_id=U0ALICE&user_name=alice&command=%2Fdeal&text=add+Bench+Co+qabc+50k"
    "&api_app_id=A0PIPEBOT&is_enterprise_install=false"
    "&response_url=http%3A%2F%2F127.0.0.1%2Fresponse%2F1&trigger_id=1.2.3"
)


def timed(write: Callable[[int], None], n: int) -> dict[str, float]:
    """p50 / p99 / mean of `n` writes, in milliseconds, after 50 unmeasured ones."""
    for i in range(50):
        write(-i - 1)
    times = []
    for i in range(n):
        started = time.perf_counter()
        write(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p99": times[int(len(times) * 0.99) - 1],
        "mean": statistics.fmean(times),
    }


def inbox_writer(db: Database) -> Callable[[int], None]:
    """One inbox row per call, in its own transaction, as the ack writes it."""
    run = uuid.uuid4().hex[:8]
    request = inbox.Incoming(
        "T0DEMO", "command", "http", BODY, {"content-type": ["application/x-www-form-urlencoded"]}
    )

    def write(i: int) -> None:
        now = datetime.now(UTC)
        with db.session_scope(lock_timeout=0.5) as session:
            inbox.receive(
                session,
                request,
                key=f"command:{run}:{i}",
                now=now,
                lease_until=now + timedelta(seconds=30),
            )

    return write


class Resp:
    """The smallest Redis client: one command, one reply."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379) -> None:
        self.sock = socket.create_connection((host, port))
        self.file = self.sock.makefile("rb")

    def call(self, *args: str) -> bytes:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _reply(self) -> bytes:
        line = self.file.readline()
        if line[:1] == b"$":
            size = int(line[1:])
            return b"" if size < 0 else self.file.read(size + 2)[:-2]
        if line[:1] == b"*":
            return b" ".join(self._reply() for _ in range(int(line[1:])))
        return line.strip()


def redis_writer() -> tuple[Callable[[int], None], str]:
    """LPUSH per call; and how the server persists (appendonly, appendfsync)."""
    client = Resp()
    persistence = (
        client.call("CONFIG", "GET", "appendonly").decode()
        + ", "
        + client.call("CONFIG", "GET", "appendfsync").decode()
    )
    key = f"pipebot-bench-{uuid.uuid4().hex[:8]}"

    def write(_: int) -> None:
        client.call("LPUSH", key, BODY)

    return write, persistence


def rabbit_writer() -> Callable[[int], None] | None:
    """A persistent publish with confirms per call; None without pika or a broker."""
    try:
        import pika  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    try:
        connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1"))
    except Exception:
        return None
    channel = connection.channel()
    queue = f"pipebot-bench-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue=queue, durable=True, auto_delete=False)
    channel.confirm_delivery()
    persistent = pika.BasicProperties(delivery_mode=2)

    def write(_: int) -> None:
        channel.basic_publish("", queue, BODY, properties=persistent, mandatory=True)

    return write


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg-url", default=PG_BASE)
    args = parser.parse_args()
    print(f"load before: {load1():.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{os.path.join(tmp, 'inbox.db')}"
        upgrade(url)
        sqlite_db = Database(url)
        print("inbox row, SQLite:", timed(inbox_writer(sqlite_db), args.n), flush=True)
        sqlite_db.dispose()
    schema = f"bench_inbox_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        pg_url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
        upgrade(pg_url)
        pg_db = Database(pg_url)
        print("inbox row, PostgreSQL:", timed(inbox_writer(pg_db), args.n), flush=True)
        pg_db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    write, persistence = redis_writer()
    print(f"Redis LPUSH ({persistence}):", timed(write, args.n), flush=True)
    rabbit = rabbit_writer()
    if rabbit is None:
        print("RabbitMQ: skipped (pip install pika, and a broker on 127.0.0.1)")
    else:
        print("RabbitMQ persistent publish, confirmed:", timed(rabbit, args.n), flush=True)
    print(f"load after: {load1():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
