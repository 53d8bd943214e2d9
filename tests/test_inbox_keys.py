"""Which deliveries are the same request: the inbox's dedupe keys, over any text."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.inbox import dedupe_key
from sandbox.payloads import action_for, block_actions, event_callback, slash_command

words = st.text(min_size=0, max_size=60)
ids = st.text(alphabet="0123456789.abcdef", min_size=1, max_size=20)


def command(text: str, trigger: str, url: str, user: str = "U0ALICE") -> dict[str, Any]:
    return dict(slash_command(user_id=user, text=text, trigger_id=trigger, response_url=url))


@given(words, ids, ids, ids)
def test_a_command_is_known_by_its_trigger_id_whatever_its_text(
    text: str, trigger: str, other: str, url: str
) -> None:
    first = dedupe_key(command(text, trigger, url))
    assert first is not None
    assert not first.windowed
    assert first == dedupe_key(command(text, trigger, url + "x"))  # the same delivery again
    if other != trigger:  # typed again, even the same text, is another request
        assert first != dedupe_key(command(text, other, url))


def click(value: str, action_ts: str, trigger: str) -> dict[str, Any]:
    element = {"type": "button", "action_id": "deal_advance", "value": value}
    action = action_for(element, "deal_actions", action_ts=action_ts)
    return dict(block_actions(user_id="U0ALICE", actions=[action], trigger_id=trigger))


@given(words, ids, ids, ids, ids)
def test_a_double_click_is_one_request_another_card_state_another(
    value: str, ts1: str, ts2: str, t1: str, t2: str
) -> None:
    first = dedupe_key(click(value, ts1, t1))
    assert first is not None
    assert first.windowed
    assert first == dedupe_key(click(value, ts2, t2))
    assert first != dedupe_key(click(value + "|v2", ts1, t1))


@given(ids)
def test_an_event_is_known_by_its_event_id_for_good(event_id: str) -> None:
    first = event_callback({"type": "app_home_opened", "user": "U1"}, event_id=event_id)
    again = event_callback({"type": "app_home_opened", "user": "U1"}, event_id=event_id)
    key = dedupe_key(dict(first))
    assert key is not None
    assert not key.windowed
    assert key == dedupe_key(dict(again))


def test_modal_submissions_and_url_checks_are_not_written() -> None:
    assert dedupe_key({"type": "view_submission", "view": {}}) is None
    assert dedupe_key({"type": "view_closed"}) is None
    assert dedupe_key({"type": "url_verification", "challenge": "x"}) is None
    assert dedupe_key({"ssl_check": "1"}) is None
