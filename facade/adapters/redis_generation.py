"""The generation marker and epoch counter in Redis (see :mod:`facade.core.generations`)."""

from __future__ import annotations

import redis

from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_store import redis_errors

# KEYS: marker. ARGV: expected ('' = absent), new. Returns the marker that holds afterwards.
_REPLACE = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return current
"""
# KEYS: epoch. ARGV: at least. Never lowers it.
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisGenerationMarker:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self.keys = (keys.generation(), keys.epoch())
        self._redis = client
        self._replace = client.register_script(_REPLACE)
        self._raise = client.register_script(_RAISE)

    def read(self) -> tuple[str | None, int]:
        with redis_errors("generation"):
            generation, epoch = self._redis.mget(*self.keys)
        return text(generation), int(epoch or 0)

    def replace(self, expected: str | None, new: str) -> str:
        with redis_errors("generation"):
            holding = self._replace(keys=[self.keys[0]], args=[expected or "", new])
        return text(holding) or new

    def raise_epoch(self, at_least: int) -> None:
        with redis_errors("generation"):
            self._raise(keys=[self.keys[1]], args=[at_least])
