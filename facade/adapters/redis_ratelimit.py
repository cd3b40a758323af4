"""Rate limits in Redis: a sliding-window log per rule, checked and counted in one Lua script.

Why a sliding log rather than a fixed window: a fixed "1 per minute" lets two hits through a
second apart across a window boundary, and a fixed "10 per day" lets 20 through around
midnight; member.md's limits are read by its clients as "any minute", "any day". The log keeps
one sorted-set entry per counted hit (the limits here are small, so the memory is too) and
answers exactly when the oldest counted hit leaves the window, which is the ``Retry-After``.

Time comes from Redis (``TIME``) inside the script, so facade processes with skewed clocks still
share one timeline. All rules of a group are checked before any is counted: a refused hit counts
nowhere, and a passing one counts everywhere. (On a Redis Cluster, rules on different subjects,
an IP and a target, live in different slots: their scripts run one after the other and a refusal
takes back what the earlier ones counted.)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

import redis

from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_store import is_cluster, redis_errors
from facade.core.errors import RateLimited
from facade.core.limits import RateRule, rules_for

# KEYS: one log per rule. ARGV: token, then window ms and limit per rule.
# Returns {0, 0} when counted, else {milliseconds to wait, index of the rule that waits longest}.
_HIT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i])
  local limit = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ms - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local left = tonumber(oldest[2]) + window - ms
    if left > wait then wait, worst = left, i end
  end
end
if wait > 0 then return {wait, worst} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ms, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2 * i])
end
return {0, 0}
"""


class RedisRateLimiter:
    """:class:`facade.core.limits.RateLimiter` over rules keyed ``"<contract>.<group>"``."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        rules: Mapping[str, tuple[RateRule, ...]],
        new_token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._keys = keys
        self._rules = rules
        self._new_token = new_token
        self._client = client
        self._cluster = is_cluster(client)
        self._hit = client.register_script(_HIT)

    def hit(self, group: str, *, ip: str | None = None, target: str | None = None) -> None:
        """Count one hit, or raise RateLimited(seconds, ``"<group>:<rule>"``) counting none.

        A rule whose subject is not given (no IP, no target) does not apply to this hit.
        """
        applicable: list[tuple[RateRule, str]] = []
        for rule in rules_for(self._rules, group):
            subject = {"ip": ip, "target": target}.get(rule.scope)
            if rule.scope == "ip+target":
                subject = f"{ip}|{target}" if ip and target else None
            if subject:
                applicable.append((rule, subject))
        if not applicable:
            return
        token = self._new_token()
        # One script per hash slot: on a Cluster each subject's logs share one (RedisKeys).
        batches: dict[str, list[tuple[RateRule, str]]] = {}
        for rule, subject in applicable:
            batches.setdefault(subject if self._cluster else "", []).append((rule, subject))
        counted: list[str] = []
        for batch in batches.values():
            keys = [
                self._keys.rate(group, f"{rule.scope}:{rule.window}", subject)
                for rule, subject in batch
            ]
            args: list[str | int] = [token]
            for rule, _ in batch:
                args.extend((rule.window * 1000, rule.limit))
            with redis_errors("rate limit"):
                wait, worst = self._hit(keys=keys, args=args)
            if int(wait) > 0:
                self._uncount(counted, token)
                rule = batch[int(worst) - 1][0]
                raise RateLimited(-(-int(wait) // 1000), f"{group}:{rule}")
            counted.extend(keys)

    def _uncount(self, keys: list[str], token: str) -> None:
        """A hit refused by a later slot's rules counts nowhere: take back the earlier slots'
        entries (until then a concurrent hit may see one count too many, never one too few)."""
        if not keys:
            return
        with redis_errors("rate limit"):
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, token)
            pipe.execute()
