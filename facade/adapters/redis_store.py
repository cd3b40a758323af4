"""Redis connection (one node, Sentinel or Cluster) and the translation of its errors into the
core's ``Unavailable``.

``FACADE_REDIS_URL`` forms:

- ``redis://[[user]:password@]host:port/db`` (and ``rediss://``, ``unix://``): one node.
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name[/db]``: the master
  of ``service_name`` as the sentinels name it, found again after a failover; the password is
  the master's, ``?sentinel_password=`` (and ``sentinel_username=``) the sentinels' own.
- ``redis+cluster://[[user]:password@]host:port[,host:port...]``: a Redis Cluster; the nodes
  listed are only where discovery starts. Keys then carry hash tags (:class:`RedisKeys`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from facade.core.errors import Unavailable
from facade.observability import metrics

Topology = Literal["single", "sentinel", "cluster"]


@dataclass(frozen=True)
class RedisTarget:
    """A parsed ``FACADE_REDIS_URL``."""

    topology: Topology
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)


def parse_url(url: str) -> RedisTarget:
    """Check the URL's form; ValueError names what is wrong (a start refusal, not a 500)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss", "unix"):
        return RedisTarget("single", url)
    if scheme not in ("redis+sentinel", "redis+cluster"):
        given = f"{scheme}://" if scheme else "no scheme"
        raise ValueError(
            "FACADE_REDIS_URL must start with redis://, rediss://, unix://, "
            f"redis+sentinel:// or redis+cluster://, not {given}"
        )
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = tuple(_node(item) for item in hostlist.split(",") if item.strip())
    if not nodes:
        raise ValueError(f"FACADE_REDIS_URL names no host:port in {scheme}://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    path = [p for p in parts.path.split("/") if p]
    common = {
        "url": url,
        "nodes": nodes,
        "username": unquote(username) or None,
        "password": unquote(password) or None,
    }
    if scheme == "redis+cluster":
        if path not in ([], ["0"]):
            raise ValueError("FACADE_REDIS_URL: a Redis Cluster has only database 0")
        return RedisTarget("cluster", **common)  # type: ignore[arg-type]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(
            "FACADE_REDIS_URL: redis+sentinel://host:port[,host:port]/service_name[/db]"
        )
    return RedisTarget(
        "sentinel",
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        sentinel_username=query.get("sentinel_username"),
        sentinel_password=query.get("sentinel_password"),
        **common,  # type: ignore[arg-type]
    )


def _node(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"FACADE_REDIS_URL: {item.strip()!r} is not host:port")
    return host.strip("[]"), int(port)


def connect(url: str, timeout: float = 2.0) -> redis.Redis:
    """A lazily connecting client; nothing touches the network until the first command.

    ``timeout`` bounds every socket read and connect, so a hung Redis is a 503 within it.
    A Cluster client is typed as ``redis.Redis``: it answers the same command methods the
    adapters call, and they ask :func:`is_cluster` where the two differ (cross-slot work).
    """
    target = parse_url(url)
    socket: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "username": target.username,
        "password": target.password,
    }
    if target.topology == "sentinel":
        # redis-py before 8 left these untyped: the ignores hold for either.
        sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
            list(target.nodes),
            sentinel_kwargs={
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "username": target.sentinel_username,
                "password": target.sentinel_password,
            },
        )
        master = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
            target.service,
            db=target.db,
            health_check_interval=30,
            retry_on_timeout=False,
            decode_responses=False,
            **socket,
        )
        return cast(redis.Redis, master)
    if target.topology == "cluster":
        cluster = RedisCluster(
            startup_nodes=[
                ClusterNode(host, port)  # type: ignore[no-untyped-call]
                for host, port in target.nodes
            ],
            decode_responses=False,
            require_full_coverage=True,
            **socket,
        )
        return cast(redis.Redis, cluster)
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry_on_timeout=False,
        decode_responses=False,
    )


def is_cluster(client: object) -> bool:
    """Whether keys of one command (script, MGET, MULTI) must share a hash slot."""
    return isinstance(client, RedisCluster)


#: A master demoted under a client's feet, a Cluster without a master for a slot (CLUSTERDOWN,
#: MASTERDOWN, TRYAGAIN, an uncovered slot, no reachable node): a failover in progress.
_SWITCHING = (
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.RedisClusterException,
)


@contextmanager
def redis_errors(action: str = "redis") -> Iterator[None]:
    """Translate transport errors, and time the block as one Redis call named ``action``.

    A Sentinel or Cluster failover in progress is the same short unavailability as a lost
    node. A cross-slot command is a bug, though, and stays an error.
    """
    started = time.perf_counter()
    try:
        yield
    except redis.TimeoutError as exc:
        metrics.dependency_error("redis", action, "timeout")
        raise Unavailable("redis", f"{action}: cannot reach redis") from exc
    except redis.ConnectionError as exc:
        metrics.dependency_error("redis", action, "connection")
        raise Unavailable("redis", f"{action}: cannot reach redis") from exc
    except redis.exceptions.CrossSlotTransactionError:
        raise
    except _SWITCHING as exc:
        metrics.dependency_error("redis", action, "failover")
        raise Unavailable("redis", f"{action}: redis is failing over") from exc
    finally:
        metrics.DEPENDENCY_SECONDS.labels("redis", action).observe(time.perf_counter() - started)


def ping(client: redis.Redis) -> None:
    with redis_errors("ping"):
        client.ping()
