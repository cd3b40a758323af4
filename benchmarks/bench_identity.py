"""Throughput and latency of the identity core, each beside Keycloak doing the same directly.

Run from the repository root::

    python -m benchmarks.bench_identity                       # starts its own Redis + Keycloak
    python -m benchmarks.bench_identity --keycloak-url http://127.0.0.1:8081 \\
        --redis-url redis://127.0.0.1:6390/0 --threads 4 --seconds 5 --json bench.json

What runs
    One process, ``--threads`` long-lived worker threads (default 4), like one gunicorn gthread
    worker: the facade's python-keycloak clients are per thread (``threading.local`` in the
    gateway) and survive from one measurement window to the next, as they do in a worker. The
    services are the real ones, from ``facade.bootstrap.build_services`` (development settings,
    a Redis prefix of this run's own, the default 2 s profile cache). A pool of ``--users``
    users (default 20) is registered through ``services.registrar``; thread *t* uses the users
    whose index is *t* modulo the thread count, round-robin.

    The baselines call Keycloak directly with a plain ``requests.Session`` per thread (keep-alive,
    no python-keycloak), i.e. about the least a client can spend per call:

    ============================  ==============================================================
    facade operation              baselines
    ============================  ==============================================================
    password sign-in              password grant (client ``member``); username search + grant
    (``sign_in_password``)        (the same two Keycloak calls the facade makes)
    code sign-in                  one impersonation exchange by the ``facade-member`` client for
    (``sign_in_verified``)        itself; GET user + that exchange (the facade's two calls)
    refresh (``refresh``)         refresh grant (client ``member``); GET user + refresh grant
    profile read                  admin ``GET /admin/realms/facade/users/{id}`` with a service-
    (``authenticate``,            account token; the OIDC userinfo endpoint
    ``users.get``)
    ============================  ==============================================================

    The "same calls" baselines make exactly the Keycloak calls the facade makes, so
    facade/same-calls is the facade's own overhead (Python, python-keycloak, Redis), while
    facade/single-call also counts the Keycloak calls the facade chooses to add.

Noise
    The machine is shared, so measurements of one operation group are interleaved in mirrored
    order over ``--rounds`` windows (default 2): round 0 runs the baselines then the facade,
    round 1 the facade then the baselines in reverse, and so on (A B B A ...), so a load drift
    that is linear in time hits every operation equally. Each operation gets ``--seconds`` of
    measured time in all (default 5, split evenly over the rounds). Reported ops/s is the mean of
    the rounds' rates (completed operations / wall time from the start barrier until the last
    thread returns); p50/p95 come from every latency of every round; ``spread`` is
    (max - min) / mean of the round rates. Before each group, every operation of the group runs
    twice per thread unmeasured (connections, admin tokens, signing keys, JIT).

Sessions
    Every sign-in creates a Keycloak user session (30-day idle timeout in this realm), so after
    every measurement window all pool users are logged out through the admin API (``POST
    /users/{id}/logout`` with the ``facade`` service account), outside the timed part; windows
    that need tokens (refresh, profile reads) sign the pool in again first, also untimed. At the
    end the pool users are deleted and the run's Redis keys removed, so a shared Keycloak keeps
    nothing of the run. Refresh tokens are reused (the realm does not rotate them,
    ``revokeRefreshToken: false``); the run checks this first and chains the new refresh token
    instead if a reused one is refused.

Defaults take about 80 s plus registration (and the Keycloak start when it starts its own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from facade.bootstrap import Services, build_services
from facade.core.errors import Unavailable
from facade.core.models import Registration, User
from facade.settings import Settings

CONTRACT = "member"
PASSWORD = "Bench-Secret-123"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
WARMUP_PER_THREAD = 2

T = TypeVar("T")
Op = Callable[[int], None]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the direct Keycloak client of the baselines -------------------------------------------


class DirectKeycloak:
    """Keycloak's token, userinfo and admin endpoints over a plain keep-alive session per
    thread: the cheapest client, so that facade/baseline shows everything the facade adds."""

    def __init__(self, settings: Settings) -> None:
        base = settings.keycloak_url.rstrip("/")
        realm = settings.keycloak_realm
        self.token_url = f"{base}/realms/{realm}/protocol/openid-connect/token"
        self.userinfo_url = f"{base}/realms/{realm}/protocol/openid-connect/userinfo"
        self.admin_url = f"{base}/admin/realms/{realm}"
        contract = settings.client_for(CONTRACT)
        self.contract = {"client_id": contract.client_id, "client_secret": contract.client_secret}
        self.service = {
            "client_id": settings.keycloak_client_id,
            "client_secret": settings.keycloak_client_secret,
        }
        self.timeout = settings.keycloak_timeout
        self._local = threading.local()
        self._service_lock = threading.Lock()
        self._service_token: tuple[str, float] | None = None

    def http(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        response = self.http().post(self.token_url, data=form, timeout=self.timeout)
        if response.status_code != 200:
            raise RuntimeError(f"token endpoint {response.status_code}: {response.text[:200]}")
        body: dict[str, Any] = response.json()
        return body

    def _admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service_token()}"}

    def service_token(self) -> str:
        """The ``facade`` service account's token, fetched again 30 s before it expires."""
        with self._service_lock:
            cached = self._service_token
            if cached is None or time.monotonic() > cached[1]:
                body = self._token({"grant_type": "client_credentials", **self.service})
                expires = time.monotonic() + int(body.get("expires_in", 60)) - 30
                cached = self._service_token = (str(body["access_token"]), expires)
            return cached[0]

    # the operations, each one Keycloak call

    def password_grant(self, username: str, password: str) -> dict[str, Any]:
        form = {"grant_type": "password", "username": username, "password": password}
        return self._token({**form, "scope": "openid", **self.contract})

    def impersonate(self, user_id: str) -> dict[str, Any]:
        """Direct impersonation by the contract client for itself, as the facade does it."""
        return self._token(
            {
                "grant_type": TOKEN_EXCHANGE,
                "requested_subject": user_id,
                "requested_token_type": REFRESH_TOKEN_TYPE,
                "scope": "openid",
                **self.contract,
            }
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token({**form, **self.contract})

    def search_username(self, username: str) -> list[dict[str, Any]]:
        response = self.http().get(
            f"{self.admin_url}/users",
            params={"username": username, "exact": "true", "max": "2"},
            headers=self._admin_headers(),
            timeout=self.timeout,
        )
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        if not found:
            raise RuntimeError(f"no user {username}")
        return found

    def get_user(self, user_id: str) -> dict[str, Any]:
        response = self.http().get(
            f"{self.admin_url}/users/{user_id}", headers=self._admin_headers(), timeout=self.timeout
        )
        response.raise_for_status()
        user: dict[str, Any] = response.json()
        return user

    def userinfo(self, access_token: str) -> dict[str, Any]:
        response = self.http().get(
            self.userinfo_url,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=self.timeout,
        )
        response.raise_for_status()
        info: dict[str, Any] = response.json()
        return info

    # housekeeping, never timed

    def logout_user(self, user_id: str) -> None:
        response = self.http().post(
            f"{self.admin_url}/users/{user_id}/logout",
            headers=self._admin_headers(),
            timeout=self.timeout,
        )
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def delete_user(self, user_id: str) -> None:
        response = self.http().delete(
            f"{self.admin_url}/users/{user_id}", headers=self._admin_headers(), timeout=self.timeout
        )
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def session_count(self, user_id: str) -> int:
        response = self.http().get(
            f"{self.admin_url}/users/{user_id}/sessions",
            headers=self._admin_headers(),
            timeout=self.timeout,
        )
        response.raise_for_status()
        return len(response.json())


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Window:
    ops: int
    errors: int
    elapsed: float
    latencies: list[float]
    first_error: str | None

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class Measured:
    name: str
    label: str
    side: str  # "facade" or "baseline"
    windows: list[Window] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.fmean(w.rate for w in self.windows) if self.windows else 0.0

    @property
    def spread(self) -> float:
        rates = [w.rate for w in self.windows]
        mean = statistics.fmean(rates) if rates else 0.0
        return (max(rates) - min(rates)) / mean if mean and len(rates) > 1 else 0.0

    def percentile(self, fraction: float) -> float:
        latencies = sorted(x for w in self.windows for x in w.latencies)
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000.0

    def as_json(self) -> dict[str, Any]:
        errors = [w.first_error for w in self.windows if w.first_error]
        return {
            "label": self.label,
            "side": self.side,
            "ops_per_s": round(self.rate, 2),
            "round_ops_per_s": [round(w.rate, 2) for w in self.windows],
            "spread": round(self.spread, 3),
            "p50_ms": round(self.percentile(0.50), 2),
            "p95_ms": round(self.percentile(0.95), 2),
            "ops": sum(w.ops for w in self.windows),
            "errors": sum(w.errors for w in self.windows),
            "first_error": errors[0] if errors else None,
        }


class Workers:
    """A fixed set of long-lived threads; ``measure`` starts all of them at one barrier."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench")

    def map(self, fn: Callable[[T], Any], items: Sequence[T]) -> list[Any]:
        return list(self._executor.map(fn, items))

    def own_slots(self, index: int, slots: int) -> list[int]:
        """Thread ``index``'s users: disjoint between threads, so chained tokens never race."""
        return [slot for slot in range(slots) if slot % self.threads == index] or [index % slots]

    def measure(self, op: Op, slots: int, seconds: float) -> Window:
        """Run ``op`` on every thread for ``seconds``; thread t cycles through its slots."""
        started: list[float] = []
        barrier = threading.Barrier(
            self.threads, action=lambda: started.append(time.perf_counter())
        )

        def run(index: int) -> tuple[list[float], int, str | None, float]:
            own = self.own_slots(index, slots)
            latencies: list[float] = []
            errors = 0
            first_error: str | None = None
            barrier.wait(timeout=60)
            deadline = started[0] + seconds
            n = 0
            now = time.perf_counter()
            while now < deadline:
                slot = own[n % len(own)]
                n += 1
                try:
                    op(slot)
                except Exception as exc:
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                    time.sleep(0.01)  # do not spin on a failing server
                    now = time.perf_counter()
                    continue
                end = time.perf_counter()
                latencies.append(end - now)
                now = end
            return latencies, errors, first_error, now

        results = self.map(run, range(self.threads))
        finished = max(r[3] for r in results)
        return Window(
            ops=sum(len(r[0]) for r in results),
            errors=sum(r[1] for r in results),
            elapsed=finished - started[0],
            latencies=[x for r in results for x in r[0]],
            first_error=next((r[2] for r in results if r[2]), None),
        )

    def warm(self, op: Op, slots: int) -> None:
        """Each thread runs ``op`` a few times, unmeasured; a failure here stops the run."""

        def run(index: int) -> None:
            own = self.own_slots(index, slots)
            for n in range(WARMUP_PER_THREAD):
                op(own[n % len(own)])

        self.map(run, range(self.threads))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Tokens:
    access: str
    refresh: str


@dataclass
class Group:
    title: str
    facade: list[str]
    baselines: list[str]
    needs_tokens: bool


class IdentityBench:
    def __init__(self, services: Services, workers: Workers, users: list[User]) -> None:
        self.services = services
        self.workers = workers
        self.users = users
        self.direct = DirectKeycloak(services.settings)
        self.tokens: list[Tokens] = []
        self.chain_refresh = False
        sessions = services.sessions
        direct = self.direct

        def user(slot: int) -> User:
            return users[slot]

        def facade_refresh(slot: int) -> None:
            fresh = sessions.refresh(CONTRACT, self.tokens[slot].refresh)
            if self.chain_refresh:
                self.tokens[slot] = Tokens(fresh.access_token, fresh.refresh_token)

        def direct_refresh(slot: int) -> None:
            fresh = direct.refresh(self.tokens[slot].refresh)
            if self.chain_refresh:
                self.tokens[slot] = Tokens(fresh["access_token"], fresh["refresh_token"])

        def same_pw(slot: int) -> None:
            direct.search_username(user(slot).username)
            direct.password_grant(user(slot).username, PASSWORD)

        def same_exchange(slot: int) -> None:
            direct.get_user(user(slot).id)
            direct.impersonate(user(slot).id)

        def same_refresh(slot: int) -> None:
            direct.get_user(user(slot).id)
            direct_refresh(slot)

        # name: (label, side, operation)
        self.ops: dict[str, tuple[str, str, Op]] = {
            "facade_password_sign_in": (
                "sessions.sign_in_password",
                "facade",
                lambda s: _discard(sessions.sign_in_password(CONTRACT, user(s).username, PASSWORD)),
            ),
            "direct_password_grant": (
                "password grant",
                "baseline",
                lambda s: _discard(direct.password_grant(user(s).username, PASSWORD)),
            ),
            "direct_search_and_password_grant": (
                "username search + password grant (same calls)",
                "baseline",
                same_pw,
            ),
            "facade_code_sign_in": (
                "sessions.sign_in_verified",
                "facade",
                lambda s: _discard(sessions.sign_in_verified(CONTRACT, user(s))),
            ),
            "direct_impersonation": (
                "impersonation exchange (1 call)",
                "baseline",
                lambda s: _discard(direct.impersonate(user(s).id)),
            ),
            "direct_get_and_exchange": (
                "GET user + impersonation (same calls)",
                "baseline",
                same_exchange,
            ),
            "facade_refresh": ("sessions.refresh", "facade", facade_refresh),
            "direct_refresh": ("refresh grant", "baseline", direct_refresh),
            "direct_get_and_refresh": (
                "GET user + refresh grant (same calls)",
                "baseline",
                same_refresh,
            ),
            "facade_authenticate": (
                "sessions.authenticate",
                "facade",
                lambda s: _discard(sessions.authenticate(CONTRACT, self.tokens[s].access)),
            ),
            "facade_users_get": (
                "users.get",
                "facade",
                lambda s: _discard(services.users.get(user(s).id)),
            ),
            "direct_admin_get_user": (
                "admin GET /users/{id}",
                "baseline",
                lambda s: _discard(direct.get_user(user(s).id)),
            ),
            "direct_userinfo": (
                "OIDC userinfo",
                "baseline",
                lambda s: _discard(direct.userinfo(self.tokens[s].access)),
            ),
        }
        self.groups = [
            Group(
                "password sign-in",
                ["facade_password_sign_in"],
                ["direct_password_grant", "direct_search_and_password_grant"],
                needs_tokens=False,
            ),
            Group(
                "code sign-in",
                ["facade_code_sign_in"],
                [
                    "direct_impersonation",
                    "direct_get_and_exchange",
                ],
                needs_tokens=False,
            ),
            Group(
                "refresh",
                ["facade_refresh"],
                ["direct_refresh", "direct_get_and_refresh"],
                needs_tokens=True,
            ),
            Group(
                "profile read",
                ["facade_authenticate", "facade_users_get"],
                ["direct_admin_get_user", "direct_userinfo"],
                needs_tokens=True,
            ),
        ]
        self.results = {
            name: Measured(name, label, side) for name, (label, side, _) in self.ops.items()
        }

    # housekeeping

    def sign_in_pool(self) -> None:
        def one(user: User) -> Tokens:
            tokens = self.services.sessions.sign_in_verified(CONTRACT, user)
            return Tokens(tokens.access_token, tokens.refresh_token)

        self.tokens = self.workers.map(one, self.users)

    def logout_pool(self) -> None:
        self.workers.map(lambda u: self.direct.logout_user(u.id), self.users)

    def check_refresh_reuse(self) -> None:
        """Keycloak's default keeps a refresh token valid after use; chain if this one does not."""
        self.sign_in_pool()
        first = self.tokens[0].refresh
        try:
            self.direct.refresh(first)
            self.direct.refresh(first)
            self.services.sessions.refresh(CONTRACT, first)
        except Exception as exc:
            log(f"reused refresh token refused ({exc}); chaining refresh tokens instead")
            self.chain_refresh = True
        self.logout_pool()

    # running

    def run(self, seconds: float, rounds: int) -> None:
        window = seconds / rounds
        slots = len(self.users)
        self.check_refresh_reuse()
        for group in self.groups:
            names = group.baselines + group.facade
            log(f"== {group.title}: {len(names)} operations x {rounds} rounds x {window:.2f} s")
            if group.needs_tokens:
                self.sign_in_pool()
            for name in names:
                self.workers.warm(self.ops[name][2], slots)
            self.logout_pool()
            for round_index in range(rounds):
                order = names if round_index % 2 == 0 else list(reversed(names))
                for name in order:
                    if group.needs_tokens:
                        self.sign_in_pool()
                    result = self.workers.measure(self.ops[name][2], slots, window)
                    self.logout_pool()
                    self.results[name].windows.append(result)
                    errors = (
                        f", {result.errors} errors ({result.first_error})" if result.errors else ""
                    )
                    log(f"   round {round_index}: {name:34} {result.rate:9.1f} ops/s{errors}")

    def comparisons(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for group in self.groups:
            for facade_name in group.facade:
                facade = self.results[facade_name]
                for baseline_name in group.baselines:
                    baseline = self.results[baseline_name]
                    rows.append(
                        {
                            "operation": group.title,
                            "facade": facade_name,
                            "baseline": baseline_name,
                            "ratio": _ratio(facade.rate, baseline.rate),
                        }
                    )
        return rows

    def cleanup(self) -> None:
        self.workers.map(lambda u: self.direct.delete_user(u.id), self.users)


def _ratio(facade: float, baseline: float) -> float | None:
    return round(facade / baseline, 3) if baseline else None


def _discard(_: object) -> None:
    return None


# --- output ----------------------------------------------------------------------------------


def table(bench: IdentityBench) -> str:
    header = (
        "operation",
        "facade",
        "facade ops/s",
        "baseline",
        "baseline ops/s",
        "facade/baseline",
        "facade p50/p95 ms",
        "baseline p50/p95 ms",
    )
    rows: list[tuple[str, ...]] = [header]
    for row in bench.comparisons():
        facade = bench.results[row["facade"]]
        baseline = bench.results[row["baseline"]]
        ratio = row["ratio"]
        rows.append(
            (
                row["operation"],
                facade.label,
                f"{facade.rate:.1f} ±{facade.spread * 50:.0f}%",
                baseline.label,
                f"{baseline.rate:.1f} ±{baseline.spread * 50:.0f}%",
                f"{ratio:.2f}" if ratio is not None else "-",
                f"{facade.percentile(0.5):.1f} / {facade.percentile(0.95):.1f}",
                f"{baseline.percentile(0.5):.1f} / {baseline.percentile(0.95):.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- setup -----------------------------------------------------------------------------------


def random_phone() -> str:
    return "19" + str(secrets.randbelow(10)) + f"{secrets.randbelow(10**8):08d}"


def register_pool(services: Services, workers: Workers, count: int) -> list[User]:
    _seed_uid_counter(services)

    def one(_: int) -> User:
        return services.registrar.register(Registration(phone=random_phone(), password=PASSWORD))

    return workers.map(one, range(count))


def _seed_uid_counter(services: Services) -> None:
    """Let the facade seed its uid counter once, before the parallel registrations.

    A fresh Redis prefix has no counter, so the first registration scans every Keycloak user
    for the highest ``uid``; doing it here keeps that scan out of the threads. Facade versions
    before the seed fix (``_SEED`` in ``facade/adapters/redis_identity.py`` wrote only when the
    stored value was lower, a missing one counting as 0) left the counter missing in a realm
    where no user has a uid yet, and every registration failed with "uid counter could not be
    seeded"; only then is the counter created at 0 here, which is what the seed does now.
    """
    try:
        services.registrar.next_uid()
    except Unavailable:
        log("uid counter could not be seeded (empty realm); creating it at 0")
        services.redis.set(services.keys.uid_counter(), 0, nx=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_identity",
        description="Identity core rates (one process) beside direct Keycloak calls.",
    )
    parser.add_argument("--keycloak-url", help="a running Keycloak with the realm applied")
    parser.add_argument("--redis-url", help="a running Redis (a prefix of this run is used)")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="measured seconds per operation (default 5)"
    )
    parser.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--users", type=int, default=20, help="users in the pool (default 20)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument(
        "--apply-realm",
        action="store_true",
        help="apply the realm to --keycloak-url first (master admin from "
        "FACADE_TEST_KEYCLOAK_ADMIN[_PASSWORD], default admin/admin)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120:
        parser.error("--seconds must be in (0, 120]")
    if not 1 <= args.threads <= 64:
        parser.error("--threads must be in [1, 64]")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be in [1, 10]")
    args.users = max(args.users, args.threads)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    begun = time.monotonic()
    with ExitStack() as stack:
        keycloak_url, redis_url = args.keycloak_url, args.redis_url
        if keycloak_url is None or redis_url is None or args.apply_realm:
            from tests import harness  # the helpers the test suite starts its servers with

            workdir = Path(tempfile.mkdtemp(prefix="bench-identity-"))
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            if redis_url is None:
                redis_server = harness.start_redis(workdir / "redis")
                stack.callback(redis_server.stop)
                redis_url = redis_server.url
                log(f"started Redis at {redis_url}")
            if keycloak_url is None:
                log("starting Keycloak (about 30-60 s) ...")
                running = harness.start_keycloak(workdir / "keycloak")
                stack.callback(running.stop)
                keycloak_url = running.url
                log(f"started Keycloak at {keycloak_url}")
            elif args.apply_realm:
                from facade.realm.apply import AdminLogin, apply_realm

                login = AdminLogin(keycloak_url, harness.ADMIN_USER, harness.ADMIN_PASSWORD)
                for change in apply_realm(login):
                    log(f"realm: {change}")
        prefix = f"bench{secrets.token_hex(4)}:"
        settings = Settings.from_env(
            {
                "FACADE_ENV": "development",
                "FACADE_KEYCLOAK_URL": keycloak_url.rstrip("/"),
                "FACADE_REDIS_URL": redis_url,
                "FACADE_REDIS_PREFIX": prefix,
            }
        )
        services = build_services(settings)
        stack.callback(_drop_redis_keys, services, prefix)
        workers = Workers(args.threads)
        stack.callback(workers.shutdown)

        log(f"registering {args.users} users ...")
        registering = time.monotonic()
        users = register_pool(services, workers, args.users)
        log(f"registered in {time.monotonic() - registering:.1f} s")
        load_before = os.getloadavg()
        bench = IdentityBench(services, workers, users)
        stack.callback(bench.cleanup)
        bench.run(args.seconds, args.rounds)
        load = (load_before[0], os.getloadavg()[0])

        print()
        print(
            f"keycloak-facade identity core, one process, {args.threads} threads, "
            f"{args.users} users, {args.rounds} interleaved rounds, {args.seconds:g} s per "
            f"operation, 1-min load average {load[0]:.1f} -> {load[1]:.1f} on "
            f"{os.cpu_count()} CPUs; ± is half the spread between rounds"
        )
        print(table(bench))
        if args.json:
            document = report(bench, args, keycloak_url, load)
            args.json.write_text(json.dumps(document, indent=2) + "\n")
            log(f"wrote {args.json}")
    log(f"done in {time.monotonic() - begun:.0f} s")
    return 0


def report(
    bench: IdentityBench,
    args: argparse.Namespace,
    keycloak_url: str,
    load: tuple[float, float],
) -> dict[str, Any]:
    return {
        "meta": {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "keycloak_url": keycloak_url,
            "threads": args.threads,
            "users": args.users,
            "seconds_per_operation": args.seconds,
            "rounds": args.rounds,
            "refresh_tokens_chained": bench.chain_refresh,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before_after": load,
        },
        "operations": {name: m.as_json() for name, m in bench.results.items()},
        "comparisons": bench.comparisons(),
    }


def _drop_redis_keys(services: Services, prefix: str) -> None:
    keys = list(services.redis.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        services.redis.delete(*keys)


if __name__ == "__main__":
    sys.exit(main())
