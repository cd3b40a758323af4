"""The end-to-end benchmark's code-login baseline, which needs no load to be right: the Redis
check's cost per request is added to the Keycloak call's, so the facade is judged against a
client that does both, never against the exchange alone."""

from __future__ import annotations

import os
import time

import pytest

from benchmarks.bench_http import Pair, Window, cpu_seconds, settle


def window(rate: float) -> Window:
    return Window(
        requests=int(rate * 10), seconds=10.0, non2xx=0, socket_errors=0, p50_ms=1.0, p99_ms=2.0
    )


def test_the_code_check_cost_is_added_to_each_rounds_exchange():
    pair = Pair("code_login", [window(90), window(80)], [window(100), window(200)], [900.0, 1800.0])
    assert pair.baseline_rates() == pytest.approx([90.0, 180.0])  # 1 / (1/100 + 1/900) ...
    summary = pair.summary()
    assert summary["ratio_rounds"] == [1.0, 0.444]
    assert summary["ratio_vs_exchange_alone"] == pytest.approx((0.9 + 0.4) / 2)
    assert summary["keycloak_exchange_rps"] == 150.0 and summary["keycloak_rps"] == 135.0


def test_pairs_without_an_added_step_compare_with_keycloak_alone():
    summary = Pair("refresh", [window(50)], [window(100)]).summary()
    assert summary["ratio"] == 0.5 and "redis_check_rps" not in summary


def test_a_code_window_that_used_every_planted_code_is_flagged():
    pair = Pair("code_login", [window(90), window(80)], [window(100), window(100)], [900.0, 900.0])
    pair.spent(window(90), single_use=1000)  # 900 sign-ins out of 1,000 codes
    assert pair.summary()["codes_ran_out"] is False
    pair.spent(window(80), single_use=800)  # 800 out of 800: capped by the codes
    assert pair.summary()["codes_ran_out"] is True


def test_pairs_of_reusable_requests_carry_no_code_flag():
    assert "codes_ran_out" not in Pair("refresh", [window(50)], [window(100)]).summary()


def test_keycloak_cpu_per_request_is_the_median_of_each_sides_windows():
    facade = [window(100), window(100), window(100)]  # 1,000 requests each
    keycloak = [window(100), window(100), window(100)]
    for w, seconds in zip(facade, [3.0, 2.5, 9.0], strict=True):
        w.keycloak_cpu_s = seconds
    for w, seconds in zip(keycloak, [2.0, 2.2, 1.0], strict=True):
        w.keycloak_cpu_s = seconds
    summary = Pair("code_login", facade, keycloak).summary()
    assert summary["keycloak_cpu_ms_facade"] == 3.0  # 3 s over 1,000 requests
    assert summary["keycloak_cpu_ms_keycloak"] == 2.0


def test_no_keycloak_cpu_is_reported_when_a_window_could_not_read_it():
    facade, keycloak = [window(100)], [window(100)]
    facade[0].keycloak_cpu_s = 2.0  # Keycloak's side None: it ran on another machine
    assert "keycloak_cpu_ms_facade" not in Pair("refresh", facade, keycloak).summary()


def test_cpu_seconds_reads_this_process_and_ignores_a_vanished_one():
    used = cpu_seconds({os.getpid()})
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert cpu_seconds({os.getpid()}) > used
    assert cpu_seconds({2**22 + 1}) == 0.0  # above Linux's largest pid


def test_settle_returns_once_the_processes_are_quiet():
    assert settle({2**22 + 1}, limit=5.0) < 2.0  # nothing running: quiet at the first second
