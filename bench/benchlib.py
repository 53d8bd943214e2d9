"""Shared pieces of the HTTP and scheduler benchmarks: the fake Slack in its own process,
percentiles, process statistics from /proc, and throwaway databases.

Not a benchmark itself; `bench_ack.py` and `bench_scheduler.py` import it (they run as
scripts, so `bench/` is on sys.path).
"""

from __future__ import annotations

import gc
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text

from sandbox.blockkit import block_elements
from sandbox.slack_api import (
    DEFAULT_CHANNEL,
    RESPONSE_URL_METHOD,
    Channel,
    FakeSlack,
    FakeSlackServer,
    RateLimit,
    default_channels,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
JSON = dict[str, Any]


# --- the fake Slack, in a child process ------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """A posted message holding a button, as a click needs it."""

    ts: str
    message: JSON
    block_id: str
    element: JSON
    trigger_id: str
    response_url: str


class FakeHost:
    """Lives in the child process: one FakeSlack served over HTTP on 127.0.0.1.

    The fake keeps a deep copy of every call it answered; once that record holds a few
    hundred thousand objects, a full collection of Python's garbage collector stalls the
    fake for 0.1-0.6 s (measured), and the bot's threads waiting on it with it. Real Slack
    has no such pauses on our side, so the collector is off in this process and runs in
    `collect()`, which the benches call between phases, outside the timed part.
    """

    def __init__(
        self,
        *,
        rate_limit: bool,
        burst: int = 5,
        per_second: float = 1.0,
        fail_every: int = 0,
        channels: Sequence[str] = (),
    ) -> None:
        seeded = default_channels() + [Channel(c, f"team-{c.lower()}") for c in channels]
        self.fake = FakeSlack(
            token=TOKEN,
            rate_limit=RateLimit(enabled=rate_limit, burst=burst, per_second=per_second),
            channels=seeded,
        )
        # 429 to the first attempt of 1 post in `fail_every` (a hash of the post chooses).
        self.fail_every = fail_every
        self.fake.rate_limit_one_in("chat.postMessage", fail_every)
        self.server = FakeSlackServer(self.fake)
        self.server.start()
        self._handed_out: set[str] = set()
        self._gc_started = 0.0
        self._gc_pauses: list[tuple[int, float]] = []
        gc.callbacks.append(self._on_gc)
        gc.disable()

    def collect(self) -> float:
        """Run the garbage collector now (between phases); the seconds it took."""
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        return time.perf_counter() - started

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_pauses.append((info["generation"], time.perf_counter() - self._gc_started))

    def gc_pauses(self) -> dict[str, float]:
        """The fake's own garbage-collector pauses since the last call (it stalls the fake)."""
        pauses, self._gc_pauses = self._gc_pauses, []
        full = [d for g, d in pauses if g == 2]
        return {
            "collections": len(pauses),
            "full": len(full),
            "total_s": sum(d for _, d in pauses),
            "max_s": max((d for _, d in pauses), default=0.0),
        }

    def base_url(self) -> str:
        """The Web API base URL (SLACK_API_URL)."""
        return self.server.base_url

    def issue(self, n: int, user: str, channel: str = DEFAULT_CHANNEL) -> list[tuple[str, str]]:
        """`n` fresh (trigger_id, response_url) pairs, as Slack issues them with a command."""
        return [
            (self.fake.new_trigger_id(user), self.fake.new_response_url(channel, user))
            for _ in range(n)
        ]

    def cards(
        self, n: int, user: str, action_id: str, channel: str = DEFAULT_CHANNEL
    ) -> list[Card]:
        """Up to `n` not yet handed out top-level messages having `action_id`, oldest first."""
        found: list[Card] = []
        for message in self.fake.messages(channel):
            if len(found) >= n:
                break
            if message.ts in self._handed_out:
                continue
            element = next(
                (
                    (b, e)
                    for b, e in block_elements(message.blocks)
                    if e.get("action_id") == action_id
                ),
                None,
            )
            if element is None:
                continue
            self._handed_out.add(message.ts)
            found.append(
                Card(
                    ts=message.ts,
                    message=self.fake.message_payload(channel, message.ts),
                    block_id=element[0],
                    element=dict(element[1]),
                    trigger_id=self.fake.new_trigger_id(user),
                    response_url=self.fake.new_response_url(channel, user, message_ts=message.ts),
                )
            )
        return found

    def counts(self) -> dict[str, int]:
        """Answered calls per method (and per method with a non-200 status), plus injections."""
        out: dict[str, int] = {}
        for call in self.fake.call_log():
            out[call.method] = out.get(call.method, 0) + 1
            if call.status != 200:
                key = f"{call.method} HTTP {call.status}"
                out[key] = out.get(key, 0) + 1
            elif not call.response.get("ok"):
                key = f"{call.method} {call.response.get('error')}"
                out[key] = out.get(key, 0) + 1
        out["injected_429"] = self.fake.injected_429
        return out

    def top_level(self, channels: Sequence[str]) -> dict[str, list[tuple[str, str, int]]]:
        """Per channel: (ts, metadata key, thread replies) of each top-level bot message."""
        out: dict[str, list[tuple[str, str, int]]] = {}
        for channel in channels:
            rows = []
            for message in self.fake.messages(channel):
                key = str(((message.metadata or {}).get("event_payload") or {}).get("key", ""))
                rows.append((message.ts, key, len(self.fake.thread(channel, message.ts))))
            out[channel] = rows
        return out

    def progress(self, channel: str = DEFAULT_CHANNEL) -> tuple[int, int, int]:
        """(top-level messages, thread replies, response_url calls): cheap, no copies."""
        top, replies = self.fake.message_counts(channel)
        return top, replies, len(self.fake.calls_to(RESPONSE_URL_METHOD))

    def thread_replies(self, channel: str = DEFAULT_CHANNEL) -> int:
        """Thread replies in a channel (not deleted)."""
        return self.fake.message_counts(channel)[1]

    def last_call_at(self, method: str) -> float:
        """The fake's clock at the last successful call of `method` (0.0 when none)."""
        return max(
            (c.at for c in self.fake.calls_to(method) if c.status == 200),
            default=0.0,
        )

    def violations(self) -> list[str]:
        """What real Slack would have refused or warned about."""
        return list(self.fake.violations)

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds` (the fake's own delay, async)."""
        self.fake.delay(method, seconds)

    def reset(self) -> None:
        """Forget every message and call (channels and delays stay)."""
        delays = self.fake.delays()
        self.fake.reset()
        for method, seconds in delays.items():
            self.fake.delay(method, seconds)
        self.fake.rate_limit_one_in("chat.postMessage", self.fail_every)
        gc.unfreeze()
        self.collect()
        self._handed_out.clear()

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()


class _Manager(BaseManager):
    pass


_Manager.register("FakeHost", FakeHost)


class FakeHostProxy(Protocol):
    """What the main process calls on the FakeHost living in the child process."""

    def base_url(self) -> str: ...
    def issue(self, n: int, user: str, channel: str = ...) -> list[tuple[str, str]]: ...
    def cards(self, n: int, user: str, action_id: str, channel: str = ...) -> list[Card]: ...
    def counts(self) -> dict[str, int]: ...
    def top_level(self, channels: Sequence[str]) -> dict[str, list[tuple[str, str, int]]]: ...
    def progress(self, channel: str = ...) -> tuple[int, int, int]: ...
    def thread_replies(self, channel: str = ...) -> int: ...
    def last_call_at(self, method: str) -> float: ...
    def violations(self) -> list[str]: ...
    def gc_pauses(self) -> dict[str, float]: ...
    def collect(self) -> float: ...
    def delay(self, method: str, seconds: float) -> None: ...
    def reset(self) -> None: ...
    def stop(self) -> None: ...


class FakeProcess:
    """The fake Slack in a child process (spawned), so it never shares a GIL with the bench."""

    def __init__(self, **kwargs: Any) -> None:
        self._manager = _Manager(ctx=get_context("spawn"))
        self._kwargs = kwargs
        self.host: FakeHostProxy
        self.pid = 0

    def __enter__(self) -> FakeHostProxy:
        self._manager.start()
        self.host = self._manager.FakeHost(**self._kwargs)  # type: ignore[attr-defined]
        process = getattr(self._manager, "_process", None)
        self.pid = int(process.pid) if process is not None else 0
        return self.host

    def __exit__(self, *_: object) -> None:
        try:
            self.host.stop()
        finally:
            self._manager.shutdown()


# --- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, linear between the closest ranks."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident set size (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def rss_mib(pid: int) -> float:
    """A process's current resident set size (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def load1() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


# --- databases -------------------------------------------------------------------------------


@dataclass
class Throwaway:
    """A fresh database for one run and how to drop it."""

    name: str  # "sqlite" or "postgresql"
    url: str
    cleanup: Callable[[], None]


def sqlite_db(path: Path) -> Throwaway:
    """A fresh SQLite file (the old one, and its WAL files, removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    remove()
    return Throwaway("sqlite", f"sqlite:///{path}", remove)


def pg_db(base: str, prefix: str) -> Throwaway:
    """A new schema in the local PostgreSQL database, dropped by `cleanup`."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return Throwaway("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", drop)
