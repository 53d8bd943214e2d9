"""The ack that Bolt's thread runner cannot take back (see bot.errors.StickyAck)."""

from __future__ import annotations

from bot.errors import StickyAck


def test_an_ack_given_stays_given() -> None:
    ack = StickyAck()
    assert ack.response is None
    given = ack()
    assert ack.response is given
    ack.response = None  # what Bolt does when the listener raises after acking
    assert ack.response is given
    assert given.status == 200


def test_a_later_ack_still_replaces_the_first() -> None:
    ack = StickyAck()
    ack()
    second = ack(response_action="errors", errors={"name": "Give it a name."})
    assert ack.response is second
