"""A realistic demo team (`T0DEMO`): a dozen deals with months of history, built through the
same domain operations people use, so every number in the demo is one pipebot computed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from pipeline.clock import Clock
from pipeline.money import Money
from pipeline.service import NextStep, PipelineService
from storage.db import Database
from storage.services import service_in

DEMO_TEAM = "T0DEMO"
MANAGER, REP_A, REP_B = "U0ALICE", "U0BOB", "U0CAROL"
CHANNEL = "C0SALES"

# (days before now, action) — applied in time order.
Step = tuple[float, Callable[[PipelineService], object]]


def _eur(amount: int) -> Money:
    return Money(Decimal(amount), "EUR")


def _usd(amount: int) -> Money:
    return Money(Decimal(amount), "USD")


def _script(today: date) -> list[Step]:
    """Every step of the demo team's history, oldest first."""
    return _settings() + _first_months() + _last_weeks(today)


def _settings() -> list[Step]:
    """Four months ago: the manager sets the team up."""
    return [
        (120, lambda p: p.set_currency("EUR")),
        (120, lambda p: p.set_timezone("Europe/Paris")),
        (120, lambda p: p.set_rate("USD", Decimal("0.92"))),
        (120, lambda p: p.set_channel(CHANNEL)),
        (120, lambda p: p.set_admins([MANAGER])),
    ]


def _first_months() -> list[Step]:
    """Deals opened, moved, won and lost over the first three months."""
    return [
        (
            118,
            lambda p: p.create(
                "Northwind Traders", actor=REP_A, amount=_eur(48_000), source="referral"
            ),
        ),
        (
            115,
            lambda p: p.create(
                "Globex", actor=REP_B, amount=_usd(120_000), stage="qualified", source="outbound"
            ),
        ),
        (110, lambda p: p.move("Northwind", "demo", actor=REP_A)),
        (104, lambda p: p.create("Initech", actor=REP_A, amount=_eur(18_500), source="inbound")),
        (100, lambda p: p.move("Globex", "proposal", actor=REP_B)),
        (96, lambda p: p.move("Northwind", "proposal", actor=REP_A)),
        (90, lambda p: p.lose("Initech", "No budget this year", actor=REP_A)),
        (85, lambda p: p.move("Globex", "negotiation", actor=REP_B)),
        (80, lambda p: p.win("Northwind", actor=REP_A)),
        (75, lambda p: p.create("Umbrella Corp", actor=REP_B, amount=_eur(75_000), stage="demo")),
        (70, lambda p: p.win("Globex", actor=REP_B)),
        (
            64,
            lambda p: p.create(
                "Stark Industries", actor=REP_A, amount=_usd(210_000), source="partner"
            ),
        ),
        (60, lambda p: p.move("Umbrella", "proposal", actor=REP_B)),
        (55, lambda p: p.move("Stark", "qualified", actor=REP_A)),
        (50, lambda p: p.lose("Umbrella", "Competitor: went with Globex", actor=REP_B)),
    ]


def _last_weeks(today: date) -> list[Step]:
    """The last six weeks: deals with close dates and next steps around `today`."""

    def d(days: int) -> date:
        return today + timedelta(days=days)

    return [
        (
            45,
            lambda p: p.create(
                "Wayne Enterprises", actor=REP_B, amount=_eur(95_000), close_date=d(-10)
            ),
        ),
        (42, lambda p: p.move("Stark", "demo", actor=REP_A)),
        (
            40,
            lambda p: p.create(
                "Hooli", actor=REP_A, amount=_eur(32_000), stage="qualified", source="inbound"
            ),
        ),
        (35, lambda p: p.move("Wayne", "demo", actor=REP_B)),
        (30, lambda p: p.push_close_date("Wayne", d(5), actor=REP_B)),
        (
            28,
            lambda p: p.create(
                "Acme Corp", actor=REP_A, amount=_eur(50_000), stage="proposal", close_date=d(12)
            ),
        ),
        (26, lambda p: p.move("Stark", "proposal", actor=REP_A)),
        (
            21,
            lambda p: p.log_activity(
                "Hooli", "call", "Intro call with their VP Sales", actor=REP_A
            ),
        ),
        (20, lambda p: p.create("Soylent", actor=REP_B, amount=_eur(12_000))),
        (18, lambda p: p.push_close_date("Wayne", d(20), actor=REP_B)),
        (
            14,
            lambda p: p.create(
                "Cyberdyne",
                actor=REP_B,
                amount=_usd(64_000),
                stage="demo",
                next_step=NextStep("Send the security questionnaire", d(-3)),
            ),
        ),
        (12, lambda p: p.move("Stark", "negotiation", actor=REP_A)),
        (
            9,
            lambda p: p.log_activity(
                "Acme", "meeting", "Proposal walkthrough with procurement", actor=REP_A
            ),
        ),
        (7, lambda p: p.create("Pied Piper", actor=REP_A, amount=_eur(22_000), stage="lead")),
        (
            5,
            lambda p: p.set_next_step("Acme", NextStep("Follow up on redlines", d(2)), actor=REP_A),
        ),
        (4, lambda p: p.lose("Soylent", "Timing: revisit next year", actor=REP_B)),
        (3, lambda p: p.win("Stark", actor=REP_A)),
        (
            2,
            lambda p: p.create(
                "Massive Dynamic",
                actor=REP_B,
                amount=_eur(140_000),
                stage="qualified",
                close_date=d(45),
            ),
        ),
        (1, lambda p: p.log_activity("Cyberdyne", "email", "Questionnaire half done", actor=REP_B)),
        *_targets(today),
    ]


def _targets(today: date) -> list[Step]:
    """The manager's targets for this quarter: the team's and each rep's."""
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return [
        (0, lambda p: p.set_target(None, quarter, Decimal(400_000))),
        (0, lambda p: p.set_target(REP_A, quarter, Decimal(220_000))),
        (0, lambda p: p.set_target(REP_B, quarter, Decimal(180_000))),
    ]


def seed_demo(db: Database, *, now: datetime, team_id: str = DEMO_TEAM) -> int:
    """Create the demo team's history ending at `now`; returns how many deals it made."""
    moment = now

    def clock() -> datetime:
        return moment

    frozen: Clock = clock
    for days_ago, action in _script(now.date()):
        moment = now - timedelta(days=days_ago)
        with db.session_scope() as session:
            action(service_in(session, team_id, clock=frozen))
    with db.read_scope() as session:
        return len(service_in(session, team_id, clock=frozen).list_deals())
