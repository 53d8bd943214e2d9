"""The team's recorded forecasts in `pipebot/1` (the `forecasts` list): forecast accuracy's
history, which no later computation can rebuild, so a round trip keeps it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pipeline.accuracy import Snapshot, period_bounds
from pipeline.transfer.fields import (
    amount_text,
    as_cents,
    as_currency,
    as_list,
    as_object,
    as_string,
    as_time,
    fail,
    get,
    iso,
    show,
)

KEY = "forecasts"
AMOUNTS = ("won", "forecast", "calibrated", "p10", "p50", "p90")
MAX_FORECASTS = 100_000
_DIGEST = re.compile(r"[0-9]{4}-W[0-9]{2}")


def forecasts_list(snapshots: Iterable[Snapshot]) -> list[dict[str, Any]]:
    """The recorded forecasts as the `forecasts` list holds them, oldest first."""
    return [
        {
            "period": s.period,
            "digest": s.digest,
            "recorded_at": iso(s.recorded_at),
            "currency": s.currency,
            **{key: amount_text(int(getattr(s, key).scaleb(2))) for key in AMOUNTS},
        }
        for s in snapshots
    ]


def _read_one(raw: object, path: str) -> Snapshot:
    obj = as_object(raw, path)
    period = as_string(get(obj, "period", path), f"{path}.period", "2026-Q4")
    bounds = period_bounds(period)
    if bounds is None:
        fail(f"{path}.period", f"{show(period)} is not a month or a quarter", '"2026-Q4"')
    digest = as_string(get(obj, "digest", path), f"{path}.digest", "2026-W41")
    if not _DIGEST.fullmatch(digest):
        fail(f"{path}.digest", f"{show(digest)} is not an ISO week", '"2026-W41"')
    amounts: dict[str, Decimal] = {}
    for key in AMOUNTS:
        cents = as_cents(get(obj, key, path), f"{path}.{key}")
        if cents is None:
            fail(f"{path}.{key}", "is missing an amount", '"50000.00"')
        amounts[key] = Decimal(cents).scaleb(-2)
    return Snapshot(
        period=period,
        start=bounds[0],
        end=bounds[1],
        digest=digest,
        recorded_at=as_time(get(obj, "recorded_at", path), f"{path}.recorded_at"),
        currency=as_currency(get(obj, "currency", path), f"{path}.currency"),
        **amounts,
    )


def read_forecasts(data: dict[str, Any]) -> list[Snapshot] | None:
    """The document's recorded forecasts, checked; None when it has none (an older export)."""
    if data.get(KEY) is None:
        return None
    items = as_list(data[KEY], KEY)
    if len(items) > MAX_FORECASTS:
        fail(KEY, f"has {len(items):,} entries; the limit is {MAX_FORECASTS:,}")
    result: list[Snapshot] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(items):
        snap = _read_one(raw, f"{KEY}[{index}]")
        key = (snap.period, snap.digest)
        if key in seen:
            fail(
                f"{KEY}[{index}]",
                f"{snap.period} of digest {snap.digest} is also {KEY}[{seen[key]}]",
            )
        seen[key] = index
        result.append(snap)
    return result
