"""Keycloak's CPU per token-endpoint call, for each call the facade makes or could make, as one
JSON line: what an ID token, its signature and the profile mappers cost Keycloak.

    python -m benchmarks.bench_keycloak_cpu            # against `make dev`
    python -m benchmarks.bench_keycloak_cpu --calls 800 --rounds 3

Calls go through the facade's own gateway (`KeycloakGateway`), one at a time from one thread,
so Keycloak's CPU per call is the growth of its JVM's ``utime + stime`` (``/proc``) over a
round, divided by the calls; each variant runs once per round, in turn, and the median of the
rounds is reported. Sessions a round opens are ended after it, outside the measurement.

Variants (``member`` client): ``exchange`` (impersonation, no ID token: a sign-in whose user is
cached), ``exchange_profile`` (with ``openid``, whose ID token brings the profile: one whose
user is not), ``read_by_id`` (the admin read the latter replaces), ``refresh`` (of a plain
session) and ``refresh_profile`` (of a session the latter made: Keycloak signs it an ID token
every time).
The algorithm the client's ID tokens are signed with is reported with the result.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import jwt

from benchmarks.bench_http import Bench, add_stack_arguments, cpu_seconds
from facade.adapters.keycloak import KeycloakGateway

CONTRACT = "member"
VARIANTS = (
    "exchange",
    "exchange_profile",
    "read_by_id",
    "refresh",
    "refresh_profile",
)


class Calls:
    """One call per variant for a user, and the sessions they leave to end afterwards."""

    def __init__(self, gateway: KeycloakGateway, user_ids: list[str]) -> None:
        self.gateway = gateway
        self.users = itertools.cycle(user_ids)
        self.open: list[str] = []  # refresh tokens of sessions to end after the round
        self.plain: dict[str, str] = {}
        self.profile: dict[str, str] = {}

    def prepare(self, user_ids: list[str]) -> None:
        """A plain and a profile session per user, for the refresh variants."""
        for user_id in user_ids:
            self.plain[user_id] = self.gateway.exchange_for_user(CONTRACT, user_id).refresh_token
            signed = self.gateway.exchange_with_profile(CONTRACT, user_id)
            self.profile[user_id] = signed.tokens.refresh_token

    def call(self, variant: str) -> None:
        user_id = next(self.users)
        gateway = self.gateway
        if variant == "exchange":
            self.open.append(gateway.exchange_for_user(CONTRACT, user_id).refresh_token)
        elif variant == "exchange_profile":
            self.open.append(gateway.exchange_with_profile(CONTRACT, user_id).tokens.refresh_token)
        elif variant == "read_by_id":
            gateway.get_user(user_id)
        elif variant == "refresh":
            self.plain[user_id] = gateway.refresh(CONTRACT, self.plain[user_id]).refresh_token
        elif variant == "refresh_profile":
            self.profile[user_id] = gateway.refresh(CONTRACT, self.profile[user_id]).refresh_token
        else:
            raise ValueError(variant)

    def end_opened(self) -> None:
        for refresh_token in self.open:
            self.gateway.logout(CONTRACT, refresh_token)
        self.open.clear()


def id_token_alg(gateway: KeycloakGateway, user_id: str) -> str:
    """How Keycloak signs the client's ID tokens (``facade realm apply`` makes it HS512)."""
    raw = gateway._exchange(CONTRACT, user_id, {"scope": "openid"})
    gateway.logout(CONTRACT, str(raw["refresh_token"]))
    return str(jwt.get_unverified_header(str(raw["id_token"]))["alg"])


def measure(keycloak: set[int], calls: int, run: Callable[[], None]) -> float:
    """Keycloak's CPU milliseconds per call of ``run``."""
    before = cpu_seconds(keycloak)
    for _ in range(calls):
        run()
    return 1000 * (cpu_seconds(keycloak) - before) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_stack_arguments(parser)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--calls", type=int, default=600, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants")
    args = parser.parse_args(argv)
    args.token_users = 0  # nobody signs in by password here

    bench = Bench(args)
    gateway = bench.services.identity
    assert isinstance(gateway, KeycloakGateway)
    keycloak = bench.keycloak_pids
    if not keycloak:
        port = urlsplit(args.keycloak_url).port or 80
        print(f"no process listens on Keycloak's port {port}", file=sys.stderr)
        return 2
    bench.register_users()
    user_ids = [user_id for user_id, _ in bench.users]
    calls = Calls(gateway, user_ids)
    variants = [v for v in args.only.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}: choose from {', '.join(VARIANTS)}")
    per_call: dict[str, list[float]] = {variant: [] for variant in variants}
    try:
        calls.prepare(user_ids)
        for variant in variants:  # warm-up: the JIT compiles each path before it is timed
            for _ in range(300):
                calls.call(variant)
        calls.end_opened()
        load = os.getloadavg()
        alg = id_token_alg(gateway, user_ids[0])
        for round_index in range(args.rounds):
            for variant in variants:
                per_call[variant].append(
                    measure(keycloak, args.calls, lambda v=variant: calls.call(v))
                )
                calls.end_opened()
            print(f"  round {round_index + 1} done", file=sys.stderr)
    finally:
        calls.end_opened()
        for token in [*calls.plain.values(), *calls.profile.values()]:
            gateway.logout(CONTRACT, token)
        bench.delete_users()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": [round(x, 2) for x in load],
        "calls_per_round": args.calls,
        "id_token_alg": alg,
        "keycloak_cpu_ms": {v: round(statistics.median(ms), 2) for v, ms in per_call.items()},
        "rounds": {v: [round(x, 2) for x in ms] for v, ms in per_call.items()},
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
