"""The neighbour benchmark's report: its first round is warm-up, listed but never in a median."""

from __future__ import annotations

import argparse

from benchmarks.bench_neighbour import report


def test_the_first_round_is_listed_but_left_out_of_the_medians():
    args = argparse.Namespace(users=10, seconds=1, rounds=3, connections=2, side_connections=1)
    cost = {"alone": [4.0, 2.0, 2.0], "facade_busy": [2.0, 2.2, 2.4]}
    line = report(cost, [0.8, 0.9, 0.7], args, (1.0, 1.0, 1.0))
    assert line["keycloak_cpu_ms"] == {"alone": 2.0, "facade_busy": 2.3}
    assert line["busy_vs_alone_rounds"] == [0.5, 1.1, 1.2]
    assert line["busy_vs_alone_median"] == 1.15  # not pulled down by the warm-up's 0.5
    assert line["facade_core_busy"] == 0.8
    assert line["keycloak_cpu_ms_rounds"]["alone"] == [4.0, 2.0, 2.0]


def test_a_single_round_is_its_own_median():
    args = argparse.Namespace(users=10, seconds=1, rounds=1, connections=2, side_connections=1)
    line = report({"alone": [2.0], "facade_busy": [2.5]}, [], args, (1.0, 1.0, 1.0))
    assert line["busy_vs_alone_median"] == 1.25 and line["facade_core_busy"] is None
