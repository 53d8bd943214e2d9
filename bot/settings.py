"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.dates import validate_timezone
from pipeline.errors import PipebotError
from pipeline.money import normalize_currency


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

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            return validate_timezone(value)
        except PipebotError as exc:
            raise ValueError(exc.user_text()) from None

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            return normalize_currency(value)
        except PipebotError as exc:
            raise ValueError(exc.user_text()) from None

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
