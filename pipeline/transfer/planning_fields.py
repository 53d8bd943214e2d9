"""The planning parts of `pipebot/1`: the team's sources, loss reasons and targets, and each
deal's source, lost reason and lost detail, read and written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pipeline.errors import PipebotError
from pipeline.planning import (
    MAX_ITEMS,
    MAX_REASON_NAME,
    LostReason,
    TargetOut,
    key_of,
    parse_period,
    reason_key,
    sort_targets,
)
from pipeline.transfer.fields import (
    amount_text,
    as_cents,
    as_list,
    as_object,
    as_owner,
    as_string,
    fail,
    get,
    opt_text,
)
from pipeline.transfer.plan import MAX_REASON, MAX_SOURCE, PlanningPlan
from pipeline.types import DealStatus

REASON_EXAMPLE = '{"key": "price", "name": "Price"}'
TARGET_EXAMPLE = '{"owner": null, "period": "2027-Q1", "amount": "500000.00"}'


def _key(value: object, path: str, example: str) -> str:
    text = as_string(value, path, example)
    key = key_of(text)
    if not key or key == "none":
        fail(path, f'"{text[:60]}" is not a usable key', example)
    return key


def _sources(value: object) -> list[str]:
    keys = [
        _key(raw, f"sources[{i}]", "referral") for i, raw in enumerate(as_list(value, "sources"))
    ]
    if len(keys) > MAX_ITEMS:
        fail("sources", f"has {len(keys)} sources; the limit is {MAX_ITEMS}")
    return list(dict.fromkeys(keys))


def _reasons(value: object) -> list[LostReason]:
    reasons: dict[str, LostReason] = {}
    for i, raw in enumerate(as_list(value, "lost_reasons")):
        path = f"lost_reasons[{i}]"
        item = as_object(raw, path)
        key = _key(get(item, "key", path), f"{path}.key", "price")
        name = " ".join(as_string(get(item, "name", path), f"{path}.name", "Price").split())
        if not name or len(name) > MAX_REASON_NAME:
            fail(f"{path}.name", f"needs 1 to {MAX_REASON_NAME} characters", "Price")
        if key in reasons:
            fail(f"{path}.key", f'"{key}" is listed twice')
        reasons[key] = LostReason(key=key, name=name)
    if len(reasons) > MAX_ITEMS:
        fail("lost_reasons", f"has {len(reasons)} reasons; the limit is {MAX_ITEMS}")
    return list(reasons.values())


def _targets(value: object) -> list[TargetOut]:
    targets: dict[tuple[str | None, str], TargetOut] = {}
    for i, raw in enumerate(as_list(value, "targets")):
        path = f"targets[{i}]"
        item = as_object(raw, path)
        owner_raw = item.get("owner")
        owner = None if owner_raw is None else as_owner(owner_raw, f"{path}.owner")
        period_text = as_string(get(item, "period", path), f"{path}.period", "2027-Q1")
        try:
            period = parse_period(period_text).text
        except PipebotError as exc:
            fail(f"{path}.period", exc.message, "2027-Q1")
        cents = as_cents(get(item, "amount", path), f"{path}.amount")
        if cents is None or cents <= 0:
            fail(f"{path}.amount", "a target is an amount above zero", "500000.00")
        if (owner, period) in targets:
            fail(path, f"a second target for {owner or 'the team'} in {period}", TARGET_EXAMPLE)
        targets[(owner, period)] = TargetOut(
            owner=owner, period=period, amount=Decimal(cents).scaleb(-2)
        )
    return sort_targets(list(targets.values()))


def read_planning(data: Mapping[str, object]) -> PlanningPlan:
    """The document's sources, loss reasons and targets, each validated when present."""
    return PlanningPlan(
        sources=None if data.get("sources") is None else _sources(data["sources"]),
        lost_reasons=None if data.get("lost_reasons") is None else _reasons(data["lost_reasons"]),
        targets=None if data.get("targets") is None else _targets(data["targets"]),
    )


def deal_planning(
    d: Mapping[str, object], path: str, status: str, reasons: Sequence[LostReason]
) -> tuple[str | None, str | None, str | None]:
    """A deal's source key, lost reason key and lost detail.

    A lost reason that is no reason of the team becomes `other`, its text kept as the detail.
    """
    source_text = opt_text(d.get("source"), f"{path}.source", limit=MAX_SOURCE)
    source = key_of(source_text) or None if source_text is not None else None
    reason_text = opt_text(d.get("lost_reason"), f"{path}.lost_reason", limit=MAX_REASON)
    detail = opt_text(d.get("lost_detail"), f"{path}.lost_detail", limit=MAX_REASON)
    if status != DealStatus.LOST and (reason_text is not None or detail is not None):
        fail(f"{path}.lost_reason", f"only a lost deal has a lost reason; this one is {status}")
    key, moved = reason_key(reason_text, reasons)
    if moved is not None:
        detail = moved if detail is None else f"{moved} — {detail}"[:MAX_REASON]
    return source, key, detail


def planning_document(
    sources: Sequence[str], reasons: Sequence[LostReason], targets: Sequence[TargetOut]
) -> dict[str, Any]:
    """The team-level planning keys of `pipebot/1`."""
    return {
        "sources": list(sources),
        "lost_reasons": [{"key": r.key, "name": r.name} for r in reasons],
        "targets": [
            {
                "owner": t.owner,
                "period": t.period,
                "amount": amount_text(int(t.amount.scaleb(2).to_integral_value())),
            }
            for t in targets
        ],
    }
