"""Each process mirrors the bearer check's Redis state; Redis's invalidations keep it current.

Two ``RedisRevocations`` on clients of their own stand for two facade processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from facade.adapters.redis_identity import RedisProfileCache, RedisRevocations
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_tracking import TrackedMirror, tracking_connection_factory
from facade.core.models import User
from tests import harness
from tests.integration.test_bearer_state import ALICE


class Process:
    """One facade process's view: its own Redis client, mirror, profile cache, revocations."""

    def __init__(
        self, url: str, keys: RedisKeys, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = redis.Redis.from_url(url)
        self.mirror = TrackedMirror(
            tracking_connection_factory(self.client),
            keys.bearer_state_prefixes(),
            drop_all_on=[keys.generation()],
            clock=clock,
        )
        self.cache = RedisProfileCache(self.client, keys, ttl_seconds=30, mirror=self.mirror)
        self.revocations = RedisRevocations(
            self.client, keys, profiles=self.cache, mirror=self.mirror
        )

    def state(self, session_id: str | None = "sid-1") -> tuple[bool, int, User | None]:
        return self.revocations.state_with_profile(session_id, ALICE.id)

    def close(self) -> None:
        self.mirror.close()
        self.client.close()


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(redis_prefix)


@pytest.fixture
def processes(
    redis_server: harness.RedisServer, keys: RedisKeys
) -> Iterator[Callable[..., Process]]:
    made: list[Process] = []

    def make(clock: Callable[[], float] = time.monotonic) -> Process:
        made.append(Process(redis_server.url, keys, clock))
        _serving(made[-1].mirror)
        return made[-1]

    yield make
    for process in made:
        process.close()


def reads(client: redis.Redis) -> Callable[[], int]:
    """MGETs Redis has served since this was made."""

    def mgets() -> int:
        return int(client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))

    before = mgets()
    return lambda: mgets() - before


def test_a_repeated_bearer_check_is_answered_from_the_mirror(processes, redis_client) -> None:
    a = processes()
    a.cache.put(ALICE)
    assert a.state() == (False, 0, ALICE)
    count = reads(redis_client)
    for _ in range(50):
        assert a.state() == (False, 0, ALICE)
    assert count() == 0


def test_a_logout_in_another_process_is_refused_at_the_next_check(processes) -> None:
    a, b = processes(), processes()
    a.cache.put(ALICE)
    assert a.state() == (False, 0, ALICE)
    b.revocations.revoke_session("sid-1", 60)
    assert a.state() == (True, 0, ALICE)
    b.revocations.set_not_before(ALICE.id, 1_700_000_000, 60)
    assert a.state() == (True, 1_700_000_000, ALICE)


def test_writes_by_anyone_reach_the_mirror_and_the_writers_own_mirror_at_once(
    processes, redis_client, keys
) -> None:
    a = processes()
    a.cache.put(ALICE)
    assert a.state() == (False, 0, ALICE)
    # An operator's or another deployment's write, straight to Redis.
    redis_client.set(keys.revoked_session("sid-1"), b"1")
    assert a.state()[0] is True
    redis_client.delete(keys.profile(ALICE.id))
    assert a.state() == (True, 0, None)
    # This process's own write is seen without waiting for Redis's push.
    assert a.state("sid-2") == (False, 0, None)
    a.revocations.revoke_session("sid-2", 60)
    assert a.mirror.lookup([keys.revoked_session("sid-2")]) is None
    assert a.state("sid-2")[0] is True


def test_a_profile_is_mirrored_no_longer_than_redis_keeps_it(processes, redis_client, keys) -> None:
    now = [1000.0]
    a = processes(clock=lambda: now[0])
    RedisProfileCache(redis_client, keys, ttl_seconds=5).put(ALICE)
    assert a.state() == (False, 0, ALICE)
    assert a.mirror.lookup([keys.profile(ALICE.id)]) is not None
    now[0] += 4.0  # still within the key's remaining time to live
    assert a.mirror.lookup([keys.profile(ALICE.id)]) is not None
    now[0] += 1.5  # past it, whether or not Redis has expired the key yet
    assert a.mirror.lookup([keys.profile(ALICE.id)]) is None
    # The revocation state, which lives until invalidated, is still mirrored.
    assert a.mirror.lookup([keys.not_before(ALICE.id)]) == [None]


def test_a_read_that_raced_a_write_is_not_kept(processes, redis_client, keys) -> None:
    a = processes()
    key = keys.revoked_session("sid-9")
    assert a.state("sid-9")[0] is False  # the tracking connection is up
    ticket = a.mirror.ticket()
    redis_client.set(key, b"1")  # lands after the (simulated) read answered "absent"
    _wait_for_push()
    a.mirror.remember(ticket, {key: (None, None)})
    assert a.mirror.lookup([key]) is None
    assert a.state("sid-9")[0] is True


def test_a_lost_tracking_connection_drops_the_mirror_until_it_is_back(
    processes, redis_client, keys
) -> None:
    a = processes()
    a.cache.put(ALICE)
    assert a.state() == (False, 0, ALICE)
    _kill_tracking_connections(redis_client)
    # Written while no invalidation could reach the process: it must read Redis again.
    redis_client.set(keys.revoked_session("sid-1"), b"1")
    assert a.state()[0] is True
    _serving(a.mirror)  # the maintainer reconnects within a second or so
    assert a.state()[0] is True
    count = reads(redis_client)
    assert a.state()[0] is True
    assert count() == 0


def test_a_replaced_generation_marker_or_a_flush_drops_everything(
    processes, redis_client, redis_server, keys
) -> None:
    a = processes()
    a.cache.put(ALICE)
    a.revocations.revoke_session("sid-1", 60)
    assert a.state() == (True, 0, ALICE)
    redis_client.set(keys.generation(), b"another")
    _wait_for_push()
    assert a.mirror.lookup([keys.revoked_session("sid-1")]) is None
    assert a.state() == (True, 0, ALICE)
    assert a.mirror.lookup([keys.revoked_session("sid-1")]) == [b"1"]
    # A flush (of any database: tracking does not tell them apart) says "every key".
    spare = redis.Redis(port=redis_server.port, db=9)
    spare.flushdb()
    spare.close()
    _wait_for_push()
    assert a.mirror.lookup([keys.revoked_session("sid-1")]) is None
    assert a.state() == (True, 0, ALICE)


def test_the_mirror_stays_off_while_tracking_is_refused(redis_server, keys, redis_prefix) -> None:
    admin = redis.Redis.from_url(redis_server.url)
    user = f"{redis_prefix}limited"
    # An ACL user who may read and write but not turn tracking on.
    admin.acl_setuser(
        user, enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-client"]
    )
    try:
        host, port = admin.connection_pool.connection_kwargs["host"], redis_server.port
        client = redis.Redis(host=host, port=port, username=user, password="pw")
        mirror = TrackedMirror(tracking_connection_factory(client), keys.bearer_state_prefixes())
        revocations = RedisRevocations(client, keys, mirror=mirror)
        assert not mirror.serving
        time.sleep(0.3)  # the maintainer has tried and been refused
        count = reads(admin)
        assert revocations.state("sid-1", ALICE.id) == (False, 0)
        assert revocations.state("sid-1", ALICE.id) == (False, 0)
        assert count() == 2
        assert not mirror.serving
        mirror.close()
        client.close()
    finally:
        admin.acl_deluser(user)
        admin.close()


def _serving(mirror: TrackedMirror, within: float = 5.0) -> None:
    """Until the mirror's maintainer thread (started by the first use) has connected."""
    deadline = time.monotonic() + within
    while not mirror.serving:
        assert time.monotonic() < deadline, "the tracking connection never came up"
        time.sleep(0.01)


def _wait_for_push() -> None:
    """Redis sends invalidations asynchronously to the writer's reply: give loopback a moment."""
    time.sleep(0.05)


def _kill_tracking_connections(client: redis.Redis) -> None:
    for entry in client.client_list():
        if "t" in entry.get("flags", ""):
            client.client_kill_filter(_id=entry["id"])
