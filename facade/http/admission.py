"""Admission control: a worker never lets every thread wait on a dependency.

A gthread worker has a fixed number of threads, and gunicorn hands each connection to the next
free one. When Keycloak or Redis hangs, requests that call them hold their threads for up to a
timeout each; if they held all of them, ``/healthz`` and every fast refusal would queue behind
them. So at most ``limit`` requests per worker (``FACADE_THREADS``; ``facade serve`` runs that
many threads plus :func:`reserve_threads`) may be in flight past routing. The next ones, up to
the :func:`waiting_room` (``FACADE_ADMISSION_WAITERS``), wait up to :data:`ADMISSION_WAIT` for
a slot (a burst above the limit queues briefly, as it would in front of any server: refusing it
at once turned a 16-connection benchmark into thousands of 503s); past that wait, or when the
waiting room is full, the request is answered with the contract's "service unavailable" (a typed
:class:`~facade.core.errors.Unavailable` with part ``overloaded``, rendered by the one error
handler) and ``Retry-After``. Probes (``/healthz``, ``/readyz``, ``/metrics``) and unrouted
paths are always admitted: they run on the reserve.

Slow clients never reach a thread in production: nginx reads whole headers and bodies first
(``docker/nginx/facade.conf.template``). Gunicorn alone reads headers in a worker thread, so it
must not face the Internet directly.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import falcon

from facade.core.errors import Unavailable

#: Threads ``facade serve`` gives each worker beyond ``FACADE_THREADS`` (the admission limit) at
#: the least (:func:`reserve_threads`): they serve probes and refusals while every admitted
#: request waits on a hung dependency.
RESERVE_THREADS = 8
#: Requests that may wait for a slot at once, at the least: one reserve thread always stays free
#: for probes.
MAX_WAITERS = RESERVE_THREADS - 1
#: Seconds a request waits for a slot: far above a healthy request's time, well below
#: Keycloak's timeout, so a hung dependency's excess is refused before it would have failed.
ADMISSION_WAIT = 1.0
#: Seconds a refused client is asked to wait: a hung dependency costs a timeout (~3 s) at most.
RETRY_AFTER = "1"


def waiting_room(threads: int, workers: int) -> int:
    """Requests one worker lets wait for a slot: enough for every request a closed-loop client
    with ``workers * threads`` connections can have in flight beyond the worker's own slots.

    The kernel hands each new connection to whichever worker accepts first and a keep-alive
    connection stays with it, so nothing spreads a client's connections evenly: all sixteen of
    a benchmark's connections may sit on one of two workers. With a waiting room of seven, that
    worker admitted 8, let 7 wait and refused the 16th at once, again and again (8,374 refusals
    in one benchmark round) while the other worker idled. Each waiter holds a thread, so
    ``facade serve`` gives a worker one thread per waiter (:func:`reserve_threads`).
    """
    return max(MAX_WAITERS, threads * (workers - 1))


def reserve_threads(threads: int, workers: int) -> int:
    """Threads beyond ``threads`` per worker: one per waiter, and one always free for probes."""
    return waiting_room(threads, workers) + 1


class FairSlots:
    """``limit`` slots handed to waiters first come, first served.

    A semaphore lets a newly arrived request take a freed slot before the waiter that was woken
    for it runs, so under steady load a waiter can starve until its wait ends (measured: thousands
    of refusals of 10 ms profile reads). Here a freed slot goes straight to the oldest waiter, and
    nobody takes a free slot past a queue.
    """

    def __init__(self, limit: int, max_waiters: int) -> None:
        self._lock = threading.Lock()
        self._free = limit
        self._max_waiters = max_waiters
        self._queue: deque[threading.Event] = deque()

    def acquire(self, wait: float) -> bool:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return True
            if len(self._queue) >= self._max_waiters:
                return False
            handed = threading.Event()
            self._queue.append(handed)
        if handed.wait(wait):
            return True
        with self._lock:
            if handed.is_set():  # handed over just as the wait ended
                return True
            self._queue.remove(handed)
            return False

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1


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
        self._slots = FairSlots(limit, max_waiters)
        self._wait = wait
        self._exempt = frozenset(exempt_paths)
        self._has_contract = has_contract
        self.limit = limit

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        if resource is None or req.path in self._exempt:
            return
        if not self._slots.acquire(self._wait):
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
