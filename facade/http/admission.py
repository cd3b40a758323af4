"""Admission control: a worker never lets every thread wait on a dependency.

A gthread worker has a fixed number of threads, and gunicorn hands each connection to the next
free one. When Keycloak or Redis hangs, requests that call them hold their threads for up to a
timeout each; if they held all of them, ``/healthz`` and every fast refusal would queue behind
them. So at most ``limit`` requests per worker (``FACADE_THREADS``; ``facade serve`` runs that
many threads plus :data:`RESERVE_THREADS`) may be in flight past routing. The next few wait
up to :data:`ADMISSION_WAIT` for a slot (a burst above the limit queues briefly, as it would
in front of any server: refusing it at once turned a 16-connection benchmark into thousands of
503s); past that, or when :data:`MAX_WAITERS` already wait, the request is answered with the
contract's "service unavailable" (a typed
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
RESERVE_THREADS = 4
#: Requests that may wait for a slot at once: one reserve thread always stays free for probes.
MAX_WAITERS = RESERVE_THREADS - 1
#: Seconds a request waits for a slot: far above a healthy request's time, well below
#: Keycloak's timeout, so a hung dependency's excess is refused before it would have failed.
ADMISSION_WAIT = 1.0
#: Seconds a refused client is asked to wait: a hung dependency costs a timeout (~3 s) at most.
RETRY_AFTER = "1"


class Admission:
    """Falcon middleware: a per-process count of admitted requests, refused above ``limit``."""

    def __init__(
        self,
        limit: int,
        exempt_paths: Iterable[str] = ("/healthz", "/readyz", "/metrics"),
        has_contract: Callable[[str], bool] = lambda path: True,
        *,
        wait: float = ADMISSION_WAIT,
        max_waiters: int = MAX_WAITERS,
    ) -> None:
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self._slots = threading.BoundedSemaphore(limit)
        self._wait = wait
        self._waiters = threading.BoundedSemaphore(max_waiters) if max_waiters > 0 else None
        self._exempt = frozenset(exempt_paths)
        self._has_contract = has_contract
        self.limit = limit

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        if resource is None or req.path in self._exempt:
            return
        if not self._slots.acquire(blocking=False) and not self._waited_for_slot():
            req.context.admission_refused = True
            if self._has_contract(req.path):
                raise Unavailable("overloaded", "too many requests in flight")
            raise falcon.HTTPServiceUnavailable(retry_after=int(RETRY_AFTER))
        req.context.admitted = True

    def _waited_for_slot(self) -> bool:
        """Whether a slot freed within the wait (only while fewer than the cap are waiting)."""
        if self._waiters is None or not self._waiters.acquire(blocking=False):
            return False
        try:
            return self._slots.acquire(timeout=self._wait)
        finally:
            self._waiters.release()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if getattr(req.context, "admitted", False):
            req.context.admitted = False
            self._slots.release()
        elif getattr(req.context, "admission_refused", False):
            resp.set_header("Retry-After", RETRY_AFTER)
