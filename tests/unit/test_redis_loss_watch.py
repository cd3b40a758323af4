"""The Redis loss watch tells a real loss from another process raising the epoch meanwhile."""

from __future__ import annotations

import threading
import time

from facade.core.generations import RedisLossWatch
from facade.core.identities import RedisState


class Durable:
    def __init__(self, generation: str | None, epoch: int) -> None:
        self.state = RedisState(generation, epoch)

    def redis_state(self) -> RedisState:
        return self.state

    def record_redis_state(self, generation, epoch, lost_at=None) -> RedisState:
        lost = lost_at if lost_at is not None else self.state.lost_at
        self.state = RedisState(generation, max(epoch, self.state.epoch), lost)
        return self.state

    def raise_epoch(self, epoch: int) -> None:
        self.state = RedisState(self.state.generation, max(epoch, self.state.epoch))


class Marker:
    """Redis as seen by one read; ``during_read`` runs as another process acting meanwhile."""

    def __init__(self, generation: str | None, epoch: int, during_read=None) -> None:
        self.generation, self.epoch, self.during_read = generation, epoch, during_read

    def read(self):
        seen = (self.generation, self.epoch)
        if self.during_read:
            self.during_read()
        return seen

    def replace(self, expected, new):
        if self.generation == expected:
            self.generation = new
        return self.generation

    def raise_epoch(self, at_least: int) -> None:
        self.epoch = max(self.epoch, at_least)


def test_a_raise_by_another_process_during_the_first_read_is_no_loss():
    durable = Durable("g1", 10)

    def other_process_logs_out() -> None:  # after our read: Redis to 11, recorded durably
        marker.epoch = 11
        durable.raise_epoch(11)

    marker = Marker("g1", 10, other_process_logs_out)
    watch = RedisLossWatch(marker, durable)
    assert watch.floor() == ("g1", 10)
    assert watch.lost_at() is None


def test_an_epoch_that_went_back_is_a_loss():
    durable = Durable("g1", 10)
    marker = Marker("g1", 7)  # restored from an older snapshot
    watch = RedisLossWatch(marker, durable, clock=lambda: 1234.0)
    generation, _ = watch.floor()
    assert watch.lost_at() == 1234.0
    assert generation != "g1"  # a new generation tells every other process at once


def test_a_replaced_marker_is_a_loss_for_a_process_that_knew_the_old_one():
    durable = Durable("g1", 10)
    marker = Marker("g1", 10)
    watch = RedisLossWatch(marker, durable, clock=lambda: 99.0)
    floor = watch.floor()[1]
    marker.generation, marker.epoch = None, 0  # flushed
    watch.observe(None, 0, floor)
    assert watch.lost_at() == 99.0


class SlowDurable(Durable):
    """The first durable write waits for ``release``; every write is recorded."""

    def __init__(self) -> None:
        super().__init__("g1", 0)
        self.writes: list[int] = []
        self.writing = threading.Event()
        self.release = threading.Event()

    def raise_epoch(self, epoch: int) -> None:
        self.writing.set()
        self.release.wait(5)
        self.writes.append(epoch)
        super().raise_epoch(epoch)


def test_concurrent_spends_share_one_durable_write_and_each_returns_once_it_is_durable():
    durable = SlowDurable()
    watch = RedisLossWatch(Marker("g1", 0), durable)
    returned: dict[int, int] = {}

    def spend(epoch: int) -> None:
        watch.bumped(epoch)
        returned[epoch] = durable.state.epoch  # what was durable when the caller went on

    first = threading.Thread(target=spend, args=(5,))
    first.start()
    assert durable.writing.wait(5)
    queued = [threading.Thread(target=spend, args=(epoch,)) for epoch in (6, 7, 8)]
    for thread in queued:
        thread.start()
    while watch._epoch < 8:  # all three have seen their epoch and wait for the write
        time.sleep(0.001)
    durable.release.set()
    for thread in (first, *queued):
        thread.join(5)
    assert durable.writes == [5, 8]
    assert all(returned[epoch] >= epoch for epoch in (5, 6, 7, 8))
    watch.bumped(7)  # an epoch already durable: no write
    assert durable.writes == [5, 8]
