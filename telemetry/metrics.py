"""The metric families, one per question an operator asks, and their exposition."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Slack wants its answer within 3 s; pipebot aims at a few milliseconds (docs/PERFORMANCE.md).
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)

REQUESTS = Counter(
    "pipebot_slack_requests",
    "Requests at /slack/events by kind (command, block_actions, ...; refused before parsing: "
    "refused) and the HTTP status answered.",
    ["kind", "status"],
)
ACK_SECONDS = Histogram(
    "pipebot_slack_ack_seconds",
    "Time from a Slack request's arrival to its 2xx answer (the ack), by kind; its _count is "
    "the number of acks.",
    ["kind"],
    buckets=ACK_BUCKETS,
)
DELIVERIES = Counter(
    "pipebot_deliveries",
    "Scheduled deliveries through the ledger by kind (reminders, digest, alert), part (post, "
    "reply, chart) and outcome (sent, found, skipped, retry, failed).",
    ["kind", "part", "outcome"],
)
SLACK_API_ERRORS = Counter(
    "pipebot_slack_api_errors",
    "Web API calls that failed after the client's own retries, by method and error code "
    "(Slack's error, http_<status>, or the network exception's name).",
    ["method", "code"],
)
SCHEDULER_TICKS = Counter(
    "pipebot_scheduler_ticks",
    "Scheduler ticks by result: ok, or db_error when the database could not be read.",
    ["result"],
)
SCHEDULER_LAST_TICK = Gauge(
    "pipebot_scheduler_last_tick_timestamp_seconds",
    "When the scheduler last ticked (Unix time); alert when it falls behind.",
)
SCHEDULER_MISSED_RUNS = Counter(
    "pipebot_scheduler_missed_runs",
    "Runs skipped for good because pipebot was down past their grace window, by kind.",
    ["kind"],
)
READY = Gauge(
    "pipebot_ready",
    "1 when a readiness check passed the last time /readyz (or /metrics) ran it, else 0.",
    ["check"],
)
INBOX_BACKLOG = Gauge(
    "pipebot_inbox_backlog",
    "Requests acked and not yet done, as the inbox check last counted them.",
)
INBOX_OLDEST_SECONDS = Gauge(
    "pipebot_inbox_oldest_seconds",
    "Age of the oldest request acked and not yet done, as the inbox check last saw it.",
)


def exposition() -> tuple[bytes, str]:
    """Every metric in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
