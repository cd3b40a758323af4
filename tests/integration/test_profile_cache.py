"""The profile cache on a real Redis: a change drops the user everywhere, and a read that began
before the change cannot put the old user back (the race a long TTL would otherwise keep)."""

from __future__ import annotations

import dataclasses
import time

import pytest
import redis

from facade.adapters.redis_identity import RedisProfileCache, RedisRevocations
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_tracking import TrackedMirror, tracking_connection_factory
from tests.integration.test_bearer_state import ALICE

RENAMED = dataclasses.replace(ALICE, attributes={**ALICE.attributes, "nickname": "new"})


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(redis_prefix)


@pytest.fixture
def cache(redis_client: redis.Redis, keys: RedisKeys) -> RedisProfileCache:
    return RedisProfileCache(redis_client, keys, ttl_seconds=60, hold_seconds=0.5)


def test_a_user_read_before_a_change_is_not_cached_after_it(cache) -> None:
    cache.put(ALICE)
    read_before_the_change = ALICE
    cache.drop(ALICE.id)  # the change
    cache.put(read_before_the_change)  # the slow reader's put lands late
    assert cache.get(ALICE.id) is None
    time.sleep(0.6)  # longer than any read can take: reads now are after the change
    cache.put(RENAMED)
    assert cache.get(ALICE.id) == RENAMED


def test_a_user_read_is_cached_over_an_older_one_and_the_facades_own_write_over_a_change(
    cache,
) -> None:
    cache.put(ALICE)
    cache.put(RENAMED)  # no change between: the newer read wins
    assert cache.get(ALICE.id) == RENAMED
    cache.drop(ALICE.id)
    cache.replace(ALICE)  # what the facade itself just wrote
    assert cache.get(ALICE.id) == ALICE


def test_the_ttl_still_bounds_a_cached_user(redis_client, keys) -> None:
    short = RedisProfileCache(redis_client, keys, ttl_seconds=0.3, hold_seconds=0.3)
    short.put(ALICE)
    assert short.get(ALICE.id) == ALICE
    time.sleep(0.4)
    assert short.get(ALICE.id) is None


def test_a_bearer_check_sees_a_change_as_a_miss_through_the_mirror(redis_client, keys) -> None:
    mirror = TrackedMirror(tracking_connection_factory(redis_client), keys.bearer_state_prefixes())
    try:
        cache = RedisProfileCache(redis_client, keys, ttl_seconds=60, mirror=mirror)
        revocations = RedisRevocations(redis_client, keys, profiles=cache, mirror=mirror)
        cache.put(ALICE)
        deadline = time.monotonic() + 5
        while not mirror.serving and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mirror.serving
        assert revocations.state_with_profile("sid", ALICE.id)[2] == ALICE
        assert revocations.state_with_profile("sid", ALICE.id)[2] == ALICE  # from the mirror
        # Another process (the follower) drops the user: Redis pushes the change here.
        RedisProfileCache(redis_client, keys, ttl_seconds=60).drop(ALICE.id)
        assert revocations.state_with_profile("sid", ALICE.id)[2] is None
        assert revocations.state_with_profile("sid", ALICE.id)[2] is None  # mirrored as a miss
    finally:
        mirror.close()
