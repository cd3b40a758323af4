"""Keycloak's CPU per token exchange, alone on its core or with the facade busy on the other.

``bench_http --pin`` puts Keycloak on CPU 0 and the facade on CPU 1, as on two machines. They
are not two machines: the cores share caches and memory (and, under a hypervisor, maybe one
physical core), so the facade's own work in its windows can make Keycloak spend more CPU per
request than in the baseline's windows, where CPU 1 is nearly idle. This measures that effect
with the facade's own work and no Keycloak call in it::

    python -m benchmarks.bench_neighbour            # against `make dev`, about 3 minutes

Keycloak's JVM runs on CPU 0; the facade's gunicorn, this process and wrk run on CPU 1. Each
round has two windows of wrk's bare exchange (``bench_http``'s code-login baseline), in mirrored
order: ``alone``, and ``facade_busy``, during which a second wrk (``--side-connections``) keeps
the facade serving member ``GET /auth/me``, bearer checks answered from its caches and the
token's signature (a profile not cached would cost a read by id: 50 users, a 60 s cache). The
JSON line gives Keycloak's CPU per exchange of each (medians of the rounds after the first,
which is warm-up), every round's busy/alone ratio and the facade's core share while busy.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_http import (
    WARM_UP_SECONDS,
    Bench,
    Pinning,
    Request,
    Window,
    add_stack_arguments,
    cpu_seconds,
    run_wrk,
    settle,
    timed_window,
)

SIDES = ("alone", "facade_busy")


def report(
    cost: dict[str, list[float]],
    facade_core: list[float],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    """The JSON line: round 0 is warm-up, listed but left out of the medians."""
    ratios = [b / a for a, b in zip(cost["alone"], cost["facade_busy"], strict=True) if a]
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            k: getattr(args, k)
            for k in ("users", "seconds", "rounds", "connections", "side_connections")
        },
        "keycloak_cpu_ms": {
            side: round(statistics.median(cost[side][1:] or cost[side]), 3) for side in SIDES
        },
        "keycloak_cpu_ms_rounds": {side: [round(x, 3) for x in cost[side]] for side in SIDES},
        "busy_vs_alone_rounds": [round(r, 3) for r in ratios],
        "busy_vs_alone_median": round(statistics.median(ratios[1:] or ratios), 3),
        "facade_core_busy": round(statistics.median(facade_core), 2) if facade_core else None,
    }


def busy_window(
    request: Request,
    side_request: Request,
    args: argparse.Namespace,
    side: argparse.Namespace,
    tmp: Path,
    keycloak: set[int],
    facade: set[int],
) -> tuple[Window, float]:
    """The exchange window while the facade serves ``side_request`` (``side``'s connections);
    and the facade's core share over it."""
    lasting = WARM_UP_SECONDS + args.seconds + 1  # covers the warm-up and the window
    loader = threading.Thread(target=run_wrk, args=(side_request, side, tmp, lasting))
    loader.start()
    try:
        run_wrk(request, args, tmp, seconds=WARM_UP_SECONDS)
        before = cpu_seconds(facade)
        window = timed_window(request, args, tmp, keycloak)
        share = (cpu_seconds(facade) - before) / window.seconds if window.seconds else 0.0
    finally:
        loader.join()
    return window, share


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_stack_arguments(parser)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--token-users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--side-connections", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also write the JSON line here")
    args = parser.parse_args(argv)

    bench = Bench(args)
    if not bench.keycloak_pids:
        print("Keycloak must run on this machine (its CPU is read from /proc)", file=sys.stderr)
        return 2
    side = copy.copy(args)
    side.connections, side.wrk_threads = args.side_connections, 1
    os.sched_setaffinity(0, {1})  # this process and its wrk beside the facade, off Keycloak's
    bench.register_users()
    cost: dict[str, list[float]] = {s: [] for s in SIDES}
    facade_core: list[float] = []
    load_before = os.getloadavg()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            Pinning(args.keycloak_url, args.facade_url) as pinning,
        ):
            _, facade = pinning.plan["facade"]
            side_request, _ = bench.profile()
            run_wrk(side_request, side, Path(tmp), seconds=3)  # the facade's caches filled
            request = bench.exchanges()
            for round_index in range(args.rounds):
                for name in SIDES if round_index % 2 == 0 else tuple(reversed(SIDES)):
                    settle(bench.keycloak_pids)
                    if name == "alone":
                        run_wrk(request, args, Path(tmp), seconds=WARM_UP_SECONDS)
                        window = timed_window(request, args, Path(tmp), bench.keycloak_pids)
                    else:
                        window, share = busy_window(
                            request,
                            side_request,
                            args,
                            side,
                            Path(tmp),
                            bench.keycloak_pids,
                            facade,
                        )
                        facade_core.append(share)
                    cost[name].append(window.keycloak_ms_per_request or 0.0)
                    print(
                        f"  round {round_index} {name:<12} {window.rate:7.1f}/s  Keycloak "
                        f"{cost[name][-1]:.2f} ms CPU/request",
                        file=sys.stderr,
                    )
    finally:
        bench.logout_all()
        bench.delete_users()
    line = json.dumps(report(cost, facade_core, args, load_before))
    print(line)
    if args.out:
        args.out.write_text(line + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
