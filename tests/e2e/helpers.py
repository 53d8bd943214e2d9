"""What the button, modal and shortcut tests share: making deals, waiting, reading the DB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from bot.app import build_client
from bot.settings import Settings
from pipeline.errors import NotFound
from pipeline.schemas import DealDetail, TeamOut
from sandbox.blockkit import block_elements
from sandbox.payloads import FORM, Delivery, action_for, block_actions, encode_interaction
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID, DEFAULT_USER, Message, View
from scheduler.runner import Runner
from scheduler.sender import Pacer
from storage.services import service_in
from tests.e2e.conftest import TOKEN, Bot
from views.ids import Block

ALICE = DEFAULT_USER
BOB = "U0BOB"
CHANNEL = DEFAULT_CHANNEL


def wait(bot: Bot, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Wait for the bot's after-ack work to show at the fake; return what the predicate saw."""
    seen: list[Any] = []

    def check() -> bool:
        value = predicate()
        if value:
            seen.append(value)
            return True
        return False

    bot.fake.wait_until(check, timeout)
    return seen[-1]


# Generous: a slow machine makes a test slower; only work that never ends fails it.
IDLE_TIMEOUT = 60.0


def idle(bot: Bot) -> None:
    """Wait until the bot has finished the work of every request it acked so far.

    What a listener should not do (post, edit, write) it has not done by then: a test that
    asserts that nothing happened waits for this, never for a fixed time.
    """
    assert bot.app.wait_idle(IDLE_TIMEOUT), f"the bot was still working after {IDLE_TIMEOUT} s"


def quiet_deals(bot: Bot) -> None:
    """Daily reminders at 09:00 in the channel, and two of Alice's deals quiet for 30 days."""
    start = bot.clock.now
    bot.clock.now = start - timedelta(days=30)
    with bot.db.session_scope() as s:
        p = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.set_reminders("09:00 daily")
        p.create("Quiet One", actor=ALICE, close_date=date(2026, 12, 10))
        p.create("Quiet Two", actor=ALICE)
    bot.clock.now = start


def scheduler_for(bot: Bot) -> Runner:
    """The scheduler on the bot's database, clock and fake Slack, pacing nothing."""
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_api_url=bot.fake.api_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    return Runner(bot.db, build_client(settings), clock=bot.clock, pacer=Pacer(interval=0))


def detail(bot: Bot, number: int, team: str = DEFAULT_TEAM_ID) -> DealDetail | None:
    """A deal and its history straight from the database (None when it does not exist)."""
    with bot.db.read_scope() as session:
        try:
            return service_in(session, team, clock=bot.clock).detail(f"#{number}")
        except NotFound:
            return None


def must(bot: Bot, number: int) -> DealDetail:
    """A deal that must exist."""
    found = detail(bot, number)
    assert found is not None, f"no deal #{number}"
    return found


def cards(bot: Bot, channel: str = CHANNEL) -> list[Message]:
    """Top-level bot messages carrying a deal card."""
    return [
        m
        for m in bot.fake.messages(channel)
        if m.is_bot and any(str(b.get("block_id", "")).startswith(Block.ACTIONS) for b in m.blocks)
    ]


def add_deal(bot: Bot, text: str = "Acme Corp 50k", user: str = ALICE) -> Message:
    """`/deal add ...` and the card it posts in the channel."""
    before = len(cards(bot))
    bot.slack.command(user, f"add {text}")
    found: Message = wait(bot, lambda: len(cards(bot)) > before and cards(bot)[before])
    return found


def card(bot: Bot, ts: str, channel: str = CHANNEL) -> Message:
    """A message as it reads now."""
    found = bot.fake.message(channel, ts)
    assert found is not None
    return found


def button_value(message_blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of a card's button."""
    for block in message_blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element.get("value"))
    raise LookupError(action_id)


def edits(bot: Bot, ts: str) -> int:
    """How many times a message was replaced."""
    return len([u for u in bot.fake.updates if u.ts == ts])


def ephemerals_for(bot: Bot, user: str, containing: str = "") -> list[str]:
    """Texts of the ephemerals a user sees (optionally only those containing a string)."""
    return [e.text for e in bot.fake.ephemerals(user) if containing in e.text]


def thread_texts(bot: Bot, ts: str, channel: str = CHANNEL) -> list[str]:
    """Replies under a card."""
    return [m.text for m in bot.fake.thread(channel, ts)]


def open_modal(bot: Bot, user: str, count_before: int) -> View:
    """The modal the bot opened after `count_before` earlier ones."""
    found: View = wait(
        bot, lambda: len(bot.fake.views_for(user)) > count_before and bot.fake.views_for(user)[-1]
    )
    return found


def submit_and_wait(bot: Bot, user: str, values: dict[str, Any], view_id: str) -> Delivery:
    """Submit a modal; the ack decides whether it closes or shows errors."""
    delivery = bot.slack.submit(user, values, view_id=view_id)
    assert delivery.status == 200
    return delivery


def view_errors(bot: Bot, view_id: str) -> dict[str, str]:
    """The errors a modal shows (empty when none)."""
    view = bot.fake.view(view_id)
    assert view is not None
    return view.errors or {}


def click_as_shown(
    bot: Bot,
    user: str,
    ts: str,
    action_id: str,
    shown: dict[str, Any],
    *,
    value: object = None,
    team: str | None = None,
) -> Delivery:
    """Click a card as it was rendered in `shown` (a message payload), even if updated since."""
    fake = bot.fake
    block_id, element = next(
        (b, e)
        for b, e in block_elements(shown.get("blocks") or [])
        if e.get("action_id") == action_id
    )
    payload = block_actions(
        user_id=user,
        actions=[action_for(element, block_id, value=value)],
        trigger_id=fake.new_trigger_id(user),
        team_id=team or fake.team_id,
        channel_id=CHANNEL,
        message=shown,
        message_ts=ts,
        response_url=fake.new_response_url(CHANNEL, user, message_ts=ts),
    )
    delivery = bot.slack.post(bot.slack.interactivity_url, encode_interaction(payload), FORM)
    assert delivery.status == 200
    return delivery


def team(bot: Bot, team_id: str = DEFAULT_TEAM_ID) -> TeamOut:
    """The team's settings straight from the database."""
    with bot.db.read_scope() as session:
        return service_in(session, team_id, clock=bot.clock).team_out()


def input_element(view: View, block_id: str) -> dict[str, Any]:
    """The element of a view's input block."""
    return next(b["element"] for b in view.blocks if b.get("block_id") == block_id)
