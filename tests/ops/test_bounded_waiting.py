"""A hung Keycloak costs a few seconds once, then nothing: timeouts and the circuit breaker."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.ops.blackhole import Blackhole
from tests.ops.support import healthz_probed, live_facade, random_ip, random_phone, scrape, value


@pytest.fixture
def hung_keycloak():
    hole = Blackhole().start()
    yield hole
    hole.stop()


def _codes(url: str, count: int) -> list[tuple[str, str]]:
    """Phones with a fresh login code each (sending needs only Redis)."""
    pairs = []
    for _ in range(count):
        phone = random_phone()
        sent = requests.post(
            f"{url}/api/v1/auth/sms/send",
            json={"phone": phone, "code_type": "login"},
            headers={"X-Forwarded-For": random_ip()},
            timeout=10,
        )
        assert sent.json()["code"] == 0, sent.text
        outbox = requests.get(f"{url}/_dev/outbox", params={"to": phone}, timeout=5).json()
        pairs.append((phone, outbox["messages"][0]["code"]))
    return pairs


def _login(url: str, phone: str, code: str) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.post(
        f"{url}/api/v1/auth/login/sms",
        json={"phone": phone, "code": code},
        headers={"X-Forwarded-For": random_ip()},
        timeout=30,
    )
    return response.status_code, time.monotonic() - started


def test_hung_keycloak_gives_503_within_seconds_and_then_fails_fast(
    hung_keycloak, redis_server, wechat_standin
) -> None:
    with live_facade(hung_keycloak.url, redis_server.url, wechat_standin.url, workers=1) as facade:
        pairs = _codes(facade.url, 16)

        # Six logins at once (fewer than the worker's 8 threads) while /healthz is probed.
        with healthz_probed(facade.url) as probes, ThreadPoolExecutor(6) as pool:
            first = list(pool.map(lambda pair: _login(facade.url, *pair), pairs[:6]))
        assert [status for status, _ in first] == [503] * 6
        assert max(seconds for _, seconds in first) < 5.0
        assert len(probes) > 10
        assert max(probes) < 0.5, f"/healthz took {max(probes):.2f}s behind hung logins"
        assert hung_keycloak.accepted >= 1

        # The breaker is open now: each further login is a fast 503 without touching Keycloak.
        accepted = hung_keycloak.accepted
        rest = [_login(facade.url, *pair) for pair in pairs[6:]]
        assert [status for status, _ in rest] == [503] * 10
        assert max(seconds for _, seconds in rest) < 0.5
        assert hung_keycloak.accepted == accepted

        samples = scrape(facade.url)
        assert value(samples, "facade_circuit_state", dependency="keycloak") == 2
        assert value(samples, "facade_dependency_errors_total", error="circuit_open") >= 10
        assert value(samples, "facade_dependency_errors_total", error="timeout") >= 1
        assert value(samples, "facade_unavailable_total", contract="member", part="keycloak") >= 16
