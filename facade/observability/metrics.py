"""Prometheus metrics of one facade process, aggregated across gunicorn workers.

Under ``facade serve`` the environment carries ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per
start), so prometheus-client writes every value to memory-mapped files there and ``/metrics``
sums the files of all workers; gunicorn's ``child_exit`` hook marks dead workers so their gauges
disappear. Without the variable (tests, the CLI) the metrics live in the default registry.

The helpers below are the only way the rest of the code touches metrics, so that label names
and values stay bounded (never a user id, a phone number or a raw path).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

#: Seconds: dependency calls are mostly well under 100 ms; the top buckets catch timeouts.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "facade_requests_total",
    "HTTP requests answered, by contract, route template, method and status.",
    ("contract", "route", "method", "status"),
)
REQUEST_SECONDS = Histogram(
    "facade_request_duration_seconds",
    "Time from request to response, by contract and route template.",
    ("contract", "route", "method"),
    buckets=_BUCKETS,
)
DEPENDENCY_SECONDS = Histogram(
    "facade_dependency_call_duration_seconds",
    "Time of one call to Keycloak or Redis, by operation.",
    ("dependency", "operation"),
    buckets=_BUCKETS,
)
DEPENDENCY_ERRORS = Counter(
    "facade_dependency_errors_total",
    "Calls to Keycloak or Redis that failed (transport error, timeout, 5xx, circuit open).",
    ("dependency", "operation", "error"),
)
CODES_SENT = Counter(
    "facade_codes_sent_total",
    "Verification codes handed to a provider, by channel and provider.",
    ("channel", "provider"),
)
DELIVERY_FAILOVERS = Counter(
    "facade_delivery_failovers_total",
    "Provider failures that made delivery try the next provider (or give up), by reason.",
    ("channel", "provider", "reason"),
)
RATE_LIMITED = Counter(
    "facade_rate_limited_total",
    "Requests refused by a rate limit, by contract.",
    ("contract",),
)
UNAVAILABLE = Counter(
    "facade_unavailable_total",
    "Requests answered with the contract's 'service unavailable', by failing part.",
    ("contract", "part"),
)
CIRCUIT_STATE = Gauge(
    "facade_circuit_state",
    "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open (max over workers).",
    ("dependency",),
    multiprocess_mode="livemax",
)
CIRCUIT_OPENED = Counter(
    "facade_circuit_opened_total",
    "Times a circuit breaker opened.",
    ("dependency",),
)

_CIRCUIT_VALUES = {"closed": 0, "half-open": 1, "half_open": 1, "open": 2}


@contextmanager
def dependency_call(dependency: str, operation: str) -> Iterator[None]:
    """Time one call; an exception counts as an error (named by its class) and propagates."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        DEPENDENCY_ERRORS.labels(dependency, operation, type(exc).__name__).inc()
        raise
    finally:
        DEPENDENCY_SECONDS.labels(dependency, operation).observe(time.perf_counter() - started)


def dependency_error(dependency: str, operation: str, error: str) -> None:
    DEPENDENCY_ERRORS.labels(dependency, operation, error).inc()


def code_sent(channel: str, provider: str) -> None:
    CODES_SENT.labels(channel, provider).inc()


def delivery_failover(channel: str, provider: str, reason: str) -> None:
    DELIVERY_FAILOVERS.labels(channel, provider, reason).inc()


def rate_limited(contract: str) -> None:
    RATE_LIMITED.labels(contract).inc()


def unavailable(contract: str, part: str) -> None:
    UNAVAILABLE.labels(contract, part).inc()


def circuit_state(dependency: str, state: str) -> None:
    value = _CIRCUIT_VALUES.get(state, 0)
    CIRCUIT_STATE.labels(dependency).set(value)
    if value == 2:
        CIRCUIT_OPENED.labels(dependency).inc()


def request_done(contract: str, route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(contract, route, method, str(status)).inc()
    REQUEST_SECONDS.labels(contract, route, method).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text format of every worker's metrics (or this process's, outside gunicorn)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn's ``child_exit``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
