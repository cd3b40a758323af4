"""Noticing that Redis lost data, so that the loss resurrects nothing.

Redis holds what may be lost (revocations, codes), but losing a logout must not revive its
tokens and losing a spent code must not make it usable again. Redis carries a *generation*
marker (a random id) and an *epoch* counter that every revocation and every spent code raises.
Each process remembers both, and so does the durable identity store. Redis lost data when the
marker is missing or replaced (a flush, a fresh instance) or the epoch went back (a restore
from an older snapshot, the AOF ``everysec`` window, a failover to a replica that lagged).

On a loss the time is recorded durably and the marker is replaced, so that every process learns
it: until ``lost_at`` plus the revocation TTL, tokens issued before the loss are checked against
Keycloak's sessions (logout and password reset end those), and codes issued before it are refused.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from facade.core.identities import RedisState

log = logging.getLogger(__name__)


class GenerationMarker(Protocol):
    """The marker and epoch in Redis."""

    def read(self) -> tuple[str | None, int]: ...

    def replace(self, expected: str | None, new: str) -> str:
        """Set the marker to ``new`` if it is still ``expected`` (None: absent); the marker
        that holds afterwards."""
        ...

    def raise_epoch(self, at_least: int) -> None: ...


class DurableRedisState(Protocol):
    """What the identity store remembers of Redis."""

    def redis_state(self) -> RedisState: ...

    def record_redis_state(
        self, generation: str, epoch: int, lost_at: float | None = None
    ) -> RedisState: ...

    def raise_epoch(self, epoch: int) -> None: ...


class RedisLossWatch:
    """One per process: the generation and the highest epoch it has seen, and ``lost_at``."""

    def __init__(
        self,
        marker: GenerationMarker,
        durable: DurableRedisState,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._marker = marker
        self._durable = durable
        self._clock = clock
        self._new_id = new_id
        self._lock = threading.Lock()
        self._durable_lock = threading.Lock()
        self._epoch_lock = threading.Lock()
        #: The highest epoch this process has recorded durably itself.
        self._durable_epoch = 0
        self._known: str | None = None
        self._epoch = 0
        self._lost_at: float | None = None

    def floor(self) -> tuple[str, int]:
        """The generation and epoch any read issued from now on must at least show."""
        if self._known is None:
            # The durable state first: an epoch another process raises (and records) between
            # the two reads must not look like Redis going back.
            durable = self._durable.redis_state()
            generation, epoch = self._marker.read()
            with self._lock:
                self._reconcile(generation, epoch, max(self._epoch, durable.epoch), durable)
        assert self._known is not None
        return self._known, self._epoch

    def check(self) -> None:
        """Look at Redis now (before writing something that must not predate a loss)."""
        floor = self.floor()[1]
        generation, epoch = self._marker.read()
        self.observe(generation, epoch, floor)

    def observe(self, generation: str | None, epoch: int, floor: int) -> None:
        """What a read issued after :meth:`floor` saw of the marker and the epoch."""
        if generation is not None and generation == self._known and epoch >= floor:
            if epoch > self._epoch:
                self._epoch = epoch
            return
        with self._lock:
            self._reconcile(generation, epoch, floor)

    def bumped(self, epoch: int) -> None:
        """This process raised the epoch (a revocation, a spent code): remember it durably
        before the caller answers, so a process that starts after a restore still sees the
        epoch go back.

        Concurrent callers share durable writes (a group commit): one writes at a time, the
        highest epoch this process has seen Redis reach; a caller that waited for it returns
        without a write of its own when that covered its epoch. Every caller still returns
        only once a durable epoch at least as high as its own is recorded.
        """
        with self._epoch_lock:  # the write below must see every queued caller's epoch
            if epoch > self._epoch:
                self._epoch = epoch
        with self._durable_lock:
            if self._durable_epoch >= epoch:
                return
            highest = max(self._epoch, epoch)  # only epochs Redis has reached
            self._durable.raise_epoch(highest)
            self._durable_epoch = highest

    def lost_at(self) -> float | None:
        return self._lost_at

    def _reconcile(
        self,
        generation: str | None,
        epoch: int,
        floor: int,
        durable: RedisState | None = None,
    ) -> None:
        """``floor`` is what the read must show at least: known before the read was issued.

        Only it judges the epoch. A durable epoch or this process's own epoch read after the
        Redis read may include raises that happened after it, which are no loss.
        """
        durable = durable or self._durable.redis_state()
        remembered = self._known or durable.generation
        highest = max(self._epoch, durable.epoch, floor)
        if generation is not None and generation == durable.generation != self._known:
            # Another process already recorded this generation (and any loss it noticed).
            lost = epoch < floor
        else:
            lost = remembered is not None and generation != remembered
            lost = lost or epoch < floor
        if lost or generation is None:
            generation = self._marker.replace(generation, self._new_id())
            self._marker.raise_epoch(highest)
        state = self._durable.record_redis_state(
            generation, highest, self._clock() if lost else None
        )
        if lost:
            log.error(
                "redis lost data (generation %s, epoch %d < %d): tokens issued before now are "
                "checked against keycloak, codes issued before now are refused",
                generation,
                epoch,
                floor,
            )
        self._known = generation
        self._epoch = max(highest, epoch)
        self._lost_at = state.lost_at
