"""Retry policy: wait within the horizon, give up beyond it or on the last delivery."""

from __future__ import annotations

from services.orchestrator.retry import RetryPolicy

POLICY = RetryPolicy(horizon_seconds=300, delays_seconds=(1, 2, 5, 30), max_deliver=50)


def test_delays_grow_then_repeat_the_last() -> None:
    assert [POLICY.next_delay(n, 0) for n in (1, 2, 3, 4, 9)] == [1, 2, 5, 30, 30]


def test_never_waits_past_the_horizon() -> None:
    assert POLICY.next_delay(9, 290) == 10


def test_gives_up_at_the_horizon() -> None:
    assert POLICY.next_delay(2, 300) is None
    assert POLICY.next_delay(2, 301) is None


def test_gives_up_on_the_last_delivery_even_within_the_horizon() -> None:
    assert POLICY.next_delay(50, 10) is None
