"""Ack first, work after: every listener but a modal's answer runs after the ack, guarded."""

from __future__ import annotations

import threading

import pytest

from bot.app import WorkPool
from handlers.commands import VERBS
from handlers.common import Request
from handlers.listeners import ack_now
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, idle, wait


def test_every_listener_but_a_modal_submission_only_acks(bot: Bot) -> None:
    # What the server relies on to dispatch on its event loop (PipebotApp.acks_at_once).
    listeners = bot.app._listeners
    assert all(listener.lazy_functions for listener in listeners)
    answering = {f.__name__ for f in (x.ack_function for x in listeners) if f is not ack_now}
    assert answering == {
        "create_submitted",
        "edit_submitted",
        "lost_submitted",
        "log_submitted",
        "snooze_submitted",
        "delete_submitted",
        "log_to_deal_submitted",
        "target_submitted",
    }


def test_work_pool_is_idle_once_the_work_has_finished() -> None:
    pool = WorkPool(2)
    assert pool.wait_idle(0)
    go = threading.Event()
    pool.submit(go.wait)
    pool.submit(go.wait)
    assert not pool.wait_idle(0.05)
    go.set()
    assert pool.wait_idle(10)
    pool.shutdown()


def test_an_unexpected_error_after_the_ack_is_apologised_for(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(req: Request, text: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(VERBS, "boom", boom)
    delivery = bot.slack.command(ALICE, "boom")
    assert delivery.status == 200
    told = wait(bot, lambda: bot.fake.ephemerals(ALICE))
    assert told[0].text.startswith(":boom: Sorry, something went wrong on our side")
    assert "give your admin this reference: `" in told[0].text


def test_an_unexpected_error_while_answering_a_modal_still_answers_it(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.slack.command(ALICE, "add")
    view = wait(bot, lambda: bot.fake.views_for(ALICE))[-1]

    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("handlers.views.submissions.read_fields", broken)
    delivery = bot.slack.submit(ALICE, {"name": "Globex"}, view_id=view.id)
    assert delivery.status == 200
    idle(bot)
    told = [m.text for m in bot.fake.messages(ALICE)]
    assert len(told) == 1, told
    assert told[0].startswith(":boom: Sorry, something went wrong on our side")
