"""Admission control: more requests than threads on a hung Keycloak are refused at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import falcon
import falcon.testing
import pytest
import requests

from facade.core.errors import Unavailable
from facade.http.admission import (
    MAX_WAITERS,
    Admission,
    FairSlots,
    reserve_threads,
    waiting_room,
)
from tests.ops.blackhole import Blackhole
from tests.ops.support import healthz_probed, live_facade, random_ip, random_phone, scrape, value


class _Gate:
    """A resource that holds its thread until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.entered.release()
        self.gate.wait(10)
        resp.media = {"ok": True}


def _unavailable(req, resp, error, params) -> None:
    resp.status = falcon.HTTP_503
    resp.media = {"part": error.part}


def _app(limit: int, gate: _Gate, **options: float) -> falcon.App:
    app = falcon.App(middleware=[Admission(limit, **options)])
    app.add_route("/slow", gate)
    app.add_route("/healthz", _Gate())
    app.add_error_handler(Unavailable, _unavailable)
    return app


def test_the_request_past_the_limit_is_refused_and_a_freed_slot_admits_again() -> None:
    gate = _Gate()
    client = falcon.testing.TestClient(_app(2, gate, wait=0.2))
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.simulate_get, "/slow") for _ in range(2)]
        assert gate.entered.acquire(timeout=5) and gate.entered.acquire(timeout=5)

        started = time.monotonic()
        refused = client.simulate_get("/slow")
        assert time.monotonic() - started >= 0.2  # it waited for a slot first
        assert refused.status_code == 503
        assert refused.json == {"part": "overloaded"}
        assert refused.headers["Retry-After"] == "1"
        # Unrouted paths are not counted: the router's 404 needs no dependency.
        assert client.simulate_get("/nowhere").status_code == 404

        gate.gate.set()
        assert [f.result(10).status_code for f in held] == [200, 200]
    # Both slots came back: two more requests are admitted.
    assert client.simulate_get("/slow").status_code == 200
    assert client.simulate_get("/slow").status_code == 200


def test_a_request_past_the_limit_waits_for_a_slot_that_frees_within_the_wait() -> None:
    """A burst above the limit queues briefly instead of being refused."""
    gate = _Gate()
    client = falcon.testing.TestClient(_app(1, gate, wait=5.0))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.simulate_get, "/slow")
        assert gate.entered.acquire(timeout=5)
        second = pool.submit(client.simulate_get, "/slow")
        time.sleep(0.2)
        assert not second.done()  # waiting for the slot, not refused
        gate.gate.set()
        assert (first.result(10).status_code, second.result(10).status_code) == (200, 200)


def test_past_the_waiters_cap_a_request_is_refused_at_once() -> None:
    gate = _Gate()
    client = falcon.testing.TestClient(_app(1, gate, wait=5.0, max_waiters=1))
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(client.simulate_get, "/slow")
        assert gate.entered.acquire(timeout=5)
        waiting = pool.submit(client.simulate_get, "/slow")
        time.sleep(0.2)
        started = time.monotonic()
        assert client.simulate_get("/slow").status_code == 503
        assert time.monotonic() - started < 1.0
        gate.gate.set()
        assert held.result(10).status_code == waiting.result(10).status_code == 200


def test_a_freed_slot_goes_to_the_oldest_waiter_not_to_a_newcomer() -> None:
    """Without the hand-over a newcomer barges in and a waiter starves under steady load."""
    slots = FairSlots(1, max_waiters=5)
    assert slots.acquire(0)
    with ThreadPoolExecutor(1) as pool:
        waiter = pool.submit(slots.acquire, 5.0)
        time.sleep(0.2)
        slots.release()
        assert not slots.acquire(0)  # the freed slot is the waiter's
        assert waiter.result(5)
    slots.release()
    assert slots.acquire(0)


class _Quick:
    """A 50 ms request: a closed-loop client keeps it busy, no dependency is slow."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        time.sleep(0.05)
        resp.media = {"ok": True}


def _closed_loop(max_waiters: int, connections: int, seconds: float = 1.0) -> Counter[int]:
    """``connections`` clients, each sending its next request as soon as one is answered, all
    on one worker admitting 8 (what gthread does with keep-alive connections it accepted)."""
    app = falcon.App(middleware=[Admission(8, max_waiters=max_waiters)])
    app.add_route("/quick", _Quick())
    app.add_error_handler(Unavailable, _unavailable)
    client = falcon.testing.TestClient(app)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            status = client.simulate_get("/quick").status_code
            with lock:
                statuses[status] += 1

    with ThreadPoolExecutor(connections) as pool:
        for future in [pool.submit(loop) for _ in range(connections)]:
            future.result()
    return statuses


def test_a_closed_loop_client_with_a_connection_per_thread_of_every_worker_is_never_refused() -> (
    None
):
    # Two workers of 8 threads; all 16 connections on one of them.
    statuses = _closed_loop(waiting_room(8, 2), connections=16)
    assert set(statuses) == {200}, statuses
    # The waiting room this replaced (7) refused the 16th request in a fast loop.
    assert _closed_loop(MAX_WAITERS, connections=16)[503] > 0


def test_facade_serve_gives_each_waiter_a_thread_and_keeps_one_for_probes() -> None:
    assert waiting_room(8, 2) == 8 and waiting_room(8, 4) == 24
    assert waiting_room(4, 1) == MAX_WAITERS  # one worker still absorbs a burst
    for threads, workers in ((8, 2), (4, 1), (16, 3)):
        assert reserve_threads(threads, workers) == waiting_room(threads, workers) + 1


def test_the_limit_must_admit_something() -> None:
    with pytest.raises(ValueError):
        Admission(0)


@pytest.fixture
def hung_keycloak():
    hole = Blackhole().start()
    yield hole
    hole.stop()


def test_excess_logins_on_a_hung_keycloak_get_the_contracts_503_at_once_and_healthz_answers(
    hung_keycloak, redis_server, wechat_standin
) -> None:
    # One worker admitting 4 requests (plus 8 reserve threads, 7 of which may wait 1 s for a
    # slot); 20 logins arrive at once.
    with live_facade(
        hung_keycloak.url,
        redis_server.url,
        wechat_standin.url,
        workers=1,
        FACADE_THREADS="4",
        FACADE_KEYCLOAK_BREAKER_FAILURES="0",
    ) as facade:
        pairs = []
        for _ in range(20):
            phone = random_phone()
            sent = requests.post(
                f"{facade.url}/api/v1/auth/sms/send",
                json={"phone": phone, "code_type": "login"},
                headers={"X-Forwarded-For": random_ip()},
                timeout=10,
            )
            assert sent.json()["code"] == 0, sent.text
            outbox = requests.get(f"{facade.url}/_dev/outbox", params={"to": phone}, timeout=5)
            pairs.append((phone, outbox.json()["messages"][0]["code"]))

        def login(pair: tuple[str, str]) -> tuple[requests.Response, float]:
            started = time.monotonic()
            response = requests.post(
                f"{facade.url}/api/v1/auth/login/sms",
                json={"phone": pair[0], "code": pair[1]},
                headers={"X-Forwarded-For": random_ip()},
                timeout=30,
            )
            return response, time.monotonic() - started

        with healthz_probed(facade.url) as probes, ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(login, pairs))

        assert [response.status_code for response, _ in answers] == [503] * 20
        refused = [(r, s) for r, s in answers if r.headers.get("Retry-After") == "1"]
        waited = [(r, s) for r, s in answers if "Retry-After" not in r.headers]
        # Four waited out Keycloak's timeout; the sixteen others were refused, after at most the
        # admission wait, before those four failed.
        assert len(waited) == 4 and len(refused) == 16
        assert all(r.json() == {"code": 503, "message": "服务暂不可用: keycloak", "data": None}
                   for r, _ in waited)  # fmt: skip
        assert all(r.json()["message"] == "服务暂不可用: overloaded" for r, _ in refused)
        assert min(s for _, s in waited) > max(s for _, s in refused)
        assert max(probes) < 1.0, f"/healthz took {max(probes):.2f}s behind hung logins"

        samples = scrape(facade.url)
        assert value(samples, "facade_unavailable_total", part="overloaded") == 16
        assert value(samples, "facade_requests_total", route="/api/v1/auth/login/sms") == 20
