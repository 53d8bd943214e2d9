"""The real `pipebot run` process, started and stopped by the tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

PIPEBOT_RUN = [sys.executable, "-m", "cli", "run", "--http", "--no-scheduler"]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_http(
    env: dict[str, str], port: int, *, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`pipebot run --http --no-scheduler` on a port; its output to `log` when given.

    A test that sends many requests gives a log file: a pipe nobody reads fills up and would
    block the process.
    """
    out: int | IO[bytes] = subprocess.PIPE if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [*PIPEBOT_RUN, "--port", str(port), "--host", "127.0.0.1"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if not isinstance(out, int):
            out.close()


def wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until /healthz answers 200."""
    health = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                assert response.status == 200
                return
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "pipebot run did not come up"
            time.sleep(0.1)
