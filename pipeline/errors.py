"""Typed domain errors, each carrying a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence


class PipebotError(Exception):
    """Base of every error a user may see; `message` is safe to show as is."""

    def __init__(self, message: str, *, example: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.example = example
        self.field = field

    def user_text(self) -> str:
        """The message, followed by a correct example when there is one."""
        if self.example:
            return f"{self.message}\nExample: `{self.example}`"
        return self.message


class InvalidInput(PipebotError):
    """Something the user typed could not be understood or is not allowed."""


class NotFound(PipebotError):
    """The deal, stage or team asked for does not exist in this team."""


class Ambiguous(PipebotError):
    """A reference matched several deals; `candidates` lists them."""

    def __init__(self, message: str, candidates: Sequence[str], *, example: str | None = None):
        super().__init__(message, example=example)
        self.candidates = list(candidates)


class Conflict(PipebotError):
    """The deal changed since the caller last saw it (stale version)."""

    def __init__(
        self,
        message: str,
        *,
        current_version: int | None = None,
        changed_by: str | None = None,
    ):
        super().__init__(message)
        self.current_version = current_version
        self.changed_by = changed_by


class Refused(PipebotError):
    """The operation is valid input but not allowed in the current state."""


class PermissionDenied(PipebotError):
    """The acting user may not do this."""


class AlreadyApplied(PipebotError):
    """An operation with this idempotency key was applied before."""

    def __init__(self, message: str, *, deal_number: int | None = None):
        super().__init__(message)
        self.deal_number = deal_number
