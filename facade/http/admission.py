"""Admission control: a worker never lets every thread wait on a dependency.

A gthread worker has a fixed number of threads, and gunicorn hands each connection to the next
free one. When Keycloak or Redis hangs, requests that call them hold their threads for up to a
timeout each; if they held all of them, ``/healthz`` and every fast refusal would queue behind
them. So at most ``limit`` requests per worker (``FACADE_THREADS``; ``facade serve`` runs that
many threads plus :data:`RESERVE_THREADS`) may be in flight past routing; the next one is
answered at once with the contract's "service unavailable" (a typed
:class:`~facade.core.errors.Unavailable` with part ``overloaded``, rendered by the one error
handler) and ``Retry-After``. Probes (``/healthz``, ``/readyz``, ``/metrics``) and unrouted
paths are always admitted: they run on the reserve.

Slow clients never reach a thread in production: nginx reads whole headers and bodies first
(``docker/nginx/facade.conf.template``). Gunicorn alone reads headers in a worker thread, so it
must not face the Internet directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import falcon

from facade.core.errors import Unavailable

#: Threads ``facade serve`` gives each worker beyond ``FACADE_THREADS`` (the admission limit):
#: they serve probes and refusals while every admitted request waits on a hung dependency.
RESERVE_THREADS = 2
#: Seconds a refused client is asked to wait: a hung dependency costs a timeout (~3 s) at most.
RETRY_AFTER = "1"


class Admission:
    """Falcon middleware: a per-process count of admitted requests, refused above ``limit``."""

    def __init__(
        self,
        limit: int,
        exempt_paths: Iterable[str] = ("/healthz", "/readyz", "/metrics"),
        has_contract: Callable[[str], bool] = lambda path: True,
    ) -> None:
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self._slots = threading.BoundedSemaphore(limit)
        self._exempt = frozenset(exempt_paths)
        self._has_contract = has_contract
        self.limit = limit

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        if resource is None or req.path in self._exempt:
            return
        if not self._slots.acquire(blocking=False):
            req.context.admission_refused = True
            if self._has_contract(req.path):
                raise Unavailable("overloaded", "too many requests in flight")
            raise falcon.HTTPServiceUnavailable(retry_after=int(RETRY_AFTER))
        req.context.admitted = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if getattr(req.context, "admitted", False):
            req.context.admitted = False
            self._slots.release()
        elif getattr(req.context, "admission_refused", False):
            resp.set_header("Retry-After", RETRY_AFTER)
