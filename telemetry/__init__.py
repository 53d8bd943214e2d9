"""What an operator alerts on, as Prometheus metrics: requests and acks, deliveries, Slack errors.

The lowest layer: it imports only prometheus_client and the standard library, so every layer
above may count what it does. The metrics are process-wide (one process serves one bot), in
prometheus_client's default registry, and served at `/metrics` by `bot/server.py`.
"""

from telemetry.metrics import (
    ACK_SECONDS,
    DELIVERIES,
    INBOX_BACKLOG,
    INBOX_OLDEST_SECONDS,
    READY,
    REQUESTS,
    SCHEDULER_LAST_TICK,
    SCHEDULER_MISSED_RUNS,
    SCHEDULER_TICKS,
    SLACK_API_ERRORS,
    exposition,
)

__all__ = [
    "ACK_SECONDS",
    "DELIVERIES",
    "INBOX_BACKLOG",
    "INBOX_OLDEST_SECONDS",
    "READY",
    "REQUESTS",
    "SCHEDULER_LAST_TICK",
    "SCHEDULER_MISSED_RUNS",
    "SCHEDULER_TICKS",
    "SLACK_API_ERRORS",
    "exposition",
]
