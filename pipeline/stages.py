"""Pipeline stages: defaults, validation and resolving what people type to a stage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import InvalidInput, NotFound
from pipeline.schemas import StageOut
from pipeline.types import OUTCOMES


@dataclass(frozen=True)
class StageSpec:
    """A stage definition before it is stored."""

    key: str
    name: str
    probability: int
    stale_days: int


DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("lead", "Lead", 10, 14),
    StageSpec("qualified", "Qualified", 25, 14),
    StageSpec("demo", "Demo", 40, 10),
    StageSpec("proposal", "Proposal", 60, 10),
    StageSpec("negotiation", "Negotiation", 80, 7),
)

MAX_STAGES = 40
_KEY_RE = re.compile(r"[^a-z0-9]+")


def key_for(name: str) -> str:
    """A stable stage key from a display name: `Contract Sent` -> `contract_sent`."""
    key = _KEY_RE.sub("_", name.strip().lower()).strip("_")[:40]
    if not key:
        raise InvalidInput(
            f'"{name}" is not a usable stage name: use letters or digits.',
            example="stages add Contract Sent 70% 7d",
            field="name",
        )
    if key in OUTCOMES:
        raise InvalidInput(
            f'"{name}" is reserved: won and lost are the outcomes every pipeline has.',
            example="stages add Verbal Yes 90% 5d",
            field="name",
        )
    return key


def validate_name(name: str) -> str:
    """A trimmed stage display name of 1 to 80 characters."""
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise InvalidInput(
            "A stage name needs 1 to 80 characters.",
            example="stages rename demo Product Demo",
            field="name",
        )
    return name


def validate_probability(value: int) -> int:
    """A win probability in percent, 0 to 100."""
    if not 0 <= value <= 100:
        raise InvalidInput(
            f"A stage's win probability is a percentage from 0 to 100, not {value}.",
            example="stages set demo 40% 10d",
            field="probability",
        )
    return value


def validate_stale_days(value: int) -> int:
    """A stale threshold in days, 1 to 365."""
    if not 1 <= value <= 365:
        raise InvalidInput(
            f"A stale threshold is 1 to 365 days, not {value}.",
            example="stages set demo 40% 10d",
            field="stale_days",
        )
    return value


def resolve_stage(text: str, stages: Sequence[StageOut]) -> StageOut:
    """The open stage named by key, display name or an unambiguous prefix of either."""
    wanted = text.strip().lower()
    valid = ", ".join(s.name for s in stages)
    if not wanted:
        raise InvalidInput(f"Which stage? Choose one of: {valid}.", example="move #12 demo")
    for stage in stages:
        if wanted in (stage.key, stage.name.lower()):
            return stage
    matches = [s for s in stages if s.key.startswith(wanted) or s.name.lower().startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(s.name for s in matches)
        raise InvalidInput(
            f'"{text}" could be {names}: type more of the name.', example="move #12 demo"
        )
    raise NotFound(f'There is no stage "{text}". Stages: {valid}.', example="move #12 demo")


def next_stage(current: str, stages: Sequence[StageOut]) -> StageOut | None:
    """The stage after `current` in pipeline order, or None on the last one."""
    keys = [s.key for s in stages]
    if current not in keys:
        return stages[0] if stages else None
    index = keys.index(current)
    return stages[index + 1] if index + 1 < len(stages) else None
