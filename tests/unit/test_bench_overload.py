"""The overload benchmark's judgement and schedule, which need no load to be right.

What counts as "the contract's refusal" decides the benchmark's verdict, and an open loop that
drifted from its schedule would offer less than it claims.
"""

from __future__ import annotations

import itertools

import pytest

from benchmarks.bench_overload import (
    Outcome,
    Phase,
    Phones,
    classify,
    lateness,
    percentile,
    send_offsets,
    verdict,
)

RETRY = {"Retry-After": "1"}


@pytest.mark.parametrize(
    ("contract", "status", "headers", "body", "expected"),
    [
        ("member", 200, {}, {"code": 0, "message": "success", "data": {}}, "ok"),
        ("member", 429, {}, {"code": 429, "message": "请求过于频繁", "data": None}, "too_many"),
        ("member", 503, RETRY, {"code": 503, "message": "服务暂不可用"}, "unavailable"),
        ("customer", 200, {}, {"code": 0, "message": "success", "data": {}}, "ok"),
        ("customer", 200, RETRY, {"code": 10008, "message": "too many requests"}, "too_many"),
        ("customer", 200, RETRY, {"code": 10009, "message": "service unavailable"}, "unavailable"),
    ],
)
def test_the_contracts_own_answers_are_recognised(contract, status, headers, body, expected):
    assert classify(contract, status, headers, body) == (expected, "")


def test_an_unavailable_answer_without_retry_after_is_not_the_documented_refusal():
    body = {"code": 503, "message": "服务暂不可用", "data": None}
    assert classify("member", 503, {}, body) == ("other", "HTTP 503 code 503 without Retry-After")


@pytest.mark.parametrize(
    ("contract", "status", "body", "detail"),
    [
        # gunicorn's or falcon's own pages, not the contract's envelope
        ("member", 503, None, "HTTP 503 code None"),
        ("member", 502, {"title": "502 Bad Gateway"}, "HTTP 502 code None"),
        # a member-style status sent to a customer client, and a customer code to a member one
        ("customer", 503, {"code": 503}, "HTTP 503 code 503"),
        ("member", 200, {"code": 10009}, "HTTP 200 code 10009"),
        # a wrong code is documented but is no success and no refusal: the benchmark is broken
        ("member", 400, {"code": 400, "message": "验证码错误或已过期"}, "HTTP 400 code 400"),
        ("customer", 200, {"code": 10006}, "HTTP 200 code 10006"),
        ("member", 500, {"code": 500}, "HTTP 500 code 500"),
    ],
)
def test_anything_else_is_other_and_says_what_came(contract, status, body, detail):
    assert classify(contract, status, RETRY, body) == ("other", detail)


def test_an_open_loop_sends_at_its_rate_for_the_whole_window():
    offsets = send_offsets(200, 10)
    assert len(offsets) == 2000
    assert offsets[0] == 0
    assert offsets[-1] == pytest.approx(9.995)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offsets)}
    assert gaps == {0.005}


def test_a_schedule_counts_only_sends_that_fit_and_survives_float_rounding():
    assert len(send_offsets(0.1, 30)) == 3  # 0.1 * 30 is 3.0000000000000004
    assert len(send_offsets(2.5, 1)) == 2
    assert len(send_offsets(3, 0.9)) == 2
    assert send_offsets(0, 10) == []
    assert send_offsets(10, 0) == []


def test_lateness_is_the_delay_behind_schedule_never_negative():
    assert lateness(100.0, 0.5, 100.75) == pytest.approx(0.25)
    assert lateness(100.0, 0.5, 100.25) == 0.0


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_a_phone_is_lent_to_one_request_at_a_time_with_a_fresh_code_each_time():
    planted = iter(range(100))
    phones = Phones(["a", "b"], plant=lambda phone: f"{phone}{next(planted)}")
    assert [phones.lend(), phones.lend(), phones.lend()] == [("a", "a0"), ("b", "b1"), None]
    phones.give_back("a")
    assert phones.lend() == ("a", "a2")


def test_phones_without_a_code_to_spend_take_turns():
    phones = Phones(["a", "b"])
    assert [phones.lend() for _ in range(3)] == [("a", ""), ("b", ""), ("a", "")]


def test_served_rate_counts_successes_answered_inside_the_window():
    phase = Phase(
        "overload",
        start=0.0,
        end=2.0,
        outcomes=[
            Outcome(0.1, 0.2, "ok"),
            Outcome(1.0, 0.9, "ok"),
            Outcome(1.5, 0.9, "ok"),  # answered after the window
            Outcome(0.2, 0.01, "unavailable"),
        ],
    )
    assert phase.served_rps() == 1.0


def summary(served, answers=None, refusal_p99=20.0, healthz_p99=5.0):
    counts = {"ok": 1, "too_many": 0, "unavailable": 0, "other": 0, "timeout": 0, "error": 0}
    return {
        "served_rps": served,
        "answers": {**counts, **(answers or {})},
        "refusal_latency": {"p99_ms": refusal_p99},
        "healthz": {"p99_ms": healthz_p99},
    }


def test_the_verdict_passes_a_facade_that_refuses_its_excess_quickly():
    phases = {
        "sustainable": summary(50),
        "overload": summary(45, {"unavailable": 1500}),
        "recovery": summary(48),
    }
    assert all(verdict(phases, timeout=5, healthz_p99_ms=100).values())


def test_the_verdict_names_each_way_of_failing():
    phases = {
        "sustainable": summary(50),
        "overload": summary(10, {"timeout": 3}, refusal_p99=4000.0, healthz_p99=900.0),
        "recovery": summary(20),
    }
    assert verdict(phases, timeout=5, healthz_p99_ms=100) == {
        "no_timeouts_or_undocumented": False,
        "refusals_quick": False,
        "healthz_low": False,
        "no_collapse": False,
        "recovered": False,
    }
