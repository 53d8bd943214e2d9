"""Benchmark how fast pipebot acks Slack requests over real HTTP, signed as Slack signs them.

Run by hand (it is not part of the test suite):

    .venv/bin/python bench/bench_ack.py [--backend sqlite|postgresql|both] [--requests 1000]
        [--loads 1@20,1,16@40,16] [--variant executor16|switch1ms] [--slack-latency 0.15]

Three processes, all on 127.0.0.1:

* the fake Slack Web API (sandbox.slack_api.FakeSlackServer, rate limit off so the bot's
  after-ack posts are never throttled), in a child process;
* the bot: `python -m cli run --http --no-scheduler` (uvicorn, Starlette, Bolt's dispatch in
  a worker thread), as it runs in production, on a fresh SQLite file or a fresh PostgreSQL
  schema (migrated with storage.migrate.upgrade, dropped at the end);
* this process: 1 or 16 clients, each a thread with its own keep-alive connection, sending
  signed requests back to back (closed loop) and timing each HTTP response, i.e. the ack.

Measured for each backend and number of clients, N requests each after a warm-up:

* `/deal add <unique name> 50k`, each with its own trigger_id and response_url;
* a click on `deal_advance` of a card the bot posted (block_actions with the whole message,
  one fresh card per click: the cards come from the add phase, so no click is stale);
* `/deal list`.

Loads (`--loads`): `1@20` one client at 20 requests/s and `16@40` 16 clients at 40 requests/s
in all (open loop: requests leave on schedule whatever the answers), `1` and `16` clients back
to back (closed loop: the next request leaves as soon as the previous ack is in).

Then the same request bodies (re-signed) against a bare Bolt app that only acks, on the same
stack (build_asgi + uvicorn, same logging, same signing), as the baseline. After each phase
the bench waits until the bot's after-ack work has reached the fake Slack (cards posted,
thread notes, response_url calls) so phases do not overlap. Checks: every response is HTTP
200, and the database holds exactly one deal per add.

Writes docs/PERFORMANCE.md, section "Slack ack latency" (figures kept per backend in
bench/out/bench_ack_results.json). `--variant` runs pipebot with a proposed change patched in
(this process only, see VARIANTS) and `--slack-latency` makes the fake answer the bot's
after-ack calls slowly, as real Slack does; both keep their figures in the JSON file under
"extra" and leave the doc alone.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_metrics import machine, update_doc
from benchlib import (
    OUT,
    PG_BASE,
    ROOT,
    SECRET,
    TOKEN,
    Card,
    FakeHostProxy,
    FakeProcess,
    Throwaway,
    cpu_seconds,
    load1,
    peak_rss_mib,
    percentile,
    pg_db,
    sqlite_db,
)
from sqlalchemy import func, select

from sandbox.payloads import (
    FORM,
    action_for,
    block_actions,
    encode_form,
    encode_interaction,
    sign,
    slash_command,
)
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID, DEFAULT_USER
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Deal

RESULTS = OUT / "bench_ack_results.json"
TITLE = "Slack ack latency"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
KINDS = ("add", "click", "list")
LABELS = {
    "add": "`/deal add <name> 50k`",
    "click": "card click `deal_advance`",
    "list": "`/deal list`",
}
USER = DEFAULT_USER  # a workspace admin in the fake, and the owner of the deals it adds
TARGET_P99_S = 0.100
TARGET_RATIO = 1.5
SETTLE_TIMEOUT_S = 180.0
PYTHON = sys.executable


# --- requests --------------------------------------------------------------------------------


def letters(n: int) -> str:
    """A name part without digits or stage words (so `add` parses only 50k as the amount)."""
    out = ""
    for _ in range(6):
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
    return "q" + out


_action_ts = itertools.count(int(time.time() * 1_000_000))


def unique_action_ts() -> str:
    """A fresh action_ts per click (the bot's idempotency key includes it)."""
    micros = max(next(_action_ts), int(time.time() * 1_000_000))
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def command_body(text: str, trigger_id: str, response_url: str, user_name: str = "alice") -> bytes:
    """A signed-to-be slash command body, as Slack sends it."""
    return encode_form(
        slash_command(
            user_id=USER,
            response_url=response_url,
            trigger_id=trigger_id,
            text=text,
            team_id=DEFAULT_TEAM_ID,
            channel_id=DEFAULT_CHANNEL,
            channel_name="sales",
            user_name="alice",
        )
    )


def click_body(card: Card) -> bytes:
    """A block_actions body for a click on the card's button, the whole message included."""
    payload = block_actions(
        user_id=USER,
        actions=[action_for(card.element, card.block_id, action_ts=unique_action_ts())],
        trigger_id=card.trigger_id,
        team_id=DEFAULT_TEAM_ID,
        channel_id=DEFAULT_CHANNEL,
        channel_name="sales",
        message=card.message,
        message_ts=card.ts,
        response_url=card.response_url,
        user_name="alice",
    )
    return encode_interaction(payload)


class Names:
    """Unique deal names across the whole run."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def take(self) -> str:
        return f"Bench Co {letters(next(self._next))}"


def add_bodies(fake: FakeHostProxy, names: Names, n: int) -> list[bytes]:
    return [
        command_body(f"add {names.take()} 50k", trigger, url)
        for trigger, url in fake.issue(n, USER)
    ]


def list_bodies(fake: FakeHostProxy, n: int) -> list[bytes]:
    return [command_body("list", trigger, url) for trigger, url in fake.issue(n, USER)]


def click_bodies(fake: FakeHostProxy, n: int) -> list[bytes]:
    cards = fake.cards(n, USER, "deal_advance")
    if len(cards) < n:
        raise RuntimeError(f"only {len(cards)} fresh cards to click, {n} needed")
    return [click_body(card) for card in cards]


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """How requests are sent: `clients` back to back (closed loop), or at `rate`/s in all."""

    clients: int
    rate: float | None = None

    @classmethod
    def parse(cls, text: str) -> Load:
        """`16` (16 clients, closed loop) or `16@40` (16 clients, 40 requests/s in all)."""
        clients, _, rate = text.partition("@")
        return cls(int(clients), float(rate) if rate else None)

    @property
    def key(self) -> str:
        return f"{self.clients}@{self.rate:g}" if self.rate else str(self.clients)

    @property
    def label(self) -> str:
        return f"{self.clients}, paced {self.rate:g}/s" if self.rate else str(self.clients)


@dataclass
class Phase:
    """One batch of requests: each response's status and time."""

    kind: str
    load_mode: Load
    elapsed: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0  # server CPU seconds from the start to when its after-ack work settled
    settle: float = 0.0  # seconds from the last response until the after-ack work settled
    settled: bool = True
    load: float = 0.0
    fake_gc: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.elapsed)
        return {
            "kind": self.kind,
            "clients": self.load_mode.clients,
            "mode": self.load_mode.key,
            "mode_label": self.load_mode.label,
            "n": len(ordered),
            "p50": percentile(ordered, 50),
            "p95": percentile(ordered, 95),
            "p99": percentile(ordered, 99),
            "max": ordered[-1] if ordered else None,
            "mean": sum(ordered) / len(ordered) if ordered else None,
            "non_200": sum(1 for s in self.statuses if s != 200),
            "statuses": sorted(set(self.statuses)),
            "rps": len(ordered) / self.wall if self.wall else None,
            "cpu_per_request": self.cpu / len(ordered) if ordered else None,
            "settle": self.settle,
            "settled": self.settled,
            "load": self.load,
            "fake_gc": self.fake_gc,
        }


def send(port: int, bodies: Sequence[bytes], mode: Load, kind: str) -> Phase:
    """POST every body, signed at send time, from `mode.clients` threads; time each response.

    Closed loop: each client sends its next request as soon as the previous answer is in.
    Paced (`mode.rate`): request i leaves at start + i / rate from whichever client is free
    (at once when every client was still waiting for an answer at that time).
    """
    phase = Phase(kind, mode, load=load1())
    interval = 1.0 / mode.rate if mode.rate else 0.0
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    results: list[tuple[float, int]] = [(0.0, 0)] * len(bodies)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                if interval:
                    pause = begin + index * interval - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                body = bodies[index]
                headers = sign(body, SECRET, int(time.time()), content_type=FORM)
                started = time.perf_counter()
                try:
                    conn.request("POST", "/slack/events", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                    status = 0
                results[index] = (time.perf_counter() - started, status)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(mode.clients)]
    begin = started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    phase.wall = time.perf_counter() - started
    phase.elapsed = [r[0] for r in results]
    phase.statuses = [r[1] for r in results]
    return phase


def wait_for(predicate: Callable[[], bool], timeout: float = SETTLE_TIMEOUT_S) -> bool:
    """Poll until `predicate()` holds (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# --- the servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process and where its log goes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> Server:
    """Start a server process on a free port and wait until /healthz answers."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    full_env.update(env)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, *args, "--port", str(port)],
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start; see {log}")


def serve_bare(port: int) -> None:
    """The baseline: a Bolt app that only acks, served exactly as `bot run --http` serves."""
    import uvicorn
    from slack_bolt import Ack, App

    from bot.app import build_client
    from bot.server import build_asgi
    from bot.settings import Settings

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = App(
        client=build_client(settings),
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.bolt"),
    )

    def just_ack(ack: Ack) -> None:
        ack()

    app.command("/deal")(just_ack)
    app.action("deal_advance")(just_ack)
    db = Database(settings.database_url)  # only /healthz uses it
    uvicorn.run(build_asgi(app, db), host="127.0.0.1", port=port, log_level="info")


VARIANTS = {
    "noinbox": "no inbox: requests are not written before their ack (the code before issue 11)",
    "inbox-loop": "requests written to the inbox dispatched on the event loop, not on a "
    "threadpool thread",
    "executor16": "16 threads for the work after the ack (`WORKERS=16`), instead of 5",
    "switch1ms": "`sys.setswitchinterval(0.001)`: the request thread waits at most 1 ms, not "
    "5 ms, for the GIL held by a thread doing after-ack work",
}


def serve_variant(port: int, variant: str) -> None:
    """`bot run --http --no-scheduler` with one proposed change patched in (bench only)."""
    from cli.main import main as cli_main

    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}")
    if variant == "executor16":
        os.environ["WORKERS"] = "16"
    if variant == "switch1ms":
        sys.setswitchinterval(0.001)
    if variant == "noinbox":
        from bot.inbox import Inbox

        def unwritten(self: Inbox) -> Callable[..., Any]:
            def record_nothing(next: Callable[[], Any]) -> Any:
                return next()

            return record_nothing

        Inbox.middleware = unwritten  # type: ignore[method-assign]
    if variant in ("noinbox", "inbox-loop"):
        from bot.app import PipebotApp

        def on_the_loop(self: PipebotApp, request: Any) -> bool:
            return self.knows_identity and request.body.get("type") != "view_submission"

        PipebotApp.acks_at_once = on_the_loop  # type: ignore[method-assign]
    sys.exit(
        cli_main(["run", "--http", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)])
    )


# --- one backend -----------------------------------------------------------------------------


def _fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.1f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def print_phase(who: str, s: dict[str, Any]) -> None:
    print(
        f"  {who:<5} {s['kind']:<5} {s['mode']:>5} n={s['n']:<5} "
        f"p50 {_fmt_ms(s['p50']):>6}  p95 {_fmt_ms(s['p95']):>6}  p99 {_fmt_ms(s['p99']):>6}  "
        f"max {_fmt_ms(s['max']):>6} ms  non-200 {s['non_200']}  {s['rps']:.0f} req/s  "
        f"cpu/req {_fmt_ms(s['cpu_per_request'])} ms  settle {s['settle']:.1f} s"
        f"{'' if s['settled'] else ' (NOT SETTLED)'}  load {s['load']:.2f}"
        + (
            f"  fake GC: {s['fake_gc']['full']} full, max {_fmt_ms(s['fake_gc']['max_s'])} ms"
            if s.get("fake_gc")
            else ""
        ),
        flush=True,
    )


def run_backend(
    name: str, fake: FakeHostProxy, api_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Measure pipebot and the bare app on one fresh database."""
    db = sqlite_db(OUT / "bench_ack.db") if name == "sqlite" else pg_db(args.pg_url, "bench_ack")
    result: dict[str, Any] = {"backend": name}
    try:
        upgrade(db.url)
        result.update(measure_bot(db, fake, api_url, args))
    finally:
        db.cleanup()
    bodies = result.pop("bodies")
    if args.no_bare:
        result["bare"] = []
        return result
    bare_db = sqlite_db(OUT / "bench_ack_bare.db")
    try:
        result["bare"] = measure_bare(bare_db, api_url, bodies, args)
    finally:
        bare_db.cleanup()
    return result


def _env(db: Throwaway, api_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db.url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
    }


def measure_bot(
    db: Throwaway, fake: FakeHostProxy, api_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """pipebot itself: warm-up, then add / click / list for each number of clients."""
    fake.reset()
    log = OUT / f"bench_ack_bot_{db.name}{'_' + args.variant if args.variant else ''}.log"
    command = ["-m", "cli", "run", "--http", "--no-scheduler", "--host", "127.0.0.1"]
    if args.variant:
        command = [str(Path(__file__).resolve()), "--serve-variant", args.variant]
    server = start_server(command, _env(db, api_url), log)
    pid = server.process.pid
    names = Names()
    adds = clicks = lists = 0
    phases: list[dict[str, Any]] = []
    bodies: dict[str, list[bytes]] = {}

    def expected() -> dict[str, int]:
        return {"cards": adds, "notes": clicks, "responses": lists}

    def settled() -> bool:
        cards, notes, responses = fake.progress()
        return cards >= adds and notes >= clicks and responses >= lists

    def run(kind: str, n: int, mode: Load, record: bool) -> None:
        nonlocal adds, clicks, lists
        if kind == "add":
            batch = add_bodies(fake, names, n)
            adds += n
        elif kind == "click":
            batch = click_bodies(fake, n)
            clicks += n
        else:
            batch = list_bodies(fake, n)
            lists += n
        fake.collect()
        fake.gc_pauses()
        cpu_before = cpu_seconds(pid)
        phase = send(server.port, batch, mode, kind)
        phase.fake_gc = fake.gc_pauses()
        done = time.perf_counter()
        phase.settled = wait_for(settled)
        phase.settle = time.perf_counter() - done
        phase.cpu = cpu_seconds(pid) - cpu_before
        time.sleep(0.3)
        if record:
            summary = phase.summary()
            phases.append(summary)
            bodies[f"{kind}:{mode.key}"] = batch
            print_phase("bot", summary)

    try:
        print(f"  bot pid {pid}, port {server.port}, log {log.relative_to(ROOT)}", flush=True)
        for kind in KINDS:  # every kind: the clicks need the cards the adds post
            run(kind, args.warmup, Load(1), record=False)
        for mode in args.loads:
            for kind in args.kinds:
                run(kind, args.requests, mode, record=True)
        rss = peak_rss_mib(pid)
    finally:
        server.stop()

    counts = fake.counts()
    check_db = Database(db.url)
    try:
        with check_db.read_scope() as s:
            deals = s.execute(select(func.count()).select_from(Deal)).scalar_one()
            distinct = s.execute(select(func.count(func.distinct(Deal.name)))).scalar_one()
            advanced = s.execute(
                select(func.count()).select_from(Deal).where(Deal.stage != "lead")
            ).scalar_one()
    finally:
        check_db.dispose()
    checks = {
        "adds": adds,
        "deals": deals,
        "distinct_names": distinct,
        "clicks": clicks,
        "advanced": advanced,
        "lists": lists,
        "expected": expected(),
        "fake_calls": counts,
        "violations": fake.violations()[:20],
        "peak_rss_mib": rss,
    }
    print(f"  checks: {json.dumps({k: v for k, v in checks.items() if k != 'fake_calls'})}")
    print(f"  fake calls: {counts}", flush=True)
    return {"phases": phases, "checks": checks, "bodies": bodies}


def measure_bare(
    db: Throwaway, api_url: str, bodies: dict[str, list[bytes]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The bare Bolt app on the same request bodies (signed again at send time)."""
    log = OUT / "bench_ack_bare.log"
    server = start_server([str(Path(__file__).resolve()), "--serve-bare"], _env(db, api_url), log)
    pid = server.process.pid
    phases = []
    try:
        for kind in args.kinds:  # warm-up
            send(server.port, bodies[f"{kind}:{args.loads[0].key}"][: args.warmup], Load(1), kind)
        for mode in args.loads:
            for kind in args.kinds:
                cpu_before = cpu_seconds(pid)
                phase = send(server.port, bodies[f"{kind}:{mode.key}"], mode, kind)
                phase.cpu = cpu_seconds(pid) - cpu_before
                summary = phase.summary()
                phases.append(summary)
                print_phase("bare", summary)
                time.sleep(0.3)
    finally:
        server.stop()
    return phases


# --- the report ------------------------------------------------------------------------------


def _bare_for(phases: Sequence[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
    """The bare app's row under the same load as a pipebot row."""
    return next(b for b in phases if b["kind"] == p["kind"] and b["mode"] == p["mode"])


def table(r: dict[str, Any]) -> list[str]:
    """One backend's figures as a Markdown table."""
    lines = [
        "| request | clients | pipebot p50 / p95 / p99 (max) | bare Bolt p50 / p95 / p99 | "
        "p99 < 100 ms | p99 ÷ bare p50 (≤ 1.5) | non-200 | pipebot req/s | "
        "pipebot CPU / request | settle |",
        "|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|",
    ]
    for p in r["phases"]:
        b = _bare_for(r["bare"], p)
        ratio = p["p99"] / b["p50"]
        lines.append(
            f"| {LABELS[p['kind']]} | {p['mode_label']} | "
            f"{_fmt_ms(p['p50'])} / {_fmt_ms(p['p95'])} / {_fmt_ms(p['p99'])} "
            f"({_fmt_ms(p['max'])}) ms | "
            f"{_fmt_ms(b['p50'])} / {_fmt_ms(b['p95'])} / {_fmt_ms(b['p99'])} ms | "
            f"{'yes' if p['p99'] < TARGET_P99_S else '**no**'} | "
            f"{ratio:.1f}×{'' if ratio <= TARGET_RATIO else ' (**no**)'} | "
            f"{p['non_200'] + b['non_200']} | {p['rps']:.0f} | "
            f"{_fmt_ms(p['cpu_per_request'])} ms | {p['settle']:.1f} s |"
        )
    return lines


def section(results: Sequence[dict[str, Any]], info: dict[str, str], command: str) -> str:
    """The docs/PERFORMANCE.md section."""
    out = [
        f"## {TITLE}",
        "",
        f"Measured {max(r['info']['date'] for r in results)} by `bench/bench_ack.py`:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {info['nproc']} vCPU ({info['cpu']}), {info['ram']} RAM, {info['os']}; "
        f"Python {info['python']}, SQLAlchemy {info['sqlalchemy']}, SQLite {info['sqlite']}, "
        "PostgreSQL local on the same machine. Three processes share the 2 cores: the fake "
        "Slack (its own process, rate limit off), the server (`python -m cli run --http "
        "--no-scheduler`: uvicorn with its access log on, as in production) and the clients "
        "(threads of the bench process, one keep-alive connection each). Times are the HTTP "
        "response time seen by the client, i.e. the ack. pipebot acks before it works "
        "(`process_before_response=True`, every listener a Bolt lazy listener behind an "
        "immediate ack): the work after the ack (the transaction, posting or updating the "
        "card, answering through response_url) runs on Bolt's listener threads and is not in "
        "the times, but it competes with the acks for the CPU.",
        "",
        "Loads: *paced* rows send on a schedule whatever the answers (open loop): *1, paced "
        "20/s* is one busy person, *16, paced 40/s* is 16 clients with up to 16 requests in "
        "flight, 40 requests/s in all (far more than a sales team sends; the bot finishes "
        "its work at this rate). *1* and *16* rows send back to back (closed loop): the next "
        "request leaves as soon as the previous ack is back; since the ack no longer waits "
        "for the work, these rows offer more work than the bot can finish (each request "
        "leaves 11–18 ms of CPU behind its ack) and its backlog grows during the row: they "
        "show the bot saturated ('settle' is how long the backlog took to drain after the "
        "row). The bare app gets the same loads. "
        "Each row: one warm-up of a few requests per kind first, then N requests (N in the "
        "table); the fake's garbage collector runs between rows only (inside a row, a full "
        "collection of its record of every call stalled it for up to 0.6 s, which showed in "
        "the acks). Adds: `/deal add Bench Co q<letters> 50k`, each with its own trigger_id and "
        "response_url. Clicks: `deal_advance` on a card the bot posted in the add phase, one "
        "fresh card per click (the whole message in the payload), so no click was a "
        "stale-version refusal. Lists: `/deal list` (one page of 11 cards, ephemeral through "
        "response_url). Bare Bolt: `slack_bolt.App` in its default mode with the same signing "
        "secret, listeners that only call `ack()`, served by the same `build_asgi` + uvicorn, "
        'sent the very same bodies (signed again). "CPU / request" is the server process\'s '
        "CPU time from the "
        "start of the phase until its after-ack work had settled, divided by N.",
        "",
    ]
    for r in results:
        c = r["checks"]
        n = r["phases"][0]["n"]
        loads = [p["load"] for p in r["phases"]]
        out += [
            f"### {NAMES[r['backend']]} ({n:,} requests per row)",
            "",
            *table(r),
            "",
            f"Checks: {c['adds']:,} adds (warm-up included) → {c['deals']:,} deals in the "
            f"database ({c['distinct_names']:,} distinct names): "
            + (
                "exactly one per add"
                if c["adds"] == c["deals"] == c["distinct_names"]
                else "**mismatch**"
            )
            + f"; {c['clicks']:,} clicks → {c['advanced']:,} deals moved past Lead; "
            f"non-200 responses: {sum(p['non_200'] for p in r['phases'] + r['bare'])}; "
            f"fake Slack violations: {len(c['violations'])}. Server peak RSS "
            f"{c['peak_rss_mib']:.0f} MiB. 1-minute load average at the start of the rows: "
            f"{min(loads):.2f}–{max(loads):.2f}.",
            "",
        ]
    return "\n".join(out)


def save_extra(results: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    """Keep the figures of a run that does not update the doc (a variant, a Slack latency)."""
    label = f"{args.variant or 'current'}, slack latency {args.slack_latency:g} s"
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    extra = saved.setdefault("extra", {})
    for r in results:
        extra[f"{r['backend']}: {label}"] = {**r, "date": machine()["date"]}
    RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    print(f"\nkept in {RESULTS.relative_to(ROOT)} under extra / {label!r}")


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=1000, help="per kind and concurrency")
    parser.add_argument(
        "--loads",
        default="1@20,1,16@40,16",
        help="comma-separated: N clients back to back, or N@R N clients at R requests/s in all",
    )
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS)
    )
    parser.add_argument("--pg-url", default=PG_BASE)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/PERFORMANCE.md")
    parser.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        default=None,
        help="measure pipebot with a proposed change patched in (bench only; no doc update)",
    )
    parser.add_argument(
        "--slack-latency",
        type=float,
        default=0.0,
        help="seconds the fake Slack waits before answering chat.postMessage, chat.update and "
        "response_url calls (real Slack answers in ~0.1-0.5 s); not written to the doc",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Bolt baseline")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-variant", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.port)
        return 0
    if args.serve_variant:
        serve_variant(args.port, args.serve_variant)
        return 0
    args.loads = [Load.parse(m) for m in args.loads.split(",")]
    args.kinds = [k for k in KINDS if k in args.kinds.split(",")]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    results = []
    with FakeProcess(rate_limit=False) as fake:
        api_url = fake.base_url()
        if args.slack_latency:
            for method in ("chat.postMessage", "chat.update", "response_url"):
                fake.delay(method, args.slack_latency)
        for name in backends:
            print(f"\n=== {name}", flush=True)
            results.append(run_backend(name, fake, api_url, args))
    for r in results:
        if r["bare"]:
            print(f"\n{NAMES[r['backend']]}\n" + "\n".join(table(r)))
    if (
        args.no_doc
        or args.variant
        or args.slack_latency
        or args.no_bare
        or tuple(args.kinds) != KINDS
    ):
        save_extra(results, args)
        return 0
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for r in results:
        saved[r["backend"]] = {**r, "info": info, "requests": args.requests}
    RESULTS.write_text(json.dumps(saved, indent=1, default=str))
    merged = [saved[b] for b in ("sqlite", "postgresql") if b in saved]
    command = ".venv/bin/python bench/bench_ack.py --backend " + (
        "both" if len(merged) == 2 else merged[0]["backend"]
    )
    if args.requests != 1000:
        command += f" --requests {args.requests}"
    update_doc(TITLE, section(merged, info, command))
    print(f"\nupdated {TITLE!r} in docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
