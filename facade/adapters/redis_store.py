"""Redis connection and the translation of its errors into the core's ``Unavailable``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from facade.core.errors import Unavailable
from facade.observability import metrics


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
    """Translate transport errors, and time the block as one Redis call named ``action``."""
    started = time.perf_counter()
    try:
        yield
    except redis.TimeoutError as exc:
        metrics.dependency_error("redis", action, "timeout")
        raise Unavailable("redis", f"{action}: cannot reach redis") from exc
    except redis.ConnectionError as exc:
        metrics.dependency_error("redis", action, "connection")
        raise Unavailable("redis", f"{action}: cannot reach redis") from exc
    finally:
        metrics.DEPENDENCY_SECONDS.labels("redis", action).observe(time.perf_counter() - started)


def ping(client: redis.Redis) -> None:
    with redis_errors("ping"):
        client.ping()
