"""Facade CPU per bearer check (``me``) or per refresh (``refresh``), as one JSON line.

The end-to-end ratios of ``bench_http`` move with everyone's load on a shared machine; the CPU
charged to the facade's own processes per request hardly does, so this is the figure to cut
(issue 14, item 2 and the refresh ratio)::

    python -m benchmarks.bench_request_cpu --operation me
    python -m benchmarks.bench_request_cpu --operation refresh --code /tmp/base --code .
    python -m benchmarks.bench_request_cpu --operation me --facade-url http://127.0.0.1:8000

For each ``--code`` tree a facade is started as ``bench_signin_cpu`` starts it (all on one Redis
namespace and one identity store; ``--server`` picks gunicorn or granian); ``--users`` members
are registered once. Rounds alternate between the facades (A B A B ...); each sends
``--requests`` requests from ``--threads`` client threads:

``me``       member ``GET /api/v1/auth/me`` with valid access tokens (one per user, reused as
             a client reuses its token until it expires);
``refresh``  member ``POST /api/v1/auth/refresh``, each with a refresh token of its own, all
             issued before the round (one impersonation each, not measured).

``--keycloak-baseline`` adds rounds of the Keycloak request a client would make instead
(userinfo with an ``openid`` token, or the refresh grant), for Keycloak's CPU per request.

The CPU of a round is the growth of ``utime + stime`` of every process listening on the facade's
port (and of Keycloak's JVM) over the round, divided by the successful requests; a warm-up round
per facade is not measured. Keycloak's figure includes whatever else its JVM serves meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests

from benchmarks.bench_http import Bench, listening_pids
from benchmarks.bench_signin_cpu import add_tree_arguments, drive, facades, measured

#: The target of ``--keycloak-baseline``: requests straight to Keycloak, no facade.
KEYCLOAK = "keycloak:"


def member_token_sets(bench: Bench, count: int) -> list[tuple[str, str]]:
    """``count`` fresh (access, refresh) pairs, one new session each, users taken in turn."""
    pairs = []
    for index in range(count):
        user_id = bench.users[index % len(bench.users)][0]
        user = bench.services.users.get(user_id, fresh=True)
        assert user is not None
        issued = bench.services.sessions.sign_in_verified("member", user)
        pairs.append((issued.access_token, issued.refresh_token))
    return pairs


def round_sender(
    bench: Bench, url: str, operation: str, count: int
) -> Callable[[requests.Session, int], requests.Response]:
    """What one round sends (its tokens obtained now, before the round is measured)."""
    if url == KEYCLOAK:
        return keycloak_sender(bench, operation, count)
    if operation == "me":
        access = [pair[0] for pair in member_token_sets(bench, min(count, len(bench.users)))]
        return lambda session, index: session.get(
            f"{url}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {access[index % len(access)]}"},
            timeout=30,
        )
    refresh = [pair[1] for pair in member_token_sets(bench, count)]
    return lambda session, index: session.post(
        f"{url}/api/v1/auth/refresh",
        data=json.dumps({"refresh_token": refresh[index]}),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def keycloak_sender(
    bench: Bench, operation: str, count: int
) -> Callable[[requests.Session, int], requests.Response]:
    """The Keycloak request a client would make instead (``--keycloak-baseline``): userinfo
    with an ``openid`` token of ``facade-member``, or its refresh grant."""
    if operation == "me":
        bench.args.token_users = len(bench.users)
        access = bench.openid_tokens()
        return lambda session, index: session.get(
            f"{bench.realm}/protocol/openid-connect/userinfo",
            headers={"Authorization": f"Bearer {access[index % len(access)]}"},
            timeout=30,
        )
    client = bench.settings.client_for("member")
    refresh = [pair[1] for pair in member_token_sets(bench, count)]
    return lambda session, index: session.post(
        f"{bench.realm}/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh[index],
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
        timeout=30,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tree_arguments(parser, "benchreq")
    parser.add_argument("--operation", choices=("me", "refresh"), default="me")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="per round")
    parser.add_argument(
        "--keycloak-baseline",
        action="store_true",
        help="also rounds of the Keycloak request itself (userinfo, refresh grant)",
    )
    args = parser.parse_args(argv)
    os.environ["FACADE_SERVER"] = args.server  # start_facade passes the environment on
    with facades(args, "bench-request-cpu-") as targets:
        if args.keycloak_baseline:
            targets.insert(0, ("keycloak", KEYCLOAK))
        bench = Bench(args)
        bench.register_users()
        keycloak = bench.keycloak_pids
        rows: dict[str, dict[str, list[float]]] = {
            name: {"facade_ms": [], "keycloak_ms": []} for name, _ in targets
        }
        warm_up = min(args.requests, 200)
        for _, url in targets:  # imports, pools, caches: not measured
            drive(url, round_sender(bench, url, args.operation, warm_up), warm_up, args.threads)
        for _ in range(args.rounds):
            for name, url in targets:
                send = round_sender(bench, url, args.operation, args.requests)
                facade = set() if url == KEYCLOAK else listening_pids(urlsplit(url).port or 80)
                _, facade_ms, keycloak_ms = measured(
                    facade, keycloak, partial(drive, url, send, args.requests, args.threads)
                )
                rows[name]["facade_ms"].append(facade_ms)
                rows[name]["keycloak_ms"].append(keycloak_ms)
        bench.logout_all()  # once: ending sessions evicts the users from Keycloak's cache
        bench.delete_users()
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": [round(x, 2) for x in os.getloadavg()],
        "operation": args.operation,
        "requests_per_round": args.requests,
        "threads": args.threads,
        "workers": args.workers,
        "server": args.server,
        "results": {
            name: {
                "facade_cpu_ms": round(statistics.mean(row["facade_ms"]), 3),
                "keycloak_cpu_ms": round(statistics.mean(row["keycloak_ms"]), 3),
                "facade_rounds": [round(x, 3) for x in row["facade_ms"]],
                "keycloak_rounds": [round(x, 3) for x in row["keycloak_ms"]],
            }
            for name, row in rows.items()
        },
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
