"""How Slack puts a request on the wire: form or JSON bodies, and the v0 signature headers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


def encode_form(fields: Mapping[str, str]) -> bytes:
    """Form-encode fields as Slack does for slash commands."""
    return urlencode(dict(fields)).encode("utf-8")


def encode_interaction(payload: Mapping[str, Any]) -> bytes:
    """Encode an interaction as Slack does: a form with one `payload=<json>` field."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def encode_event(envelope: Mapping[str, Any]) -> bytes:
    """Encode an Events API envelope (JSON body)."""
    return json.dumps(envelope).encode("utf-8")


def sign(body: bytes, secret: str, timestamp: int, *, content_type: str = FORM) -> dict[str, str]:
    """Headers Slack sends with a request: v0 HMAC-SHA256 signature, timestamp, content type."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }
