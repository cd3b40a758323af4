"""Verification codes in Redis: every read-modify-write is one Lua script, hence atomic.

A code is a hash ``{h: HMAC, t: tries, m: max tries}`` with the policy's TTL. A burned code
(tries used up) stays until its TTL so that later checks say ``too_many_tries`` rather than
``expired``. The resend interval is a key held for the interval (a true "since the last send",
which a fixed window would not give); the daily cap is a counter that expires at the next
midnight in China Standard Time, the day users and SMS providers count in. Both are scoped to
(contract, target) across purposes, so switching purpose does not bypass them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis

from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_store import is_cluster, redis_errors
from facade.core.codes import CheckResult, CodeScope, Reservation
from facade.core.errors import RateLimited, Unavailable
from facade.core.generations import RedisLossWatch
from facade.core.limits import CodePolicy

#: UTC+8, no daylight saving: the calendar day of the daily cap.
DAY_UTC_OFFSET_SECONDS = 8 * 3600

# KEYS: resend marker, daily counter. ARGV: interval ms, daily cap, utc offset s, token.
# Returns {"ok", 0} or {rule, milliseconds to wait}.
_RESERVE = """
local wait = redis.call('PTTL', KEYS[1])
if wait > 0 then return {'resend_interval', wait} end
local now = redis.call('TIME')
local offset = tonumber(ARGV[3])
local midnight = (math.floor((tonumber(now[1]) + offset) / 86400) + 1) * 86400 - offset
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[2]) then
  return {'daily_cap', (midnight - tonumber(now[1])) * 1000 - math.floor(tonumber(now[2]) / 1000)}
end
if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[1]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('EXPIREAT', KEYS[2], midnight) end
return {'ok', 0}
"""

# KEYS: resend marker, daily counter. ARGV: the reservation's token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""

# KEYS: code records in order of preference, then (except on a Cluster, where they live in
# another slot) the generation marker and the epoch. ARGV: the submitted code's HMAC for each
# record, then the generation and epoch this process knows ('' = no loss watch), the time before
# which codes are refused (a Redis loss), and '1' to leave a match in place (spent later by
# _SPEND). Returns {outcome, generation, epoch}; 'stale' when Redis is not what the process
# knew, 'matched' for a match left in place.
_CHECK = """
local n = #ARGV - 4
local watched = #KEYS == n + 2
local generation, epoch = '', 0
if watched then
  generation = redis.call('GET', KEYS[n + 1]) or ''
  epoch = tonumber(redis.call('GET', KEYS[n + 2]) or '0')
  if ARGV[n + 1] ~= '' and (generation ~= ARGV[n + 1] or epoch < tonumber(ARGV[n + 2])) then
    return {'stale', generation, epoch}
  end
end
local burned = false
for i = 1, n do
  local key = KEYS[i]
  local record = redis.call('HMGET', key, 'h', 't', 'm', 'i')
  if record[1] and tonumber(record[4] or '0') < tonumber(ARGV[n + 3]) then
    redis.call('DEL', key)  -- issued before Redis lost data: it may be a spent code revived
    record[1] = false
  end
  if record[1] then
    local tries = tonumber(record[2] or '0')
    local most = tonumber(record[3] or '1')
    if tries < most then
      if record[1] == ARGV[i] then
        if ARGV[n + 4] == '1' then return {'matched', generation, epoch} end
        redis.call('DEL', key)
        if watched then return {'ok', generation, redis.call('INCR', KEYS[n + 2])} end
        return {'ok', generation, epoch}
      end
      if redis.call('HINCRBY', key, 't', 1) >= most then
        return {'too_many_tries', generation, epoch}
      end
      return {'wrong', generation, epoch}
    end
    burned = true
  end
end
if burned then return {'too_many_tries', generation, epoch} end
return {'expired', generation, epoch}
"""

# KEYS: code records, then (ARGV[#ARGV] == '1') the epoch. ARGV: the HMAC each record must
# still hold. Deletes the first live record that does; returns the epoch after it (0 without
# the epoch key), or -1 when none does (spent by a concurrent sign-in, replaced, burned).
_SPEND = """
local watched = ARGV[#ARGV] == '1'
local n = #ARGV - 1
for i = 1, n do
  local record = redis.call('HMGET', KEYS[i], 'h', 't', 'm')
  if record[1] == ARGV[i] and tonumber(record[2] or '0') < tonumber(record[3] or '1') then
    redis.call('DEL', KEYS[i])
    if watched then return redis.call('INCR', KEYS[n + 1]) end
    return 0
  end
end
return -1
"""


def _seconds(milliseconds: int) -> int:
    return max(1, -(-int(milliseconds) // 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisCodeStore:
    """:class:`facade.core.codes.CodeStore` on one Redis shared by every facade process."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        watch: RedisLossWatch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._keys = keys
        self._watch = watch
        self._clock = clock
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._check = client.register_script(_CHECK)
        self._spend = client.register_script(_SPEND)
        self._cluster = is_cluster(client)

    def reserve(self, contract: str, target: str, policy: CodePolicy, token: str) -> Reservation:
        keys = [self._keys.code_resend(contract, target), self._keys.code_daily(contract, target)]
        args: list[str | int] = [
            policy.resend_interval * 1000,
            policy.daily_cap,
            DAY_UTC_OFFSET_SECONDS,
            token,
        ]
        with redis_errors("reserve code"):
            rule, wait = self._reserve(keys=keys, args=args)
        if _text(rule) != "ok":
            raise RateLimited(_seconds(wait), _text(rule))
        return Reservation(contract, target, token)

    def release(self, reservation: Reservation) -> None:
        keys = [
            self._keys.code_resend(reservation.contract, reservation.target),
            self._keys.code_daily(reservation.contract, reservation.target),
        ]
        with redis_errors("release code"):
            self._release(keys=keys, args=[reservation.token])

    def save(self, scope: CodeScope, code_hash: str, policy: CodePolicy) -> None:
        key = self._keys.code(scope.contract, scope.purpose, scope.target)
        if self._watch is not None:
            self._watch.check()  # a loss noticed later would refuse this code as older
        with redis_errors("save code"):
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(key)
            issued = f"{self._clock():.3f}"  # codes issued before a Redis loss are refused
            pipe.hset(key, mapping={"h": code_hash, "t": 0, "m": policy.max_tries, "i": issued})
            pipe.expire(key, policy.ttl)
            pipe.execute()

    def check(
        self,
        scopes: Sequence[CodeScope],
        code_hashes: Sequence[str],
        keep: bool = False,
    ) -> CheckResult:
        keys = [self._keys.code(s.contract, s.purpose, s.target) for s in scopes]
        if not self._cluster:
            keys += [self._keys.generation(), self._keys.epoch()]
        for _ in range(3):
            generation, floor, refuse_before = "", 0, 0.0
            if self._watch is not None:
                if self._cluster:
                    self._watch.check()  # the marker is in another slot: one more round trip
                else:
                    generation, floor = self._watch.floor()
                refuse_before = self._watch.lost_at() or 0.0
            args: list[str | int] = [
                *code_hashes,
                generation,
                floor,
                f"{refuse_before:.3f}",
                "1" if keep else "0",
            ]
            with redis_errors("check code"):
                outcome, seen, epoch = self._check(keys=keys, args=args)
            if _text(outcome) == "matched":
                return CheckResult.OK
            if self._watch is None:
                return CheckResult(_text(outcome))
            if _text(outcome) == "stale":
                # Redis is not what this process knew: learn the loss, then check again.
                self._watch.observe(_text(seen) or None, int(epoch), floor)
                continue
            if _text(outcome) == "ok":
                self._spent(int(epoch))
            return CheckResult(_text(outcome))
        raise Unavailable("redis", "check code: redis keeps changing generation")

    def spend(self, scopes: Sequence[CodeScope], code_hashes: Sequence[str]) -> bool:
        keys = [self._keys.code(s.contract, s.purpose, s.target) for s in scopes]
        watched = self._watch is not None and not self._cluster
        if watched:
            keys.append(self._keys.epoch())
        with redis_errors("spend code"):
            epoch = int(self._spend(keys=keys, args=[*code_hashes, "1" if watched else "0"]))
        if epoch < 0:
            return False
        if self._watch is not None:
            self._spent(epoch)
        return True

    def issued_at(self, scope: CodeScope) -> float | None:
        with redis_errors("read code"):
            key = self._keys.code(scope.contract, scope.purpose, scope.target)
            issued = self._client.hget(key, "i")
        return float(_text(issued)) if issued is not None else None

    def _spent(self, epoch: int) -> None:
        """Raise the epoch for a spent code (on a Cluster in a second call: another slot)."""
        assert self._watch is not None
        if self._cluster:
            with redis_errors("check code"):
                epoch = int(self._client.incr(self._keys.epoch()))
        self._watch.bumped(epoch)
