"""The demo's clock: the real one plus an offset the page moves forward ("+1 day")."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class DemoClock:
    """The real clock plus an offset the demo moves forward ("+1 day"); thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0) if start is None else start - datetime.now(UTC)
        self._moved = timedelta(0)

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        """The demo's now as a Unix time (the fake Slack's clock)."""
        return self().timestamp()

    @property
    def offset(self) -> timedelta:
        """How far ahead of the real clock the demo is."""
        with self._lock:
            return self._offset

    @property
    def moved(self) -> timedelta:
        """How far the demo was moved forward since it started."""
        with self._lock:
            return self._moved

    def advance(self, delta: timedelta) -> datetime:
        """Move the demo's time forward and return the new now."""
        with self._lock:
            self._offset += delta
            self._moved += delta
        return self()
