"""The Redis rate limiter: sliding windows per IP, target or pair, across processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_ratelimit import RedisRateLimiter
from facade.core.errors import RateLimited, Unavailable
from facade.core.limits import RateRule, parse_rate_rules
from facade.settings_codes import default_rate_limits
from facade.stack.processes import free_port


def limiter(client: redis.Redis, prefix: str, **rules: str) -> RedisRateLimiter:
    return RedisRateLimiter(
        client,
        RedisKeys(prefix),
        {group.replace("__", "."): parse_rate_rules(spec) for group, spec in rules.items()},
    )


def passes(limit: RedisRateLimiter, group: str, **subject: str | None) -> bool:
    try:
        limit.hit(group, **subject)
        return True
    except RateLimited:
        return False


def test_a_rule_lets_its_limit_through_then_answers_with_the_wait(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, member__login="ip:3/minute")
    for _ in range(3):
        limit.hit("member.login", ip="10.0.0.1")
    with pytest.raises(RateLimited) as limited:
        limit.hit("member.login", ip="10.0.0.1")
    assert 1 <= limited.value.retry_after <= 60
    assert limited.value.rule == "member.login:ip:3/60s"
    limit.hit("member.login", ip="10.0.0.2")


def test_member_defaults_one_send_per_minute_per_ip_and_ten_a_day_per_phone(
    redis_client, redis_prefix
):
    limit = RedisRateLimiter(redis_client, RedisKeys(redis_prefix), default_rate_limits())
    limit.hit("member.send_code", ip="10.0.0.1", target="13800138000")
    assert not passes(limit, "member.send_code", ip="10.0.0.1", target="13900139000")
    for n in range(2, 11):
        limit.hit("member.send_code", ip=f"10.0.1.{n}", target="13800138000")
    with pytest.raises(RateLimited) as limited:
        limit.hit("member.send_code", ip="10.0.2.1", target="13800138000")
    assert limited.value.rule == "member.send_code:target:10/86400s"


def test_member_login_allows_ten_a_minute_per_ip(redis_client, redis_prefix):
    limit = RedisRateLimiter(redis_client, RedisKeys(redis_prefix), default_rate_limits())
    results = Counter(passes(limit, "member.login", ip="10.9.9.9") for _ in range(12))
    assert results == Counter({True: 10, False: 2})


def test_a_refused_hit_counts_nowhere(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, send_code="ip:2/minute,target:1/minute")
    limit.hit("vcode.send_code", ip="10.0.0.1", target="13800138000")
    # refused by the target rule: the IP rule must not count it
    assert not passes(limit, "vcode.send_code", ip="10.0.0.1", target="13800138000")
    limit.hit("vcode.send_code", ip="10.0.0.1", target="13900139000")


def test_the_pair_scope_counts_ip_and_target_together(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, login="ip+target:1/minute")
    limit.hit("account.login", ip="10.0.0.1", target="alice")
    assert not passes(limit, "account.login", ip="10.0.0.1", target="alice")
    limit.hit("account.login", ip="10.0.0.1", target="bob")
    limit.hit("account.login", ip="10.0.0.2", target="alice")


def test_a_rule_without_its_subject_does_not_apply(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, login="ip:1/minute")
    for _ in range(3):
        limit.hit("vcode.login", ip=None)


def test_contract_rules_override_the_group_default(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, login="ip:1/minute", member__login="ip:2/minute")
    assert [passes(limit, "member.login", ip="10.0.0.1") for _ in range(3)] == [True, True, False]
    assert [passes(limit, "vcode.login", ip="10.0.0.1") for _ in range(2)] == [True, False]
    for _ in range(5):
        limit.hit("vcode.unknown_group", ip="10.0.0.1")


def test_the_window_slides_instead_of_resetting(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, login="ip:2/2s")
    limit.hit("vcode.login", ip="10.0.0.1")
    time.sleep(1.0)
    limit.hit("vcode.login", ip="10.0.0.1")
    assert not passes(limit, "vcode.login", ip="10.0.0.1")
    time.sleep(1.1)  # only the first hit has left the window
    limit.hit("vcode.login", ip="10.0.0.1")
    assert not passes(limit, "vcode.login", ip="10.0.0.1")


def test_concurrent_hits_pass_exactly_the_limit(redis_client, redis_prefix):
    limit = limiter(redis_client, redis_prefix, login="ip:7/minute")
    barrier = threading.Barrier(30)

    def hit(_: int) -> bool:
        barrier.wait()
        return passes(limit, "vcode.login", ip="10.0.0.1")

    with ThreadPoolExecutor(max_workers=30) as pool:
        assert Counter(pool.map(hit, range(30))) == Counter({True: 7, False: 23})


def hammer(url: str, prefix: str, start: multiprocessing.synchronize.Event, hits: int) -> int:
    """In a process of its own, like a second facade: count the hits that pass."""
    client = redis.Redis.from_url(url)
    limit = RedisRateLimiter(client, RedisKeys(prefix), {"login": (RateRule("ip", 10, 60),)})
    start.wait()
    return sum(passes(limit, "vcode.login", ip="10.0.0.1") for _ in range(hits))


def test_limits_hold_across_processes_sharing_one_redis(redis_server, redis_prefix):
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Event()
    with context.Pool(4) as pool:
        results = [
            pool.apply_async(hammer, (redis_server.url, redis_prefix, start, 10)) for _ in range(4)
        ]
        start.set()
        assert sum(result.get(timeout=60) for result in results) == 10


def test_redis_out_of_reach_is_unavailable(redis_prefix):
    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    with pytest.raises(Unavailable):
        limiter(client, redis_prefix, login="ip:1/minute").hit("vcode.login", ip="10.0.0.1")
