"""Vocabulary shared by the domain and the store."""

from __future__ import annotations

from enum import StrEnum


class DealStatus(StrEnum):
    """Whether a deal is still in play."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ActivityKind(StrEnum):
    """What kind of touch an activity records."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"


# Stage keys reserved for the closed outcomes; stage history uses them as targets.
WON = DealStatus.WON.value
LOST = DealStatus.LOST.value
OUTCOMES = frozenset({WON, LOST})
