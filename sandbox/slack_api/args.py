"""Reading a Web API call's arguments as Slack does (form strings, JSON-encoded fields)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import JSON


def truthy(value: object) -> bool:
    """A flag as Slack reads it from a form ("1", "true", "yes") or JSON (true)."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def opt_str(value: object) -> str | None:
    """The argument as a string, None when missing or empty."""
    if value is None or value == "":
        return None
    return str(value)


def required(args: JSON, *names: str) -> list[str]:
    """The values of required arguments, in order; `invalid_arguments` when one is missing."""
    values: list[str] = []
    for name in names:
        value = opt_str(args.get(name))
        if value is None:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )
        values.append(value)
    return values


def json_arg(args: JSON, name: str, error: str) -> Any:
    """An argument that may come JSON-encoded (form posts) or as JSON already; `error` if bad."""
    value = args.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError(error, errors=[f"{name}: not valid JSON"]) from exc
    return value


def ack_json(body: str) -> JSON | None:
    """An ack body as JSON: a bare string is text; None when empty or not an object."""
    body = body.strip()
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {"text": body}
    return parsed if isinstance(parsed, dict) else None
