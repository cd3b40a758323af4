"""``/metrics`` and the middleware that counts every request by contract and route template.

Routes are labelled by Falcon's URI template (``/api/v1/users/{id}``), never by the raw path, so
that the number of series stays bounded whatever clients send; unmatched paths share one label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import falcon

from facade.core.errors import RateLimited, Unavailable
from facade.observability import metrics

ErrorHandler = Callable[[falcon.Request, falcon.Response, Exception, Any], None]


class ContractOfPath:
    """The contract slug mounted at a path (longest prefix first), or ``"none"``."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self._mounts = sorted(
            ((prefix, slug) for slug, prefix in prefixes.items()),
            key=lambda mount: len(mount[0]),
            reverse=True,
        )

    def __call__(self, path: str) -> str:
        for prefix, slug in self._mounts:
            if prefix == "" or path == prefix or path.startswith(prefix + "/"):
                return slug
        return "none"


class RequestMetrics:
    """Falcon middleware: one counter increment and one latency observation per response."""

    def __init__(
        self, contract_of: ContractOfPath, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._contract_of = contract_of
        self._clock = clock

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = self._clock()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        metrics.request_done(
            self._contract_of(req.path),
            req.uri_template or "unmatched",
            req.method,
            resp.status_code,
            self._clock() - started,
        )


class CountingErrors:
    """Wraps the one error handler to count rate-limit refusals and unavailable parts."""

    def __init__(self, handler: ErrorHandler, contract_of: ContractOfPath) -> None:
        self._handler = handler
        self._contract_of = contract_of

    def __call__(
        self, req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
    ) -> None:
        if isinstance(error, RateLimited):
            metrics.rate_limited(self._contract_of(req.path))
        elif isinstance(error, Unavailable):
            metrics.unavailable(self._contract_of(req.path), error.part)
        self._handler(req, resp, error, params)


class MetricsEndpoint:
    """Prometheus text exposition of every worker's metrics."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        body, content_type = metrics.exposition()
        resp.data = body
        resp.content_type = content_type


def mount_metrics(
    app: falcon.App[falcon.Request, falcon.Response], path: str, prefixes: Iterable[str]
) -> None:
    """Mount ``/metrics`` unless a contract's prefix would own that path."""
    for prefix in prefixes:
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            return
    app.add_route(path, MetricsEndpoint())
