"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.dates import validate_timezone
from pipeline.errors import PipebotError
from pipeline.money import normalize_currency


def _checked(check: Callable[[str], str], value: str) -> str:
    """`check(value)`, its refusal raised as the ValueError pydantic reports for the field."""
    try:
        return check(value)
    except PipebotError as exc:
        raise ValueError(exc.user_text()) from None


class Settings(BaseSettings):
    """Everything pipebot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="sqlite:///pipebot.db")
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    default_timezone: str = "UTC"
    default_currency: str = "USD"
    log_level: str = "INFO"
    # Threads doing the work after Slack's ack (see bot.app.WORKERS).
    workers: int = Field(default=5, ge=1, le=64)
    # How long a request's inbox row stays with the process that acked it without news from
    # it; then another replica runs it (bot/inbox.py). Renewed every third of it while at work.
    inbox_lease_seconds: float = Field(default=30, ge=0.5, le=3600)
    # How long done inbox rows are kept (a Slack retry within it is recognised).
    inbox_retention_hours: float = Field(default=24, gt=0, le=24 * 90)
    # /readyz answers 503 once this many acked requests wait in the inbox (bot.health).
    readyz_max_backlog: int = Field(default=500, ge=1)

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _checked(validate_timezone, value)

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return _checked(normalize_currency, value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Accept the bare scheme hosting providers hand out and use psycopg 3 for it.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
