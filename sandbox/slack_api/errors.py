"""How the fake answers a failure: the error a method raises and the faults tests inject."""

from __future__ import annotations

from typing import Any

from sandbox.slack_api.models import JSON, ApiResult, Fault


class ApiError(Exception):
    """A Web API error: `ok: false` with `error`, an HTTP status, headers and extra fields."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


def with_warnings(out: JSON, warnings: list[str]) -> JSON:
    """Add Slack's `warning` and `response_metadata.warnings` to a successful answer."""
    if warnings:
        out["warning"] = ",".join(warnings)
        out["response_metadata"] = {"warnings": warnings}
    return out


def fault_result(fault: Fault) -> ApiResult:
    """The answer an injected fault gives (a 429 carries Retry-After, as Slack's does)."""
    if fault.drop:
        return ApiResult(0, {}, dropped=True)
    status = fault.status or 200
    headers: dict[str, str] = {}
    error = fault.error
    if status == 429:
        error = error or "ratelimited"
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    elif fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if error is None:
        error = "internal_error" if status >= 500 else "fatal_error"
    return ApiResult(status, {"ok": False, "error": error}, headers)
