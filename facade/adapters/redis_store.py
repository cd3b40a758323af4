"""Redis connection and the translation of its errors into the core's ``Unavailable``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from facade.core.errors import Unavailable


def connect(url: str) -> redis.Redis:
    """A lazily connecting client; nothing touches the network until the first command."""
    return redis.Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        retry_on_timeout=False,
        decode_responses=False,
    )


@contextmanager
def redis_errors(action: str = "redis") -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Unavailable("redis", f"{action}: cannot reach redis") from exc


def ping(client: redis.Redis) -> None:
    with redis_errors("ping"):
        client.ping()
