"""A follower that keeps failing says so as an error once it has failed for a minute, and again
each further minute; single failures stay warnings (Keycloak restarts, a timeout)."""

from __future__ import annotations

import logging
import threading

import pytest

from facade.core.admin_event_follower import STALLED_AFTER, AdminEventFollower
from facade.core.errors import Unavailable


class FailingFollower(AdminEventFollower):
    """Every poll fails as an unreachable Keycloak does; stops itself after ``polls``."""

    def __init__(self, polls: int, stop: threading.Event) -> None:
        self.polls = polls
        self.stop = stop

    def poll(self) -> int:
        self.polls -= 1
        if self.polls <= 0:
            self.stop.set()
        raise Unavailable("keycloak", "read admin events: cannot reach keycloak")


def test_failing_polls_become_one_error_per_stalled_period(caplog: pytest.LogCaptureFixture):
    stop = threading.Event()
    ticks = iter(range(0, 10_000, 20))  # one poll every 20 s of the clock
    follower = FailingFollower(polls=10, stop=stop)  # polls at 0, 20, ..., 180 s
    with caplog.at_level(logging.WARNING, logger="facade.core.admin_event_follower"):
        follower.run(0, stop, clock=lambda: float(next(ticks)))
    levels = [record.levelname for record in caplog.records]
    assert STALLED_AFTER == 60
    # Failing since 0 s: errors at 60 s and 120 s and 180 s, warnings in between.
    assert levels == ["WARNING"] * 3 + ["ERROR", "WARNING", "WARNING"] * 2 + ["ERROR"]
    assert "not followed for 60 s" in caplog.records[3].getMessage()
