"""Process-local copies of a few Redis keys, dropped the moment Redis says they changed.

A bearer check reads the same three keys for every request of a token (the session's
revocation, the user's not-before time, the cached profile). Reading them from Redis costs more
of the facade's CPU than the rest of the check. This mirror keeps what was read in the process
and relies on Redis 6 client-side caching to learn of every change: one RESP3 connection per
process asks for ``CLIENT TRACKING ON BCAST`` on the key prefixes it mirrors, so Redis pushes
an ``invalidate`` for every write, delete, expiry or flush of a matching key, whoever made it.

What makes a mirrored answer as good as a read:

- **Drained before every answer.** A lookup first reads every invalidation already waiting on
  the tracking socket (a non-blocking read). Redis writes the invalidation of a key in the same
  event-loop turn as its reply to the writer, so by the time a client has heard of a logout and
  sent its next request to any process, the push is on that process's socket, one hop, where
  the client's path took three.
- **No stale store.** A read from Redis remembers the invalidation sequence before it was sent;
  its values are kept only if no key of it was invalidated since (:meth:`ticket`).
- **Checked alive, off the request path.** A maintainer thread per process connects and, every
  ``verify_every`` seconds, sends ``HELLO 3`` on the tracking connection and reads up to its
  answer, so every push sent before it has been handled, and the node must still call itself a
  master (a Sentinel failover leaves a demoted master's connections open, silent). Request
  threads never wait on that socket: while the maintainer uses it, or has not proven it alive
  for ``3 * verify_every`` seconds, lookups miss. An error or a closed socket drops everything
  mirrored until a new connection is up.
- **Bounded in time.** Every entry carries its own deadline (a profile's remaining TTL in
  Redis, else ``max_age``), so nothing outlives what Redis itself would have answered.

The mirror never answers while it cannot vouch for itself: a lookup then misses and the caller
reads Redis as before. It is per process (started on first use, again after a fork) and off on
a Redis Cluster, where tracking would need a connection per master.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import redis
from redis.connection import AbstractConnection

log = logging.getLogger(__name__)

#: A value as Redis answered it (None: no such key) and how long it may live here at most
#: (seconds; None: ``max_age``).
Entry = tuple[bytes | None, float | None]
#: Taken before a read from Redis; its values are kept only if still current (:meth:`remember`).
Ticket = tuple[int, int]


def tracking_connection_factory(client: redis.Redis) -> Callable[[], AbstractConnection]:
    """New connections like the client's own (address, credentials, TLS, Sentinel's master),
    speaking RESP3, which carries invalidation pushes on the connection that asked for them."""
    pool = client.connection_pool

    def connect() -> AbstractConnection:
        kwargs: dict[str, Any] = {**pool.connection_kwargs, "protocol": 3}
        kwargs.pop("health_check_interval", None)  # liveness is this mirror's own HELLO
        connection: AbstractConnection = pool.connection_class(**kwargs)
        return connection

    return connect


class TrackedMirror:
    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        prefixes: Sequence[str],
        *,
        drop_all_on: Iterable[str] = (),
        max_age: float = 60.0,
        verify_every: float = 1.0,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._prefixes = list(prefixes)
        #: Keys (tracked too) whose change means Redis lost data: nothing mirrored holds then.
        self._drop_all_on = frozenset(drop_all_on)
        self._max_age = max_age
        self._verify_every = verify_every
        self._max_entries = max_entries
        self._clock = clock  # entries' deadlines; the connection's liveness is real time
        # Reentrant: a drain under the lock calls ``_on_invalidate``, which takes it too.
        self._lock = threading.RLock()
        self._connection: AbstractConnection | None = None
        #: The maintainer is using the socket (connecting, verifying): nobody else may read it.
        self._busy = False
        self._pid = 0
        self._stop = threading.Event()
        #: key -> (value, deadline on ``clock``)
        self._entries: dict[str, tuple[bytes | None, float]] = {}
        #: key -> sequence number of its latest invalidation, for tickets still in flight.
        self._invalidated: dict[str, int] = {}
        self._sequence = 0
        #: Raised whenever tickets taken before can no longer be judged key by key.
        self._era = 0
        self._verified_at = float("-inf")

    @property
    def serving(self) -> bool:
        """Whether lookups may be answered here now (else they miss and Redis is read)."""
        with self._lock:
            return self._current()

    def lookup(self, keys: Sequence[str]) -> list[bytes | None] | None:
        """Every key's value as Redis holds it now, or None (read Redis) if any is not here."""
        with self._lock:
            if not self._current():
                return None
            now = self._clock()
            values: list[bytes | None] = []
            for key in keys:
                entry = self._entries.get(key)
                if entry is None or entry[1] <= now:
                    return None
                values.append(entry[0])
            return values

    def ticket(self) -> Ticket:
        with self._lock:
            return self._era, self._sequence

    def remember(self, ticket: Ticket, entries: Mapping[str, Entry]) -> None:
        """Keep values read from Redis after ``ticket``, unless one of them changed since."""
        with self._lock:
            if not self._current() or ticket[0] != self._era:
                return
            if any(self._invalidated.get(key, -1) > ticket[1] for key in entries):
                return
            if len(self._entries) + len(entries) > self._max_entries:
                self._entries.clear()  # rare; a full re-read is cheaper than an LRU per hit
            now = self._clock()
            for key, (value, ttl) in entries.items():
                self._entries[key] = (value, now + (self._max_age if ttl is None else ttl))

    def forget(self, keys: Iterable[str]) -> None:
        """This process just wrote these keys: don't wait for Redis's push to drop them."""
        with self._lock:
            self._drop(keys)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._close()

    # --- request threads: only non-blocking reads of the socket, under the lock -----------

    def _current(self) -> bool:
        """Connected, proven alive lately, and every push already received handled."""
        if self._pid != os.getpid():
            self._start()  # first use in this process (or after a fork)
            return False
        if self._connection is None or self._busy:
            return False
        if time.monotonic() - self._verified_at > 3 * self._verify_every:
            return False  # the maintainer is stuck or starved: vouch for nothing
        try:
            while self._connection.can_read(timeout=0):
                self._connection.read_response(push_request=True)
        except (redis.RedisError, OSError, ValueError) as exc:
            log.warning("redis tracking connection lost (%s); reading Redis until it is back", exc)
            self._close()
            return False
        return True

    def _start(self) -> None:
        self._connection = None  # a parent's socket: not ours to read or close
        self._reset()
        self._pid = os.getpid()
        self._stop = threading.Event()
        thread = threading.Thread(
            target=self._maintain, args=(self._stop,), name="redis-tracking", daemon=True
        )
        thread.start()

    # --- the maintainer thread: the blocking work, never holding the lock while it waits --

    def _maintain(self, stop: threading.Event) -> None:
        failing = False
        while not stop.is_set():
            with self._lock:
                connection = self._connection
                self._busy = connection is not None
            try:
                if connection is not None:
                    self._verify(connection)
                else:
                    self._open()
                if failing:
                    log.warning("redis tracking is back; bearer checks use the mirror again")
                failing = False
            except redis.ResponseError as exc:  # NOPERM, or a Redis without tracking
                log.error("redis refused client tracking (%s); every bearer check reads Redis", exc)
                with self._lock:
                    self._close()
                return
            except (redis.RedisError, OSError, ValueError) as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("redis tracking unavailable (%s); bearer checks read Redis", exc)
                failing = True
                with self._lock:
                    self._close()
            finally:
                with self._lock:
                    self._busy = False
            stop.wait(self._verify_every)

    def _open(self) -> None:
        connection = self._connect()
        try:
            connection.connect()  # type: ignore[no-untyped-call]
            connection._parser.set_invalidation_push_handler(self._on_invalidate)
            arguments: list[str] = ["CLIENT", "TRACKING", "ON", "BCAST"]
            for prefix in self._prefixes:
                arguments += ["PREFIX", prefix]
            connection.send_command(*arguments)  # type: ignore[no-untyped-call]
            if connection.read_response() not in (b"OK", "OK"):
                raise redis.ResponseError("CLIENT TRACKING was not accepted")
            self._hello(connection)
        except BaseException:
            with contextlib.suppress(redis.RedisError, OSError):
                connection.disconnect()  # type: ignore[no-untyped-call]
            raise
        with self._lock:
            self._reset()  # whatever was mirrored before went unwatched
            self._connection = connection
            self._verified_at = time.monotonic()

    def _verify(self, connection: AbstractConnection) -> None:
        """Read up to a fresh answer: every push Redis sent before it has now been handled."""
        self._hello(connection)
        with self._lock:
            self._verified_at = time.monotonic()

    @staticmethod
    def _hello(connection: AbstractConnection) -> None:
        """``HELLO 3`` (allowed to every user), whose answer names the node's role: a Sentinel
        failover leaves a demoted master's connections open, silent."""
        connection.send_command("HELLO", "3")  # type: ignore[no-untyped-call]
        hello = connection.read_response()
        role = hello.get(b"role", hello.get("role")) if isinstance(hello, dict) else None
        if role not in (b"master", "master"):
            raise redis.ConnectionError(f"tracking connection's node is not a master ({role!r})")

    # --- shared state (under the lock) ------------------------------------------------------

    def _on_invalidate(self, message: list[Any]) -> None:
        keys = message[1] if len(message) > 1 else None
        with self._lock:
            if keys is None:  # FLUSHDB / FLUSHALL: everything
                self._reset()
                return
            names = [key.decode() if isinstance(key, bytes) else str(key) for key in keys]
            if self._drop_all_on.intersection(names):
                self._reset()
                return
            self._drop(names)

    def _drop(self, keys: Iterable[str]) -> None:
        self._sequence += 1
        if len(self._invalidated) >= self._max_entries:
            self._invalidated.clear()
            self._era += 1
        for key in keys:
            self._entries.pop(key, None)
            self._invalidated[key] = self._sequence

    def _reset(self) -> None:
        self._entries.clear()
        self._invalidated.clear()
        self._era += 1

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._reset()
        self._verified_at = float("-inf")
        if connection is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                connection.disconnect()  # type: ignore[no-untyped-call]
