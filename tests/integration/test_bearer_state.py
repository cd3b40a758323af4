"""A bearer check's Redis read: revocation state and cached profile in one round trip."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from facade.adapters.redis_identity import RedisProfileCache, RedisRevocations
from facade.adapters.redis_keys import RedisKeys
from facade.core.models import User

ALICE = User(
    id="u-alice",
    username="alice",
    email=None,
    email_verified=False,
    enabled=True,
    created_at_ms=1,
    attributes={"phone_number": "13800138000"},
)


#: What other clients of the test's Redis send on their own schedule: the local mirrors' liveness
#: probes (``HELLO 3`` every second) and connection health checks. The code measured here sends
#: neither.
BACKGROUND = frozenset({"hello", "ping"})


def command_calls(client: redis.Redis) -> Callable[[], dict[str, int]]:
    """Calls per command since this was made, the background's aside (the test's Redis is
    shared with the mirrors of services other tests built, which keep probing it)."""

    def counts() -> dict[str, int]:
        stats = client.info("commandstats")
        return {
            name.removeprefix("cmdstat_"): int(stat["calls"])
            for name, stat in stats.items()
            if name.removeprefix("cmdstat_") not in BACKGROUND
        }

    before = counts()
    return lambda: {
        name: calls - before.get(name, 0)
        for name, calls in counts().items()
        if calls != before.get(name, 0)
    }


@pytest.fixture
def stores(
    redis_client: redis.Redis, redis_prefix: str
) -> tuple[RedisProfileCache, RedisRevocations]:
    keys = RedisKeys(redis_prefix)
    cache = RedisProfileCache(redis_client, keys, ttl_seconds=5)
    return cache, RedisRevocations(redis_client, keys, profiles=cache)


def test_the_cached_profile_comes_with_the_revocation_state_in_one_command(
    stores, redis_client
) -> None:
    cache, revocations = stores
    cache.put(ALICE)
    calls = command_calls(redis_client)
    assert revocations.state_with_profile("sid-1", ALICE.id) == (False, 0, ALICE)
    assert calls() == {"mget": 1, "info": 1}


def test_a_revoked_session_and_a_not_before_time_are_read_beside_a_cached_profile(
    stores,
) -> None:
    cache, revocations = stores
    cache.put(ALICE)
    revocations.revoke_session("sid-1", 60)
    revocations.set_not_before(ALICE.id, 1_700_000_000, 60)
    assert revocations.state_with_profile("sid-1", ALICE.id) == (True, 1_700_000_000, ALICE)
    assert revocations.state_with_profile("sid-2", ALICE.id) == (False, 1_700_000_000, ALICE)
    assert revocations.state_with_profile(None, ALICE.id) == (False, 1_700_000_000, ALICE)


def test_an_uncached_user_reads_as_none_and_a_disabled_cache_is_not_read(
    redis_client, redis_prefix
) -> None:
    keys = RedisKeys(redis_prefix)
    live = RedisRevocations(
        redis_client, keys, profiles=RedisProfileCache(redis_client, keys, ttl_seconds=5)
    )
    assert live.state_with_profile("sid-1", ALICE.id) == (False, 0, None)
    # A profile someone else stored is ignored when this process caches nothing.
    RedisProfileCache(redis_client, keys, ttl_seconds=5).put(ALICE)
    off = RedisRevocations(
        redis_client, keys, profiles=RedisProfileCache(redis_client, keys, ttl_seconds=0)
    )
    assert off.state_with_profile("sid-1", ALICE.id) == (False, 0, None)
