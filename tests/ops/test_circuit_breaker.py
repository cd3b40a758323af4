"""The Keycloak circuit breaker's states, on a hand-driven clock."""

from __future__ import annotations

import pytest

from facade.adapters.keycloak import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_failures_open_it_and_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker("test", failures=3, reset_timeout=10, clock=Clock())
    breaker.failed()
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    breaker.failed()
    breaker.before_call()  # two in a row since the success: still closed
    breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_after_the_reset_timeout_one_trial_passes_and_others_still_fail_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("test", failures=1, reset_timeout=10, clock=clock)
    breaker.failed()
    clock.now += 9.9
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 0.2
    breaker.before_call()  # the trial
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # while the trial runs
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.before_call()


def test_a_failed_trial_opens_it_for_another_full_timeout() -> None:
    clock = Clock()
    breaker = CircuitBreaker("test", failures=2, reset_timeout=10, clock=clock)
    breaker.failed()
    breaker.failed()
    clock.now += 10
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    clock.now += 9
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    breaker.before_call()
