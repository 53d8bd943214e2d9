"""Hostile requests cannot hurt the server: a 4xx with its reason, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.gate import MAX_BODY
from sandbox.payloads import signing
from tests.e2e.conftest import SECRET, Bot

FORM = "application/x-www-form-urlencoded"
ANSWERS = {200, 400, 401, 413}


def post(bot: Bot, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(bot.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def signed(body: bytes, content_type: str = FORM) -> dict[str, str]:
    return signing.sign(body, SECRET, int(time.time()), content_type=content_type)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


COMMAND = urlencode({"command": "/deal", "text": "help"}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "sign", "status"),
    [
        (b"payload=%7Bnot-json", FORM, False, 401),
        (b"payload=%7Bnot-json", FORM, True, 400),
        (b"payload=" + b"x" * (MAX_BODY + 10), FORM, True, 413),
        (COMMAND, "text/xml", True, 400),
        (b"\xff\xfe\x00", FORM, True, 400),
        (b'{"type": "event_callback"', "application/json", True, 400),
    ],
)
def test_a_malformed_request_gets_a_4xx_and_one_warning(
    bot: Bot,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    sign: bool,
    status: int,
) -> None:
    sent = signed(body, content_type) if sign else {"Content-Type": content_type}
    with caplog.at_level(logging.WARNING):
        assert post(bot, body, sent) == status
    assert tracebacks(caplog) == []
    assert [r.name for r in caplog.records if r.levelno == logging.WARNING] == ["pipebot.gate"]


HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "X-Slack-Signature", "X-Slack-Request-Timestamp"]),
    st.one_of(
        st.sampled_from([FORM, "application/json", "v0=00", "0", "1"]),
        st.text(
            alphabet=st.characters(
                min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"
            ),
            max_size=30,
        ),
    ),
)
BODIES = st.one_of(
    st.binary(max_size=3000),
    st.dictionaries(
        st.sampled_from(["payload", "command", "text", "x"]), st.text(max_size=200)
    ).map(lambda form: urlencode(form).encode()),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, headers=HEADERS, sign=st.booleans(), as_json=st.booleans())
def test_random_bodies_and_headers_never_break_the_server(
    bot: Bot,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    headers: dict[str, str],
    sign: bool,
    as_json: bool,
) -> None:
    content_type = "application/json" if as_json else FORM
    sent = signed(body, content_type) if sign else headers
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        status = post(bot, body, sent)
    assert status in ANSWERS
    assert tracebacks(caplog) == []
    assert bot.app.wait_idle(60)
