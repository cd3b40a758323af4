"""The Redis adapters of the identity core, on the real Redis."""

from __future__ import annotations

from facade.adapters.redis_identity import RedisUidCounter, RedisUniqueClaims
from facade.adapters.redis_keys import RedisKeys


def test_uid_counter_reports_loss_then_seeds_from_zero_on_an_empty_realm(
    redis_client, redis_prefix
):
    counter = RedisUidCounter(redis_client, RedisKeys(redis_prefix))
    assert counter.next() is None
    counter.seed(0)
    assert counter.next() == 1
    assert counter.next() == 2


def test_uid_counter_seed_never_lowers_it(redis_client, redis_prefix):
    counter = RedisUidCounter(redis_client, RedisKeys(redis_prefix))
    counter.seed(41)
    assert counter.next() == 42
    counter.seed(10)
    assert counter.next() == 43


def test_claims_are_exclusive_and_released_only_by_their_owner(redis_client, redis_prefix):
    claims = RedisUniqueClaims(redis_client, RedisKeys(redis_prefix))
    assert claims.acquire(["phone:1", "phone:2"], "a", wait_seconds=0)
    assert not claims.acquire(["phone:2"], "b", wait_seconds=0.05)
    claims.release(["phone:1", "phone:2"], "b")  # not b's: nothing happens
    assert not claims.acquire(["phone:1"], "b", wait_seconds=0)
    claims.release(["phone:1", "phone:2"], "a")
    assert claims.acquire(["phone:2", "phone:1"], "b", wait_seconds=0)
