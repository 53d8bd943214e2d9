"""The door of /slack/events: a request is signed, sized and well formed before Bolt sees it.

Bolt parses the body before it checks the signature, so an unsigned request with a broken
`payload` used to raise inside the adapter (a 500 and a traceback in the log). Here the
signature is checked on the raw bytes first, then the body is parsed once; every refusal is
a 4xx and one warning line, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

logger = logging.getLogger("pipebot.gate")

# Slack's own payloads are far smaller; a modal with every input filled stays under 100 KB.
MAX_BODY = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away, and the HTTP status that says so."""

    status: int
    reason: str


def _content_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _well_formed(body: bytes, content_type: str) -> str | None:
    """What is wrong with the body, or None when Bolt can read it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if content_type == JSON:
        try:
            return None if isinstance(json.loads(text), dict) else "JSON body is not an object"
        except ValueError:
            return "body is not JSON"
    if content_type != FORM:
        return f"content type {content_type or 'missing'} is not a Slack request's"
    form = parse_qs(text, keep_blank_values=True)
    if "payload" not in form:
        return (
            None if "command" in form or "ssl_check" in form else "form has no command or payload"
        )
    try:
        payload = json.loads(form["payload"][0])
    except ValueError:
        return "payload is not JSON"
    return None if isinstance(payload, dict) else "payload is not a JSON object"


def signed(body: bytes, timestamp: str, signature: str, secret: str, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, from the last five minutes."""
    # isdigit() alone lets "²" through, which int() refuses: ASCII digits only.
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > 5 * 60:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def check(body: bytes, headers: Mapping[str, str], secret: str) -> Refusal | None:
    """None for a signed, well-formed request; else the refusal to answer with."""
    if len(body) > MAX_BODY:
        return Refusal(413, f"body of {len(body)} bytes is over {MAX_BODY}")
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        return Refusal(401, "signature headers missing")
    if not signed(body, timestamp, signature, secret, time.time()):
        return Refusal(401, "signature does not match")
    problem = _well_formed(body, _content_type(headers))
    return Refusal(400, problem) if problem else None


def refuse(refusal: Refusal, path: str) -> None:
    """The one log line a refused request leaves."""
    logger.warning("refused %s: %s (HTTP %d)", path, refusal.reason, refusal.status)


def unhandled(path: str) -> None:
    """The one log line a signed request nothing listens for leaves (it is answered 200)."""
    logger.warning("nothing listens for this request at %s; answered 200", path)
