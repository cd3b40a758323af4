"""Keycloak's CPU per sign-in exchange, by where the ``facade_profile`` claim's mappers sit.

A cold code sign-in is one token exchange that also brings the user's profile in its ID token
(``facade.realm.profile_claim``). The mappers writing that claim can sit on the contract client
itself (what ``facade realm apply`` writes; the exchange asks for ``scope=openid``) or in an
optional client scope the exchange names (what earlier versions did:
``scope=openid <scope>``). This benchmark measures, under load (wrk, ``--connections``), four
variants against the ``member`` client, each as Keycloak's CPU per answered request (its JVM's
``utime + stime`` over the window, divided by the requests) and as a rate:

* ``client_plain``, ``client_openid``: the mappers on the client; the exchange without and
  with ``openid``;
* ``scope_plain``, ``scope_openid``: the mappers in the optional scope ``bench-profile-scope``
  (none on the client); without and with ``openid <scope>``.

Between windows it moves the mappers, so it needs the master realm's administrator
(``KEYCLOAK_ADMIN_PASSWORD``, default ``admin``) and must not run against a realm that serves
people: for the seconds a window lasts the realm is not as ``realm apply`` leaves it. At the end
the mappers are back on the client and the scope is deleted. Rounds run the variants in
mirrored order (A B C D, D C B A, ...), each window after Keycloak went quiet and a discarded
warm-up window of the same variant; the JSON line gives each variant's median and every
round's cost relative to the plain exchange of the same placement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin

from benchmarks.bench_http import (
    WARM_UP_SECONDS,
    Bench,
    Pinning,
    add_stack_arguments,
    run_wrk,
    settle,
    timed_window,
)
from facade.realm.apply import load_user_profile
from facade.realm.mappers import client_mapper_owner, scope_mapper_owner, sync_mappers
from facade.realm.profile_claim import MAPPER_PREFIX, profile_mappers

CLIENT = "facade-member"
SCOPE = "bench-profile-scope"
VARIANTS = ("client_plain", "client_openid", "scope_plain", "scope_openid")


class Placement:
    """Moves the claim's mappers between the member client and the benchmark's scope."""

    def __init__(self, admin: KeycloakAdmin) -> None:
        self.admin = admin
        self.mappers = profile_mappers(load_user_profile())
        client_uuid = admin.get_client_id(CLIENT)
        if client_uuid is None:
            raise SystemExit(f"the realm has no client {CLIENT!r}: run facade realm apply")
        self.client = client_uuid
        self.scope = str(
            admin.create_client_scope(
                {
                    "name": SCOPE,
                    "protocol": "openid-connect",
                    # As earlier versions' scope: kept out of the tokens' "scope" claim.
                    "attributes": {"include.in.token.scope": "false"},
                },
                skip_exists=True,
            )
        )
        scope_mappers = admin.get_client_scope(self.scope).get("protocolMappers", [])
        sync_mappers(scope_mapper_owner(admin, SCOPE, self.scope), scope_mappers, self.mappers, [])
        self.current: str | None = None

    def put(self, where: str) -> None:
        if where == self.current:
            return
        on_client = [
            m
            for m in self.admin.get_mappers_from_client(self.client)
            if m["name"].startswith(MAPPER_PREFIX)
        ]
        optional = {s["id"] for s in self.admin.get_client_optional_client_scopes(self.client)}
        if where == "client":
            if self.scope in optional:
                self.admin.delete_client_optional_client_scope(self.client, self.scope)
            owner = client_mapper_owner(self.admin, CLIENT, self.client)
            sync_mappers(owner, on_client, self.mappers, [])
        else:
            for mapper in on_client:
                self.admin.remove_client_mapper(self.client, mapper["id"])
            if self.scope not in optional:
                self.admin.add_client_optional_client_scope(self.client, self.scope, {})
        self.current = where

    def restore(self) -> None:
        self.put("client")
        self.admin.delete_client_scope(self.scope)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_stack_arguments(parser)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--pin", action="store_true", help="Keycloak on CPU 0 (and the facade 1)")
    args = parser.parse_args(argv)
    args.token_users = 0  # nobody signs in by password here

    bench = Bench(args)
    if not bench.keycloak_pids:
        print("Keycloak must run on this machine (its CPU is read from /proc)", file=sys.stderr)
        return 2
    admin = KeycloakAdmin(
        server_url=args.keycloak_url.rstrip("/") + "/",
        username=os.environ.get("KEYCLOAK_ADMIN", "admin"),
        password=os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin"),
        realm_name=bench.settings.keycloak_realm,
        user_realm_name="master",
    )
    bench.register_users()
    requests = {
        "client_plain": ("client", bench.exchanges()),
        "client_openid": ("client", bench.exchanges("openid")),
        "scope_plain": ("scope", bench.exchanges()),
        "scope_openid": ("scope", bench.exchanges(f"openid {SCOPE}")),
    }
    cost: dict[str, list[float]] = {v: [] for v in VARIANTS}
    rate: dict[str, list[float]] = {v: [] for v in VARIANTS}
    placement = Placement(admin)
    load_before = os.getloadavg()
    pinning = Pinning(args.keycloak_url, args.facade_url) if args.pin else None
    try:
        with tempfile.TemporaryDirectory() as tmp, pinning or contextlib.nullcontext():
            for round_index in range(args.rounds):
                order = VARIANTS if round_index % 2 == 0 else tuple(reversed(VARIANTS))
                for variant in order:
                    where, request = requests[variant]
                    placement.put(where)
                    settle(bench.keycloak_pids)
                    run_wrk(request, args, Path(tmp), seconds=WARM_UP_SECONDS)
                    window = timed_window(request, args, Path(tmp), bench.keycloak_pids)
                    spent = window.keycloak_cpu_s or 0.0  # Keycloak runs here (checked above)
                    cost[variant].append(1000 * spent / max(window.requests, 1))
                    rate[variant].append(window.rate)
                    print(
                        f"  round {round_index} {variant:<14} {window.rate:7.1f}/s  Keycloak "
                        f"{cost[variant][-1]:.2f} ms CPU/request  non-2xx {window.non2xx}",
                        file=sys.stderr,
                    )
    finally:
        placement.restore()
        bench.logout_all()  # once: ending sessions evicts the users from Keycloak's cache
        bench.delete_users()
    print(json.dumps(report(cost, rate, args, load_before)))
    return 0


def report(
    cost: dict[str, list[float]],
    rate: dict[str, list[float]],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    relative = {
        where: [
            round(with_id / plain, 3)
            for with_id, plain in zip(cost[f"{where}_openid"], cost[f"{where}_plain"], strict=True)
        ]
        for where in ("client", "scope")
    }
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            k: getattr(args, k) for k in ("users", "seconds", "rounds", "connections", "pin")
        },
        "keycloak_cpu_ms": {v: round(statistics.median(cost[v]), 3) for v in VARIANTS},
        "rate": {v: round(statistics.median(rate[v]), 1) for v in VARIANTS},
        "openid_vs_plain_rounds": relative,
        "openid_vs_plain_median": {k: statistics.median(v) for k, v in relative.items()},
    }


if __name__ == "__main__":
    raise SystemExit(main())
