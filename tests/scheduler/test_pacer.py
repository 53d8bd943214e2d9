"""The pacer keeps to Slack's one message per second per channel, channels independent."""

from __future__ import annotations

import threading

from scheduler.sender import Pacer


class Clock:
    """A monotonic clock that only moves when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_one_message_per_second_per_channel() -> None:
    clock = Clock()
    pacer = Pacer(1.0, sleep=clock.sleep, monotonic=clock)
    for _ in range(3):
        pacer.wait("C1")
    assert clock.slept == [1.0, 1.0]
    pacer.wait("C2")  # another channel is not held back by C1's queue
    assert clock.slept == [1.0, 1.0]


def test_the_interval_counts_from_when_a_slow_post_finished() -> None:
    clock = Clock()
    pacer = Pacer(1.0, sleep=clock.sleep, monotonic=clock)
    pacer.wait("C1")
    clock.now += 0.7  # the post takes 0.7 s to reach Slack and come back
    pacer.done("C1")
    pacer.wait("C1")
    assert clock.slept == [1.0]  # a full second after the first post arrived, not 0.3 s
    pacer.done("C1")
    clock.now += 5.0  # a quiet channel is not held back
    pacer.wait("C1")
    assert clock.slept == [1.0]


def test_concurrent_senders_on_one_channel_get_distinct_slots() -> None:
    slots: list[float] = []
    lock = threading.Lock()
    base = 1000.0

    def sleep(seconds: float) -> None:
        with lock:
            slots.append(base + seconds)

    pacer = Pacer(1.0, sleep=sleep, monotonic=lambda: base)
    threads = [threading.Thread(target=pacer.wait, args=("C1",)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slots) == [1001.0, 1002.0, 1003.0, 1004.0]
