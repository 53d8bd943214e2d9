"""The planning views stay within Slack's limits: 40 reps, 12 loss reasons, 40 sources."""

from __future__ import annotations

import json
from decimal import Decimal

from pipeline.metrics import Metrics
from pipeline.planning import LostReason, TargetOut
from pipeline.planning_metrics import ReasonStats, SourceStats, TargetStats
from sandbox.blockkit import validate_blocks
from storage.db import Database
from storage.services import service_in
from tests.test_digest import T as WEEK_TEAM
from tests.test_digest import build_week, digest
from tests.test_views_digest import NASTY, all_text, assert_valid, huge_digest
from views.common import dump
from views.digest import build_digest
from views.planning import build_targets, home_targets, stats_sections

REPS = [f"U0REP{i:04d}XYZ" for i in range(40)]


def target(owner: str | None, amount: int) -> TargetStats:
    return TargetStats(
        owner=owner,
        period="2027-Q1",
        amount=Decimal(amount),
        won=Decimal(amount) / 3,
        attainment=0.3333,
        expected_by_now=Decimal(amount) / 2,
        open_weighted=Decimal(amount) / 4,
        forecast=Decimal(amount) * 7 / 12,
        gap=Decimal(amount) * 5 / 12,
    )


def planning_parts() -> dict[str, object]:
    reasons = [LostReason(key=f"reason_{i}", name=(f"{i} " + NASTY * 5)[:60]) for i in range(12)]
    return {
        "targets": [target(None, 4_000_000), *(target(rep, 123_456_789) for rep in REPS)],
        "losses": [
            ReasonStats(
                reason=r.key,
                count=99 - i,
                amount=Decimal(987_654_321),
                by_stage={f"stage_{j}_{NASTY}": j for j in range(1, 40)},
            )
            for i, r in enumerate(reasons)
        ],
        "by_source": [
            SourceStats(
                source=f"source_{i}_{'x' * 30}",
                created=1000 + i,
                won_count=400,
                lost_count=500,
                win_rate=0.4444,
                won_amount=Decimal(123_456_789),
                avg_days_to_win=47.5,
            )
            for i in range(40)
        ],
        "lost_reasons": reasons,
    }


def test_digest_with_40_reps_and_12_reasons_stays_within_block_kit_limits() -> None:
    data = huge_digest().model_copy(update=planning_parts())
    message = build_digest(data)
    assert_valid(message)
    main = all_text(message.blocks)
    assert "*Team* 2027-Q1: €1.3M won of €4M (33%)" in main
    assert all(f"<@{rep}>" in main for rep in REPS)  # a line per rep fits in two sections
    assert "*Lost by reason*" in main
    assert "*Lead sources*" in main
    assert "&lt;Sons&gt;" in main
    assert "<Sons>" not in main


def test_more_reps_than_fit_go_whole_to_the_thread() -> None:
    parts = planning_parts()
    many = [f"U0MANY{i:04d}ABCDEFGH" for i in range(150)]
    parts["targets"] = [target(None, 4_000_000), *(target(rep, 123_456_789) for rep in many)]
    message = build_digest(huge_digest().model_copy(update=parts))
    assert_valid(message)
    assert "… and " in all_text(message.blocks)
    [reply] = [blocks for text, blocks in message.thread if text.startswith("Targets")]
    everything = all_text(reply)
    assert sum(f"<@{rep}>" in everything for rep in many) >= 100


def test_a_small_team_gets_its_planning_in_the_message_alone() -> None:
    parts = planning_parts()
    small = {
        "targets": parts["targets"][:3],  # type: ignore[index]
        "losses": parts["losses"][:2],  # type: ignore[index]
        "by_source": parts["by_source"][:5],  # type: ignore[index]
        "lost_reasons": parts["lost_reasons"],
    }
    message = build_digest(huge_digest(stages=3, stale=0).model_copy(update=small))
    assert_valid(message)
    assert not [text for text, _ in message.thread if text.startswith("Targets")]
    assert f"<@{REPS[1]}>" in all_text(message.blocks)


def test_stats_targets_list_and_home_sections_validate() -> None:
    parts = planning_parts()
    metrics = Metrics.model_construct(
        currency="EUR",
        by_source=parts["by_source"],
        lost_reasons=parts["losses"],
        targets=parts["targets"],
    )
    stats = dump(stats_sections(metrics, parts["lost_reasons"]))  # type: ignore[arg-type]
    assert validate_blocks(stats) == []
    assert len(stats) <= 10
    listed = [TargetOut(owner=rep, period="2027-Q1", amount=Decimal(5)) for rep in REPS * 15]
    blocks = build_targets(listed, parts["targets"], "EUR")  # type: ignore[arg-type]
    assert validate_blocks(blocks) == []
    assert "… and" in json.dumps(blocks, ensure_ascii=False)
    home = dump(home_targets(parts["targets"], REPS[3], "EUR", admin=True))  # type: ignore[arg-type]
    assert validate_blocks(home, "home") == []
    assert len(home) == 3  # the team's line, the rep's own, and the admin's button


def test_the_weekly_digest_collects_losses_sources_and_targets(db: Database) -> None:
    build_week(db)
    with db.session_scope() as s:
        service_in(s, WEEK_TEAM).set_target(None, "2026-Q4", Decimal(100_000))
    data = digest(db)
    assert [(r.reason, r.count) for r in data.losses] == [("competitor", 1)]
    assert [t.period for t in data.targets] == ["2026-Q4"]
    assert data.by_source[-1].source == "none"
    main = all_text(build_digest(data).blocks)
    assert "*Team* 2026-Q4:" in main
    assert "Competitor" in main
