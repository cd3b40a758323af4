"""``/metrics`` of a live gunicorn facade with two workers (prometheus-client multiprocess)."""

from __future__ import annotations

import os
import signal

import pytest
import requests

from tests.ops.support import live_facade, random_ip, random_phone, scrape, value, wait_for


@pytest.fixture(scope="module")
def facade(keycloak, redis_server, wechat_standin):
    with live_facade(keycloak.url, redis_server.url, wechat_standin.url, workers=2) as live:
        yield live


def test_requests_are_counted_across_workers_by_route_template(facade) -> None:
    before = value(scrape(facade.url), "facade_requests_total", route="/healthz", status="200")
    for _ in range(40):
        # A new connection each time, so both workers take some of them.
        assert requests.get(f"{facade.url}/healthz", headers={"Connection": "close"}).ok
    samples = scrape(facade.url)
    after = value(samples, "facade_requests_total", route="/healthz", status="200")
    assert after - before == 40
    assert value(samples, "facade_request_duration_seconds_count", route="/healthz") >= 40


def test_member_routes_carry_contract_template_status_and_dependency_timings(facade) -> None:
    phone, ip = random_phone(), random_ip()
    headers = {"X-Forwarded-For": ip}
    sent = requests.post(
        f"{facade.url}/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers=headers,
    )
    assert sent.json()["code"] == 0
    again = requests.post(
        f"{facade.url}/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers=headers,
    )
    assert again.status_code == 429
    code = requests.get(f"{facade.url}/_dev/outbox", params={"to": phone}).json()["messages"][0]
    login = requests.post(
        f"{facade.url}/api/v1/auth/login/sms",
        json={"phone": phone, "code": code["code"]},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert login.json()["code"] == 0
    missing = requests.get(f"{facade.url}/api/v1/no/such/route/{phone}")
    assert missing.status_code == 404

    samples = scrape(facade.url)
    route = "/api/v1/auth/sms/send"
    assert (
        value(samples, "facade_requests_total", contract="member", route=route, status="200") >= 1
    )
    assert (
        value(samples, "facade_requests_total", contract="member", route=route, status="429") >= 1
    )
    assert value(samples, "facade_requests_total", contract="member", route="unmatched") >= 1
    assert value(samples, "facade_rate_limited_total", contract="member") >= 1
    assert value(samples, "facade_codes_sent_total", channel="sms", provider="development") >= 1
    # Token exchange and admin calls to Keycloak, counts and latency.
    assert (
        value(
            samples,
            "facade_dependency_call_duration_seconds_count",
            dependency="keycloak",
            operation="token",
        )
        >= 1
    )
    assert (
        value(
            samples,
            "facade_dependency_call_duration_seconds_count",
            dependency="keycloak",
            operation="admin_users",
        )
        >= 1
    )
    assert value(samples, "facade_dependency_call_duration_seconds_count", dependency="redis") >= 1
    assert value(samples, "facade_circuit_state", dependency="keycloak") == 0
    # Never a phone number in a label.
    assert not any(phone in str(labels) for _, labels in samples)


def test_counts_of_a_killed_worker_survive_its_replacement(facade) -> None:
    for _ in range(10):
        requests.get(f"{facade.url}/healthz", headers={"Connection": "close"})
    before = value(scrape(facade.url), "facade_requests_total", route="/healthz", status="200")
    workers = facade.worker_pids()
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    wait_for(
        lambda: len(facade.worker_pids()) == 2 and workers[0] not in facade.worker_pids(),
        20,
        "gunicorn did not replace the worker",
    )
    after = value(scrape(facade.url), "facade_requests_total", route="/healthz", status="200")
    assert after >= before  # the dead worker's counts are kept, not lost with it


#: Series that appear only after a fault (a provider failing over, a circuit opening, a
#: dependency failing, an overload): tests/ops/test_admission.py and test_bounded_waiting.py
#: see the last two in a live scrape; these must at least be declared by the facade.
_AFTER_A_FAULT = {
    "facade_delivery_failovers_total",
    "facade_circuit_opened_total",
    "facade_dependency_errors_total",
    "facade_unavailable_total",
}


def test_every_metric_the_grafana_dashboard_queries_is_exported(facade) -> None:
    import json
    import re
    from pathlib import Path

    from facade.observability import metrics

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "docker/grafana/facade-dashboard.json").read_text()
    )
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queried = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bfacade_[a-z_]+", expr)
    }
    assert len(queried) >= 10
    declared = {
        collector._name + ("_total" if collector._type == "counter" else "")
        for collector in vars(metrics).values()
        if hasattr(collector, "_type") and hasattr(collector, "_name")
    }
    assert queried <= declared, queried - declared
    requests.post(
        f"{facade.url}/api/v1/auth/sms/send",
        json={"phone": random_phone(), "code_type": "login"},
        headers={"X-Forwarded-For": random_ip()},
    )
    live = {re.sub(r"_(bucket|count|sum|created)$", "", name) for name, _ in scrape(facade.url)}
    assert queried - _AFTER_A_FAULT <= live, (queried - _AFTER_A_FAULT) - live
