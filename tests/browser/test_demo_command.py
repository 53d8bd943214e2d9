"""`pipebot demo`: loopback only, its database, and the command itself run as a process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.demo import database_url, loopback
from cli.main import CliError, main
from storage.db import Database
from storage.models import Deal
from tests.browser.conftest import ALICE, SALES, Running

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("given", "bound"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("::1", "::1"),
        ("127.0.0.2", "127.0.0.2"),
    ],
)
def test_the_demo_binds_loopback_addresses(given: str, bound: str) -> None:
    assert loopback(given) == bound


@pytest.mark.parametrize("given", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_the_demo_refuses_anything_but_loopback(given: str) -> None:
    with pytest.raises(CliError, match="loopback only"):
        loopback(given)


def test_refusing_a_public_host_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pipebot: error: --host 0.0.0.0: the demo listens on loopback only")
    assert len(err.strip().splitlines()) == 1


def test_the_demo_database_defaults_to_its_own_sqlite_file() -> None:
    assert database_url(Namespace(db=None)) == "sqlite:///pipebot-demo.db"
    assert database_url(Namespace(db="try.db")) == "sqlite:///try.db"
    assert database_url(Namespace(db=None, database_url="sqlite:///x.db")) == "sqlite:///x.db"
    assert database_url(Namespace(db="postgres://u@h/d")) == "postgresql+psycopg://u@h/d"


def test_other_host_names_and_non_json_posts_are_refused(ws: Running) -> None:
    request = urllib.request.Request(
        f"{ws.url}/workspace/state?user={ALICE}", headers={"Host": "evil.example:80"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    form = urllib.request.Request(
        f"{ws.url}/workspace/send",
        data=json.dumps({"user": ALICE, "channel": SALES, "text": "hi"}).encode(),
        headers={"Content-Type": "text/plain"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(form, timeout=10)
    assert refused.value.code == 400
    assert ws.state()["messages"][SALES] == []


@contextmanager
def demo_process(cwd: Path, *args: str) -> Iterator[str]:
    """`python -m cli demo --port 0 ...` in `cwd`; yields its URL, then stops it with Ctrl-C."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "PIPEBOT_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--port", "0", "--no-scheduler", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"open (http://127\.0\.0\.1:\d+)", first)
        assert found, first + (process.stderr.read() if process.stderr else "")
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # Ctrl-C: uvicorn stops, then re-raises SIGINT, which `pipebot` turns into 130.
            assert process.wait(timeout=15) in (0, 130)
            assert process.stderr is not None
            assert "Traceback" not in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()


def fetch(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=15) as response:
        data = json.loads(response.read())
    assert isinstance(data, dict)
    return data


def test_the_command_serves_the_page_the_bot_and_the_fake_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    with demo_process(tmp_path) as url:
        with urllib.request.urlopen(url + "/", timeout=15) as response:
            assert b"<title>pipebot" in response.read()
        assert fetch(url + "/healthz") == {"ok": True, "database": "up"}
        state = fetch(f"{url}/workspace/state?user={ALICE}")
        said = json.dumps(state["messages"])
        assert "Vandelay" in said
        request = urllib.request.Request(
            url + "/workspace/send",
            data=json.dumps({"user": ALICE, "channel": SALES, "text": "/deal list"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            assert json.loads(response.read())["status"] == 200
        # Let the bot finish its after-ack answer before the process is stopped.
        deadline = time.monotonic() + 15
        while '"ephemeral": true' not in json.dumps(fetch(f"{url}/workspace/state?user={ALICE}")):
            assert time.monotonic() < deadline, "the /deal list answer never arrived"
            time.sleep(0.1)
    assert (tmp_path / "pipebot-demo.db").exists()

    # A second start keeps the deals (no reseed); --empty adds no chatter either.
    with demo_process(tmp_path, "--empty") as url:
        state = fetch(f"{url}/workspace/state?user={ALICE}")
        assert "Vandelay" not in json.dumps(state["messages"])
        request = urllib.request.Request(
            url + "/workspace/job",
            data=json.dumps({"kind": "digest"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert "digest for" in json.loads(response.read())["message"]
        state = fetch(f"{url}/workspace/state?user={ALICE}")
        assert "Weekly pipeline" in json.dumps(state["messages"])
    db = Database(f"sqlite:///{tmp_path / 'pipebot-demo.db'}")
    try:
        with db.read_scope() as session:
            assert session.scalar(select(func.count()).select_from(Deal)) == 12
    finally:
        db.dispose()
