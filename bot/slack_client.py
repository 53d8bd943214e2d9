"""The Slack Web API client: retries only what cannot have reached Slack, and rate limits."""

from __future__ import annotations

from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.slack_response import SlackResponse

import telemetry
from scheduler.sender import error_code


def never_sent(error: Exception | None) -> bool:
    """True when the connection was refused: the request never reached Slack."""
    if isinstance(error, URLError):
        error = error.reason if isinstance(error.reason, Exception) else None
    return isinstance(error, ConnectionRefusedError)


class RefusedConnectionRetryHandler(RetryHandler):
    """Retry a call whose connection was refused, and nothing else.

    A connection dropped after the request went out may have been applied by Slack (a
    `chat.postMessage` stored, its answer lost); resending it blind posts twice. Those
    outcomes go back to the caller, whose ledger looks for the copy before posting again.
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is None and never_sent(error)


def retry_handlers() -> list[RetryHandler]:
    """The retries every pipebot Web API client uses: refused connections, then 429s."""
    return [
        RefusedConnectionRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
    ]


class MeteredWebClient(WebClient):
    """A WebClient that counts each call that fails, by method and error code (`/metrics`)."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        """Call the Web API as WebClient does; a failure is counted, then raised as before."""
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            telemetry.SLACK_API_ERRORS.labels(api_method, error_code(exc)).inc()
            raise
        except Exception as exc:  # the network: refused, dropped, timed out
            telemetry.SLACK_API_ERRORS.labels(api_method, type(exc).__name__).inc()
            raise
