"""The door of /slack/events: only signed, well-formed requests pass; nothing else raises."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.gate import FORM, JSON, MAX_BODY, check

SECRET = "gate-secret"


def headers(body: bytes, content_type: str = FORM, *, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": "v0=" + digest.hexdigest(),
    }


COMMAND = urlencode({"command": "/deal", "text": "help", "user_id": "U1"}).encode()
ACTION = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
EVENT = json.dumps({"type": "event_callback", "event": {}}).encode()


@pytest.mark.parametrize(("body", "content_type"), [(COMMAND, FORM), (ACTION, FORM), (EVENT, JSON)])
def test_a_signed_slack_request_passes(body: bytes, content_type: str) -> None:
    assert check(body, headers(body, content_type), SECRET) is None


@pytest.mark.parametrize(
    ("body", "changes", "status", "reason"),
    [
        (b"payload=%7Bnot-json", {}, 400, "payload is not JSON"),
        (b"payload=%5B1%5D", {}, 400, "not a JSON object"),
        (b"\xff\xfe", {}, 400, "not UTF-8"),
        (COMMAND, {"content-type": "text/plain"}, 400, "content type text/plain"),
        (EVENT, {"content-type": JSON, "x-slack-signature": "v0=00"}, 401, "does not match"),
        (COMMAND, {"x-slack-request-timestamp": "yesterday"}, 401, "does not match"),
        (COMMAND, {"x-slack-request-timestamp": "²"}, 401, "does not match"),
        (COMMAND, {"x-slack-request-timestamp": str(int(time.time()) - 600)}, 401, "match"),
        (b"x" * (MAX_BODY + 1), {}, 413, "over"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason(
    body: bytes, changes: dict[str, str], status: int, reason: str
) -> None:
    refusal = check(body, headers(body) | changes, SECRET)
    assert refusal is not None
    assert refusal.status == status
    assert reason in refusal.reason


def test_missing_signature_headers_are_refused() -> None:
    refusal = check(COMMAND, {"content-type": FORM}, SECRET)
    assert refusal is not None
    assert refusal.status == 401


@given(
    st.binary(max_size=2000),
    st.dictionaries(
        st.sampled_from(["content-type", "x-slack-request-timestamp", "x-slack-signature"]),
        st.text(max_size=80),
    ),
    st.booleans(),
)
def test_any_body_and_headers_get_an_answer_not_an_exception(
    body: bytes, extra: dict[str, str], sign: bool
) -> None:
    sent = (headers(body) if sign else {}) | ({} if sign else extra)
    refusal = check(body, sent, SECRET)
    assert refusal is None or refusal.status in (400, 401, 413)
    if not sign:
        assert refusal is not None
