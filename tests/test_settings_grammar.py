"""The admin grammar, reporting windows and the service's settings setters."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.commands import admin_grammar as g
from pipeline.errors import InvalidInput
from pipeline.schemas import StageOut
from pipeline.windows import parse_window
from storage.db import Database
from storage.services import service_in
from tests.conftest import FrozenClock

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
STAGES = [
    StageOut(key="demo", name="Demo", position=0, probability=40, stale_days=10),
    StageOut(key="ready_to_sign", name="Ready to Sign", position=1, probability=90, stale_days=5),
]


# --- admin grammar --------------------------------------------------------------------------


def test_stage_numbers_in_any_order() -> None:
    assert g.parse_stage_set("demo 40% 10d") == g.StageSet("demo", 40, 10)
    assert g.parse_stage_set("Product Demo 10 days 40 %") == g.StageSet("Product Demo", 40, 10)
    assert g.parse_stage_set("demo 10d") == g.StageSet("demo", None, 10)
    assert g.parse_stage_add("Phase 2 50% 7d") == g.StageAdd("Phase 2", 50, 7)
    assert g.parse_stage_add("Verbal yes 90% 5d before negotiation") == g.StageAdd(
        "Verbal yes", 90, 5, "negotiation"
    )


def test_split_stage_prefers_known_names() -> None:
    assert g.split_stage("Ready to Sign Signing", STAGES, "") == ("Ready to Sign", "Signing")
    assert g.split_stage("demo to Product Demo", STAGES, "") == ("demo", "Product Demo")
    assert g.split_stage('"Ready to Sign" Signed', STAGES, "") == ("Ready to Sign", "Signed")
    assert g.split_stage("dem Product Demo", STAGES, "") == ("dem", "Product Demo")
    assert g.split_stage("old name to new name", STAGES, "") == ("old name", "new name")
    with pytest.raises(InvalidInput, match="closing quote"):
        g.split_stage('"Ready Signed', STAGES, "")


def test_channels() -> None:
    assert g.parse_channel("<#C0SALES|sales>") == g.ChannelChoice("C0SALES")
    assert g.parse_channel("<#G0PRIV|>") == g.ChannelChoice("G0PRIV")
    assert g.parse_channel("C0123ABCD") == g.ChannelChoice("C0123ABCD")
    assert g.parse_channel("here") == g.ChannelChoice(None, here=True)
    assert g.parse_channel("none") == g.ChannelChoice(None)
    with pytest.raises(InvalidInput, match="did not link #sales"):
        g.parse_channel("#sales")


def test_rates_and_admins() -> None:
    assert g.parse_rate("usd 0,92") == ("usd", Decimal("0.92"))
    assert g.parse_rate("USD=1.5") == ("USD", Decimal("1.5"))
    for bad in ("USD", "USD NaN", "USD Infinity", "USD 1 2"):
        with pytest.raises(InvalidInput):
            g.parse_rate(bad)
    assert g.parse_admins("<@U1|a>, <@U2> and <@U1>") == ["U1", "U2"]
    assert g.parse_admins("none") == []
    with pytest.raises(InvalidInput, match="Mention each admin"):
        g.parse_admins("<@U1> @bob")


def test_reminder_mode_or_schedule() -> None:
    assert g.is_reminder_mode("channel + dm")
    assert g.is_reminder_mode("DM")
    assert not g.is_reminder_mode("off")
    assert not g.is_reminder_mode("09:00 mon-fri")


@given(st.text(max_size=80))
def test_grammar_fails_only_with_invalid_input(text: str) -> None:
    for parse in (g.parse_stage_set, g.parse_stage_add, g.parse_channel, g.parse_rate):
        with contextlib.suppress(InvalidInput):
            parse(text)


# --- windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("", NOW - timedelta(days=90), NOW, "last 90 days"),
        ("30d", NOW - timedelta(days=30), NOW, "last 30 days"),
        ("2 weeks", NOW - timedelta(days=14), NOW, "last 14 days"),
        ("month", datetime(2026, 10, 31, 23, tzinfo=UTC), NOW, "this month (since 1 Nov 2026)"),
        (
            "quarter",
            datetime(2026, 9, 30, 22, tzinfo=UTC),
            NOW,
            "this quarter (since 1 Oct 2026)",
        ),
        ("ytd", datetime(2025, 12, 31, 23, tzinfo=UTC), NOW, "this year (since 1 Jan 2026)"),
        (
            "last quarter",
            datetime(2026, 6, 30, 22, tzinfo=UTC),
            datetime(2026, 9, 30, 22, tzinfo=UTC),
            "last quarter (1 Jul 2026 – 30 Sep 2026)",
        ),
        (
            "from 2026-07-01 to 2026-09-30",
            datetime(2026, 6, 30, 22, tzinfo=UTC),
            datetime(2026, 9, 30, 22, tzinfo=UTC),
            "1 Jul 2026 – 30 Sep 2026",
        ),
    ],
)
def test_windows_in_the_team_timezone(
    text: str, start: datetime, end: datetime, label: str
) -> None:
    window = parse_window(text, now=NOW, tz="Europe/Paris")
    assert (window.start, window.end, window.label) == (start, end, label)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0d", "1 to 3660 days"),
        ("2026-09-30 2026-07-01", "ends \\(1 Jul 2026\\) before it starts"),
        ("2027-01-01 2027-02-01", "starts in the future"),
        ("soonish", "not a window I understand"),
    ],
)
def test_bad_windows(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_window(text, now=NOW, tz="Europe/Paris")
    assert caught.value.example


@settings(deadline=None)  # dateparser's first call loads its language data
@given(st.text(max_size=60))
def test_windows_fail_only_with_invalid_input(text: str) -> None:
    try:
        window = parse_window(text, now=NOW, tz="America/New_York")
    except InvalidInput:
        return
    assert window.start < window.end


# --- service setters ------------------------------------------------------------------------


def test_settings_setters_store_canonical_values(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        p = service_in(s, "T0SET", clock=clock)
        p.set_channel("C0SALES")
        assert p.set_admins(["U0A", "U0B", "U0A"]) == ["U0A", "U0B"]
        assert p.set_reminders("8:30 Monday,Wednesday,Friday") == "08:30 mon,wed,fri"
        assert p.set_reminder_mode("both") == "channel+dm"
        assert p.set_digest("friday 4pm") == "fri 16:00"
    with db.read_scope() as s:
        team = service_in(s, "T0SET", clock=clock).team_out()
    assert (team.channel_id, team.admins) == ("C0SALES", ["U0A", "U0B"])
    assert (team.reminders, team.reminder_mode, team.digest) == (
        "08:30 mon,wed,fri",
        "channel+dm",
        "fri 16:00",
    )


def test_settings_setters_refuse_bad_values(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        p = service_in(s, "T0SET", clock=clock)
        for bad in (
            lambda: p.set_channel("D0ALICE"),
            lambda: p.set_channel("sales"),
            lambda: p.set_admins(["not a user"]),
            lambda: p.set_admins([f"U{i}" for i in range(51)]),
            lambda: p.set_reminders("sometimes"),
            lambda: p.set_reminder_mode("email"),
            lambda: p.set_digest("daily 09:00"),
        ):
            with pytest.raises(InvalidInput):
                bad()
        p.set_channel(None)
        assert p.team.channel_id is None
