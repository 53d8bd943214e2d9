"""The Web API client never resends a call that may have reached Slack."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.client import HTTPException
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from slack_sdk import WebClient

from bot.slack_client import never_sent, retry_handlers


class DropAfterRead:
    """A TCP server that reads each request in full, then closes without an answer."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests += 1

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def dropping() -> Iterator[DropAfterRead]:
    server = DropAfterRead()
    yield server
    server.close()


def client(port: int) -> WebClient:
    return WebClient(
        token="xoxb-test",
        base_url=f"http://127.0.0.1:{port}/api/",
        timeout=5,
        retry_handlers=retry_handlers(),
    )


LOST = (URLError, ConnectionError, HTTPException)


def test_a_post_whose_answer_is_lost_is_not_resent(dropping: DropAfterRead) -> None:
    with pytest.raises(LOST):
        client(dropping.port).chat_postMessage(channel="C0SALES", text="reminder")
    assert dropping.requests == 1


def test_only_a_refused_connection_counts_as_never_sent(dropping: DropAfterRead) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()  # nothing listens there any more: the connection is refused
    with pytest.raises(URLError) as refused:
        urlopen(f"http://127.0.0.1:{closed}/api/chat.postMessage", data=b"x=1", timeout=5)
    assert never_sent(refused.value)
    with pytest.raises(LOST) as dropped:
        urlopen(f"http://127.0.0.1:{dropping.port}/api/chat.postMessage", data=b"x=1", timeout=5)
    assert not never_sent(dropped.value)
    assert dropping.requests == 1
