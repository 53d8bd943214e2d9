"""The closed cohort's groups added up into the metrics' and planning's rows.

The database tests (tests/test_metrics_reference.py) check the groups' SQL against a reference;
these check the additions on groups chosen so that every key is shared by several of them.
"""

from __future__ import annotations

from pipeline.metrics import AmountRow, LostRow
from pipeline.planning_metrics import LossRow, SourceRow
from storage.cohort_queries import (
    ClosedGroup,
    LostGroup,
    cohort_totals,
    funnel_losses,
    loss_rows,
    source_rows,
    won_count,
)

CLOSED = [
    ClosedGroup("referral", "won", "EUR", 2, 2, 300, 7200.0),
    ClosedGroup(None, "won", "EUR", 1, 0, None, 3600.0),
    ClosedGroup("web", "won", "USD", 3, 1, 50, 0.0),
    ClosedGroup("web", "lost", "EUR", 4, 4, 1000, None),
    ClosedGroup("referral", "lost", "EUR", 1, 0, None, None),
    ClosedGroup("web", "lost", "GBP", 2, 0, None, None),
]

LOST = [
    LostGroup("price", "demo", "EUR", 2, 3, 400),
    LostGroup("price", "demo", "EUR", 3, 1, None),
    LostGroup("timing", "demo", "EUR", 2, 2, 600),
    LostGroup(None, "lead", "GBP", None, 2, None),
    LostGroup("price", "demo", "USD", 3, 1, 70),
]


def test_cohort_totals_add_up_the_sources_and_keep_an_all_missing_sum_missing() -> None:
    totals, priced_won = cohort_totals(CLOSED)
    assert sorted(totals) == [
        AmountRow("lost", "EUR", 5, 1000),
        AmountRow("lost", "GBP", 2, None),
        AmountRow("won", "EUR", 3, 300),
        AmountRow("won", "USD", 3, 50),
    ]
    assert priced_won == {"EUR": 2, "USD": 1}
    assert won_count(CLOSED) == 6


def test_source_rows_keep_each_group_and_a_time_to_win_for_wins_only() -> None:
    rows = source_rows(CLOSED)
    assert rows[0] == SourceRow("referral", "won", "EUR", 2, 300, 7200.0)
    assert rows[2].win_seconds is None  # no time at all: nothing to average
    assert [r.win_seconds for r in rows[3:]] == [None, None, None]
    assert len(rows) == len(CLOSED)


def test_funnel_losses_add_up_reasons_and_currencies() -> None:
    assert sorted(funnel_losses(LOST), key=repr) == sorted(
        [LostRow("demo", 2, 5), LostRow("demo", 3, 2), LostRow("lead", None, 2)], key=repr
    )


def test_loss_rows_add_up_the_furthest_stages() -> None:
    assert sorted(loss_rows(LOST), key=repr) == sorted(
        [
            LossRow("price", "demo", "EUR", 4, 400),
            LossRow("timing", "demo", "EUR", 2, 600),
            LossRow(None, "lead", "GBP", 2, None),
            LossRow("price", "demo", "USD", 1, 70),
        ],
        key=repr,
    )
