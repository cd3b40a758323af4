"""Redis side of the identity core: user index, unique claims, uid counter, cache, revocations."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import redis

from facade.adapters.redis_generation import text
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_store import is_cluster, redis_errors
from facade.adapters.redis_tracking import Entry, TrackedMirror
from facade.core.generations import RedisLossWatch
from facade.core.models import User

# Increment only a counter that exists: a missing one means Redis lost it, and the caller must
# seed it from Keycloak before any number is handed out again.
_INCR_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return false
"""
# Create the counter, or raise it to at least ARGV[1]; never lower it.
_SEED = """
local current = redis.call('GET', KEYS[1])
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""
# Release only the claims this owner holds.
_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key); released = released + 1 end
end
return released
"""


class RedisUserIndex:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys

    def get(self, attribute: str, value: str) -> str | None:
        with redis_errors("user index"):
            found = self._redis.get(self._keys.user_index(attribute, value))
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    def put(self, attribute: str, value: str, user_id: str) -> None:
        with redis_errors("user index"):
            self._redis.set(self._keys.user_index(attribute, value), user_id)

    def drop(self, attribute: str, value: str) -> None:
        with redis_errors("user index"):
            self._redis.delete(self._keys.user_index(attribute, value))


class RedisUniqueClaims:
    """SET NX claims with an expiry, so that a crashed request cannot hold one forever."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, ttl_ms: int = 15_000) -> None:
        self._redis = client
        self._keys = keys
        self._ttl_ms = ttl_ms
        self._release = client.register_script(_RELEASE)

    def acquire(self, names: list[str], owner: str, wait_seconds: float) -> bool:
        """Claim every name or none; names are taken in sorted order to avoid deadlocks."""
        deadline = time.monotonic() + wait_seconds
        ordered = sorted(set(names))
        held: list[str] = []
        with redis_errors("unique claims"):
            for name in ordered:
                key = self._keys.unique_claim(name)
                while not self._redis.set(key, owner, nx=True, px=self._ttl_ms):
                    if time.monotonic() >= deadline:
                        self.release(held, owner)
                        return False
                    time.sleep(0.01)
                held.append(name)
        return True

    def release(self, names: list[str], owner: str) -> None:
        if not names:
            return
        keys = [self._keys.unique_claim(n) for n in names]
        with redis_errors("unique claims"):
            if is_cluster(self._redis):  # each claim in its own slot: one script call each
                for key in keys:
                    self._release(keys=[key], args=[owner])
            else:
                self._release(keys=keys, args=[owner])


class RedisUidCounter:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self._key = keys.uid_counter()
        self._redis = client
        self._incr = client.register_script(_INCR_IF_EXISTS)
        self._seed = client.register_script(_SEED)

    def next(self) -> int | None:
        with redis_errors("uid counter"):
            value = self._incr(keys=[self._key])
        return int(value) if value is not None else None

    def seed(self, at_least: int) -> None:
        with redis_errors("uid counter"):
            self._seed(keys=[self._key], args=[at_least])


# A user as read is cached unless a change's marker holds the key (see RedisProfileCache.drop).
_PUT_UNLESS_CHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
#: Stands in a user's cached profile for a while after the user changed.
CHANGED = b"~changed"


class RedisProfileCache:
    """Users as read from Keycloak, kept ``ttl_seconds``; every change drops them at once.

    A reader that fetched a user just before a change could otherwise cache the old user just
    after the change dropped it, for a whole TTL. So :meth:`drop` leaves a marker for
    ``hold_seconds`` (longer than any read from Keycloak can take), and :meth:`put`, which
    caches a user as read, does nothing while the marker is there; :meth:`replace` caches a
    user the facade itself just wrote, whatever is there.
    """

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        ttl_seconds: float,
        mirror: TrackedMirror | None = None,
        *,
        hold_seconds: float = 10.0,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._ttl_ms = int(ttl_seconds * 1000)
        self._hold_ms = max(1, int(hold_seconds * 1000))
        self._mirror = mirror
        self._put_unless_changed = client.register_script(_PUT_UNLESS_CHANGED)

    def get(self, user_id: str) -> User | None:
        if self._ttl_ms <= 0:
            return None
        with redis_errors("profile cache"):
            raw = self._redis.get(self._keys.profile(user_id))
        return self.decode(raw)

    @property
    def enabled(self) -> bool:
        return self._ttl_ms > 0

    @staticmethod
    def decode(raw: bytes | str | None) -> User | None:
        """A cached user as :meth:`put` stored it; None for a miss or a recent change."""
        if raw is None or raw in (CHANGED, CHANGED.decode()):
            return None
        return User(**json.loads(raw))

    def put(self, user: User) -> None:
        """Cache a user as read from Keycloak, unless it changed since (:meth:`drop`)."""
        if self._ttl_ms <= 0:
            return
        with redis_errors("profile cache"):
            self._put_unless_changed(
                keys=[self._keys.profile(user.id)],
                args=[self._encode(user), self._ttl_ms, CHANGED],
            )
        self._forget(user.id)

    def replace(self, user: User) -> None:
        """Cache a user as the facade itself just wrote it."""
        if self._ttl_ms <= 0:
            return
        with redis_errors("profile cache"):
            self._redis.set(self._keys.profile(user.id), self._encode(user), px=self._ttl_ms)
        self._forget(user.id)

    def drop(self, user_id: str) -> None:
        """The user changed: no process serves the cached copy, and reads that began before
        the change cannot cache it again for ``hold_seconds``."""
        with redis_errors("profile cache"):
            self._redis.set(self._keys.profile(user_id), CHANGED, px=self._hold_ms)
        self._forget(user_id)

    @staticmethod
    def _encode(user: User) -> str:
        return json.dumps({**asdict(user), "attributes": dict(user.attributes)})

    def _forget(self, user_id: str) -> None:
        if self._mirror is not None:
            self._mirror.forget([self._keys.profile(user_id)])


class RedisRevocations:
    """Revocations; with a loss ``watch`` every write raises the epoch and every read checks
    the generation marker in the same round trip (:mod:`facade.core.generations`)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        watch: RedisLossWatch | None = None,
        profiles: RedisProfileCache | None = None,
        mirror: TrackedMirror | None = None,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._watch = watch
        self._profiles = profiles if profiles is not None and profiles.enabled else None
        self._mirror = mirror

    def revoke_session(self, session_id: str, ttl_seconds: int) -> None:
        self._write(self._keys.revoked_session(session_id), b"1", ttl_seconds)

    def set_not_before(self, user_id: str, timestamp: int, ttl_seconds: int) -> None:
        self._write(self._keys.not_before(user_id), timestamp, ttl_seconds)

    def _write(self, key: str, value: bytes | int, ttl_seconds: int) -> None:
        try:
            self._set(key, value, ttl_seconds)
        finally:  # even a write that timed out may have landed
            if self._mirror is not None:
                self._mirror.forget([key])

    def _set(self, key: str, value: bytes | int, ttl_seconds: int) -> None:
        with redis_errors("revocations"):
            if self._watch is None:
                self._redis.set(key, value, ex=max(1, ttl_seconds))
                return
            # On a Cluster the epoch lives in another slot: one pipeline, not one transaction.
            pipe = self._redis.pipeline(transaction=not is_cluster(self._redis))
            pipe.set(key, value, ex=max(1, ttl_seconds))
            pipe.incr(self._keys.epoch())
            _, epoch = pipe.execute()
        self._watch.bumped(int(epoch))

    def state(self, session_id: str | None, user_id: str) -> tuple[bool, int]:
        """Both checks every refresh makes, in one round trip."""
        revoked, not_before, _ = self._read(session_id, user_id, profile=False)
        return revoked, not_before

    def state_with_profile(
        self, session_id: str | None, user_id: str
    ) -> tuple[bool, int, User | None]:
        """Both checks and the user's cached profile: one round trip per bearer request."""
        return self._read(session_id, user_id, profile=self._profiles is not None)

    def _read(
        self, session_id: str | None, user_id: str, *, profile: bool
    ) -> tuple[bool, int, User | None]:
        keys = [self._keys.not_before(user_id)]
        if session_id:
            keys.append(self._keys.revoked_session(session_id))
        if profile:
            keys.append(self._keys.profile(user_id))
        values = self._mirror.lookup(keys) if self._mirror is not None else None
        if values is None:
            values = self._read_redis(keys, profile)
        not_before = values[0]
        revoked = values[1] if session_id else None
        cached = RedisProfileCache.decode(values[2 if session_id else 1]) if profile else None
        return revoked is not None, int(not_before) if not_before else 0, cached

    def _read_redis(self, keys: list[str], profile: bool) -> list[bytes | None]:
        """``keys`` as Redis holds them (checking the generation marker on the way), kept in
        the mirror until they change; the profile only for its remaining time to live."""
        ticket = self._mirror.ticket() if self._mirror is not None else None
        read = list(keys)
        floor = profile_ttl_ms = 0
        if self._watch is not None:
            floor = self._watch.floor()[1]
            read += [self._keys.generation(), self._keys.epoch()]
        with redis_errors("revocations"):
            if is_cluster(self._redis):  # the keys live in several slots: GETs, one pipeline
                pipe = self._redis.pipeline(transaction=False)
                for key in read:
                    pipe.get(key)
                values = pipe.execute()
            elif ticket is not None and profile:
                pipe = self._redis.pipeline(transaction=False)
                pipe.mget(read)
                pipe.pttl(keys[-1])
                values, profile_ttl_ms = pipe.execute()
            else:
                values = self._redis.mget(read)
        if self._watch is not None:
            generation, epoch = values[-2], values[-1]
            self._watch.observe(text(generation), int(epoch or 0), floor)
        if ticket is not None and self._mirror is not None:
            entries: dict[str, Entry] = {
                key: (value, None) for key, value in zip(keys, values, strict=False)
            }
            if profile:  # PTTL: -2 for a missing key, which then is not kept
                entries[keys[-1]] = (values[len(keys) - 1], max(0, profile_ttl_ms) / 1000)
            self._mirror.remember(ticket, entries)
        return list(values[: len(keys)])
