"""The end-to-end benchmark's code-login baseline, which needs no load to be right: the Redis
check's cost per request is added to the Keycloak call's, so the facade is judged against a
client that does both, never against the exchange alone."""

from __future__ import annotations

import pytest

from benchmarks.bench_http import Pair, Window


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
