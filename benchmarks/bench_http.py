"""End to end over HTTP: the facade beside the Keycloak endpoint a client would otherwise call.

Run from the repository root against ``make dev`` (facade on :8000, Keycloak on :8080, Redis)::

    python -m benchmarks.bench_http           # writes benchmarks/results/http.{json,png}
    python -m benchmarks.bench_http --seconds 8 --connections 32 --users 600

What runs
    ``wrk`` (Debian's package) drives each request with ``--connections`` keep-alive
    connections over ``--wrk-threads`` threads. For every operation the facade and its Keycloak
    baseline alternate over ``--rounds`` windows in mirrored order (A B B A ...), so a drift of
    the machine's load hits both alike; the ratio facade/Keycloak of each round is reported with
    the mean. Pairs (same run, same machine, same tokens):

    ==========================  ==========================================================
    facade                      Keycloak baseline
    ==========================  ==========================================================
    member ``GET /auth/me``      ``GET /protocol/openid-connect/userinfo`` (same token)
    customer ``/user/login``     password grant of ``facade-customer`` (same user, password)
    member ``/auth/login/sms``   one token exchange (impersonation) for ``facade-member`` plus
                                 one Redis code check (below)
    member ``/auth/refresh``     refresh grant of ``facade-member`` (same refresh tokens)
    ==========================  ==========================================================

    Every request comes from its own ``X-Forwarded-For`` address (the dev stack trusts
    127.0.0.1 as a proxy) so that per-IP rate limits do not turn the run into a 429 benchmark;
    any non-2xx answer is counted and reported, never hidden.

The code-login baseline
    A client that checks a code in Redis and then impersonates pays for both, one after the
    other. wrk cannot speak to Redis, so the check is measured on its own in the same round
    (``redis-benchmark``, same connection count, a minimal Lua script: ``HMGET`` of the code's
    hash and a compare, less than any real check-and-spend) and composed with the Keycloak
    window as per-request costs add: ``1 / (1/exchange_rps + 1/check_rps)``. The JSON keeps
    both rates and the ratio against the exchange alone.

Pinning (``--pin``)
    On a shared machine the facade and Keycloak compete for the same cores, so a facade that
    burns CPU also slows its own Keycloak calls, unlike a deployment where each has its own
    machine. ``--pin`` pins every thread of Keycloak's JVM to CPU 0 and of the facade's
    gunicorn processes to CPU 1 (``taskset -a -p``; processes found by the ports they listen
    on) for the whole run, and restores their affinity at the end; baseline windows then also
    get one core for Keycloak. The JSON records the pinning. Two cores are not two machines:
    they share caches and memory, and the facade busy on CPU 1 alone costs Keycloak on CPU 0
    about 8% more CPU per request than an idle CPU 1 does (``bench_neighbour``), a cost the
    baseline windows, with only wrk on CPU 1, do not bear.

Setup and clean-up
    ``--users`` users are registered through the facade's own services on the same Keycloak
    and Redis namespace as the running facade. Codes for the code sign-in are planted in the
    code store (as the send step would store them, without delivery and rate limits), one per
    user per round. Sessions are ended and users deleted once, at the end: Keycloak's "log the
    user out" also writes the user's not-before time, which evicts the user from Keycloak's
    cache, so ending sessions between rounds made the next round's first window reload up to
    ``--users`` users from the database (0.3-1.7 ms more Keycloak CPU per request in that
    window, 2026-12-05; the mirrored order cancelled it only over an even number of rounds,
    and only as far as both sides touched as many evicted users). Every
    window waits until a Keycloak on this machine is quiet (under a quarter of a core for a
    second, at most 30 s), since it goes on ending sessions and settling registrations after
    its calls return, and each round starts with a discarded Keycloak window
    (``WARM_UP_SECONDS``). A code
    signs in once, so a code-login window can sign in at most ``--users`` people: the JSON's
    ``codes_ran_out`` says whether one did (then it measured the user count, not the facade;
    before 2026-12-05 the 500-800 users of every run capped the facade at 100-160 per second).
    Only the first ``--token-users`` (the password sign-ins') get a password.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from facade.bootstrap import Services, build_services
from facade.core.codes import CodeScope
from facade.core.errors import AlreadyExists
from facade.core.models import Registration
from facade.settings import Settings

PASSWORD = "Bench12345"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
RESULTS = Path(__file__).resolve().parent / "results"

#: wrk script: one request shape, bodies and headers rotated from a file, each request from a
#: random client address; per-thread counts of non-2xx answers reported as JSON at the end.
LUA = r"""
local lines = {}
local counter = 0
local threads = {}
local method, path, content_type = "%(method)s", "%(path)s", "%(content_type)s"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines("%(data)s") do table.insert(lines, line) end
  non2xx = 0
  counter = id
end

function request()
  local line = lines[(counter %% #lines) + 1]
  counter = counter + %(stride)d
  local sep = string.find(line, "\t", 1, true)
  local auth, body = string.sub(line, 1, sep - 1), string.sub(line, sep + 1)
  local headers = {}
  headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255)
    .. "." .. math.random(1, 254)
  if auth ~= "" then headers["Authorization"] = auth end
  if body ~= "" then headers["Content-Type"] = content_type end
  return wrk.format(method, path, headers, body ~= "" and body or nil)
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("non2xx") end
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "non2xx": %%d, "socket_errors": %%d, '
      .. '"p50_ms": %%f, "p99_ms": %%f}\n',
    summary.requests, summary.duration / 1e6, errors,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Request:
    """One side of a pair: where to send, and the lines (``auth<TAB>body``) to rotate through."""

    url: str
    method: str
    lines: list[str]
    content_type: str = "application/json"


@dataclass
class Window:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    #: Keycloak's CPU over the window (None when it runs elsewhere).
    keycloak_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        """Successful answers per second: errors are never counted as throughput."""
        return (self.requests - self.non2xx) / self.seconds if self.seconds else 0.0

    @property
    def keycloak_ms_per_request(self) -> float | None:
        """Keycloak's CPU per request, which does not depend on how much of a core it got: a
        steadier reading than the rates on a shared machine."""
        if self.keycloak_cpu_s is None or not self.requests:
            return None
        return 1000 * self.keycloak_cpu_s / self.requests


@dataclass
class Pair:
    name: str
    facade: list[Window] = field(default_factory=list)
    keycloak: list[Window] = field(default_factory=list)
    #: Per round, the rate of a step the baseline adds to the Keycloak call (the code check).
    added_step: list[float] = field(default_factory=list)
    #: Per facade window of single-use requests (code sign-ins): whether it used every one.
    ran_out: list[bool] = field(default_factory=list)

    def spent(self, window: Window, single_use: int) -> None:
        """Record a facade window of ``single_use`` requests that each succeed once (planted
        codes): one that succeeded with all of them measured their number, not the facade."""
        self.ran_out.append(window.requests - window.non2xx >= single_use)

    def baseline_rates(self) -> list[float]:
        """The Keycloak window's rate, with the added step's cost per request composed in."""
        if not self.added_step:
            return [k.rate for k in self.keycloak]
        return [
            1 / (1 / k.rate + 1 / step) if k.rate and step else 0.0
            for k, step in zip(self.keycloak, self.added_step, strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        baselines = self.baseline_rates()
        ratios = [f.rate / b for f, b in zip(self.facade, baselines, strict=True) if b]
        added: dict[str, Any] = {}
        if self.added_step:
            alone = [f.rate / k.rate for f, k in zip(self.facade, self.keycloak, strict=True)]
            added = {
                "redis_check_rps": round(statistics.mean(self.added_step), 1),
                "keycloak_exchange_rps": round(statistics.mean(w.rate for w in self.keycloak), 1),
                "ratio_vs_exchange_alone": round(statistics.mean(alone), 3),
            }
        return {
            "operation": self.name,
            "facade_rps": round(statistics.mean(w.rate for w in self.facade), 1),
            "keycloak_rps": round(statistics.mean(baselines), 1),
            "ratio": round(statistics.mean(ratios), 3) if ratios else None,
            "ratio_rounds": [round(r, 3) for r in ratios],
            **added,
            "facade_p50_ms": round(statistics.median(w.p50_ms for w in self.facade), 2),
            "facade_p99_ms": round(max(w.p99_ms for w in self.facade), 2),
            "keycloak_p50_ms": round(statistics.median(w.p50_ms for w in self.keycloak), 2),
            "keycloak_p99_ms": round(max(w.p99_ms for w in self.keycloak), 2),
            "facade_non2xx": sum(w.non2xx for w in self.facade),
            "keycloak_non2xx": sum(w.non2xx for w in self.keycloak),
            **({"codes_ran_out": any(self.ran_out)} if self.ran_out else {}),
            **self._keycloak_cpu(),
        }

    def _keycloak_cpu(self) -> dict[str, Any]:
        """Median Keycloak CPU per request of each side, when Keycloak ran here."""
        medians: dict[str, float] = {}
        for side, windows in (("facade", self.facade), ("keycloak", self.keycloak)):
            readings = [w.keycloak_ms_per_request for w in windows]
            known = [r for r in readings if r is not None]
            if not known or len(known) < len(readings):
                return {}
            medians[f"keycloak_cpu_ms_{side}"] = round(statistics.median(known), 3)
        return medians


def run_wrk(
    request: Request, args: argparse.Namespace, workdir: Path, seconds: int | None = None
) -> Window:
    """One wrk window of ``seconds`` (default ``--seconds``) rotating through the lines."""
    data = workdir / f"lines-{secrets.token_hex(4)}.txt"
    data.write_text("\n".join(request.lines) + "\n", "utf-8")
    script = workdir / f"script-{secrets.token_hex(4)}.lua"
    base, _, path = request.url.partition("://")
    host, _, rest = path.partition("/")
    script.write_text(
        LUA
        % {
            "method": request.method,
            "path": "/" + rest,
            "content_type": request.content_type,
            "data": data,
            "stride": args.wrk_threads,
        },
        "utf-8",
    )
    output = subprocess.run(
        [
            "wrk",
            f"--threads={args.wrk_threads}",
            f"--connections={args.connections}",
            f"--duration={seconds or args.seconds}s",
            "--timeout=10s",
            f"--script={script}",
            f"{base}://{host}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in output.splitlines() if row.startswith('{"requests"'))
    return Window(**json.loads(line))


def redis_code_check_rate(bench: Bench) -> float:
    """Requests per second of a minimal code check in Redis (the code-login baseline's step),
    at the run's connection count: ``redis-benchmark`` on a planted code record."""
    key = f"{bench.settings.redis_prefix}bench:code-check"
    bench.services.redis.hset(key, mapping={"h": "0" * 64, "t": 0, "m": 3})
    bench.services.redis.expire(key, 60)
    url = urlsplit(bench.args.redis_url)
    output = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            url.hostname or "127.0.0.1",
            "-p",
            str(url.port or 6379),
            "--dbnum",
            (url.path or "/0").lstrip("/") or "0",
            "-c",
            str(bench.args.connections),
            "-n",
            "20000",
            "--csv",
            "EVAL",
            "local r = redis.call('HMGET', KEYS[1], 'h', 't', 'm') "
            "if r[1] == ARGV[1] and tonumber(r[2]) < tonumber(r[3]) then return 1 end return 0",
            "1",
            key,
            "0" * 64,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = output.strip().splitlines()[-1]
    return float(row.split('","')[1])


def listening_pids(port: int) -> set[int]:
    """Every process with a listening socket on ``port`` (gunicorn's master and workers share
    theirs)."""
    output = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", output)}


def timed_window(
    request: Request, args: argparse.Namespace, workdir: Path, keycloak: set[int]
) -> Window:
    """:func:`run_wrk`, with the CPU Keycloak's processes (``keycloak``, when it runs here)
    used over the window."""
    used = cpu_seconds(keycloak)
    window = run_wrk(request, args, workdir)
    if keycloak:
        window.keycloak_cpu_s = cpu_seconds(keycloak) - used
    return window


def cpu_seconds(pids: set[int]) -> float:
    """User plus system CPU the processes have used so far (``/proc``); a vanished one adds 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


#: A discarded window of the Keycloak baseline before each round's measured windows. Without
#: it, whichever window came first in a round cost Keycloak 0.3-1.7 ms more CPU per request
#: than the one after it (2026-12-05, code login, either side first): neither waiting for
#: Keycloak to go quiet nor a full garbage collection before the window removed that. With it
#: the first window still cost up to 0.5 ms more in some runs: compare even numbers of rounds.
WARM_UP_SECONDS = 3


def settle(pids: set[int], busy: float = 0.25, limit: float = 30.0) -> float:
    """Wait until ``pids`` use less than ``busy`` of a core over one second (at most ``limit``
    seconds); the seconds waited. What the setup between windows asks of Keycloak (registering
    users, ending thousands of sessions) goes on after its calls return."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pids)
        time.sleep(1.0)
        if cpu_seconds(pids) - before < busy:
            break
    return time.monotonic() - started


class Pinning:
    """Keycloak's JVM on CPU 0 and the facade's gunicorn on CPU 1 (all threads), restored on
    exit (see the module docstring)."""

    def __init__(self, keycloak_url: str, facade_url: str) -> None:
        self.plan: dict[str, tuple[str, set[int]]] = {
            "keycloak": ("0", listening_pids(urlsplit(keycloak_url).port or 80)),
            "facade": ("1", listening_pids(urlsplit(facade_url).port or 80)),
        }
        for name, (_, pids) in self.plan.items():
            if not pids:
                raise SystemExit(f"--pin: no process listens for {name}")
        self._saved: dict[int, str] = {}

    def record(self) -> dict[str, Any]:
        return {name: {"cpu": cpu, "pids": sorted(pids)} for name, (cpu, pids) in self.plan.items()}

    def __enter__(self) -> Pinning:
        for cpu, pids in self.plan.values():
            for pid in pids:
                self._saved[pid] = ",".join(str(c) for c in sorted(os.sched_getaffinity(pid)))
                _taskset(cpu, pid)
        return self

    def __exit__(self, *exc: object) -> None:
        for pid, cpus in self._saved.items():
            try:
                _taskset(cpus, pid)
            except subprocess.CalledProcessError:
                print(f"  could not restore the affinity of {pid} (gone?)", file=sys.stderr)


def _taskset(cpus: str, pid: int) -> None:
    subprocess.run(
        ["taskset", "-a", "-p", "-c", cpus, str(pid)], capture_output=True, text=True, check=True
    )


def form(fields: dict[str, str]) -> str:
    return "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in fields.items())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = Settings.from_env(
            {
                "FACADE_ENV": "development",
                "FACADE_KEYCLOAK_URL": args.keycloak_url,
                "FACADE_REDIS_URL": args.redis_url,
                "FACADE_REDIS_PREFIX": args.redis_prefix,
                **({"FACADE_DATABASE_URL": args.database_url} if args.database_url else {}),
            }
        )
        self.services: Services = build_services(self.settings)
        self.realm = f"{args.keycloak_url}/realms/{self.settings.keycloak_realm}"
        self.users: list[tuple[str, str]] = []  # (user id, phone)
        #: Keycloak's processes when it runs on this machine (none: windows start at once).
        self.keycloak_pids = listening_pids(urlsplit(args.keycloak_url).port or 80)

    def register_users(self) -> None:
        for index in range(self.args.users):
            while True:
                phone = f"19{random.randint(0, 9)}{random.randint(0, 99_999_999):08d}"
                try:
                    user = self.services.registrar.register(
                        Registration(
                            phone=phone,
                            phone_verified=True,
                            # Only the password sign-ins' users need one: hashing it costs
                            # Keycloak more than the rest of a registration.
                            password=PASSWORD if index < self.args.token_users else None,
                        )
                    )
                    break
                except AlreadyExists:
                    continue  # a random phone someone already holds: draw another
            self.users.append((user.id, phone))
            if index % 100 == 99:
                print(f"  registered {index + 1} users", file=sys.stderr)

    def logout_all(self) -> None:
        for user_id, _ in self.users:
            self.services.identity.logout_all_sessions(user_id)

    def delete_users(self) -> None:
        admin = self.services.identity._admin()  # type: ignore[attr-defined]
        for user_id, _ in self.users:
            admin.delete_user(user_id)

    def member_tokens(self) -> list[tuple[str, str]]:
        tokens = []
        for user_id, _ in self.users[: self.args.token_users]:
            user = self.services.users.get(user_id, fresh=True)
            assert user is not None
            issued = self.services.sessions.sign_in_verified("member", user)
            tokens.append((issued.access_token, issued.refresh_token))
        return tokens

    def plant_codes(self) -> list[str]:
        """One live ``member`` login code per user, stored as the send step stores it."""
        return [
            "\t" + json.dumps({"phone": phone, "code": self.plant_code(phone)})
            for _, phone in self.users
        ]

    def plant_code(self, phone: str) -> str:
        """A fresh ``member`` login code for ``phone`` (replacing its last), as the send step
        stores it, without delivery and send limits (``bench_overload`` plants them one by one)."""
        codes = self.services.codes
        code = f"{secrets.randbelow(10**6):06d}"
        scope = CodeScope("member", "login", phone)
        codes._store.save(scope, codes._hash(scope, code), self.settings.codes.policy_for("member"))
        return code

    # --- the pairs ---------------------------------------------------------------------------

    def openid_tokens(self) -> list[str]:
        """Access tokens of ``facade-member`` with the ``openid`` scope, which Keycloak's
        userinfo requires (the facade's own sign-ins ask for no ID token, hence no ``openid``):
        one impersonation call each, as the facade makes it, plus that scope."""
        client = self.settings.client_for("member")
        tokens = []
        for user_id, _ in self.users[: self.args.token_users]:
            response = requests.post(
                f"{self.realm}/protocol/openid-connect/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                    "requested_subject": user_id,
                    "requested_token_type": REFRESH_TOKEN_TYPE,
                    "scope": "openid",
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                },
                timeout=10,
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
        return tokens

    def profile(self) -> tuple[Request, Request]:
        tokens = [(access, "") for access in self.openid_tokens()]
        lines = [f"Bearer {access}\t" for access, _ in tokens]
        return (
            Request(f"{self.args.facade_url}/api/v1/auth/me", "GET", lines),
            Request(f"{self.realm}/protocol/openid-connect/userinfo", "GET", lines),
        )

    def refresh(self) -> tuple[Request, Request]:
        tokens = self.member_tokens()
        client = self.settings.client_for("member")
        return (
            Request(
                f"{self.args.facade_url}/api/v1/auth/refresh",
                "POST",
                ["\t" + json.dumps({"refresh_token": refresh}) for _, refresh in tokens],
            ),
            Request(
                f"{self.realm}/protocol/openid-connect/token",
                "POST",
                [
                    "\t"
                    + form(
                        {
                            "grant_type": "refresh_token",
                            "refresh_token": refresh,
                            "client_id": client.client_id,
                            "client_secret": client.client_secret,
                        }
                    )
                    for _, refresh in tokens
                ],
                "application/x-www-form-urlencoded",
            ),
        )

    def password_login(self) -> tuple[Request, Request]:
        client = self.settings.client_for("customer")
        users = self.users[: self.args.token_users]
        return (
            Request(
                f"{self.args.facade_url}/api/app/customer/v1/user/login",
                "POST",
                ["\t" + json.dumps({"phone": phone, "password": PASSWORD}) for _, phone in users],
            ),
            Request(
                f"{self.realm}/protocol/openid-connect/token",
                "POST",
                [
                    "\t"
                    + form(
                        {
                            "grant_type": "password",
                            "username": phone,
                            "password": PASSWORD,
                            "client_id": client.client_id,
                            "client_secret": client.client_secret,
                        }
                    )
                    for _, phone in users
                ],
                "application/x-www-form-urlencoded",
            ),
        )

    def evict_profiles(self) -> None:
        """Let every benchmark user's cached profile expire, as it has for a person signing in
        after a while: registration cached it, and each sign-in caches it again."""
        pipe = self.services.redis.pipeline(transaction=False)
        for user_id, _ in self.users:
            pipe.delete(self.services.keys.profile(user_id))
        pipe.execute()

    def code_login(self) -> tuple[Request, Request]:
        self.evict_profiles()
        return (
            Request(f"{self.args.facade_url}/api/v1/auth/login/sms", "POST", self.plant_codes()),
            self.exchanges(),
        )

    def exchanges(self, scope: str | None = None) -> Request:
        """One impersonation per user for the member client (with ``scope``, if any)."""
        client = self.settings.client_for("member")
        return Request(
            f"{self.realm}/protocol/openid-connect/token",
            "POST",
            [
                "\t"
                + form(
                    {
                        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                        "requested_subject": user_id,
                        "requested_token_type": REFRESH_TOKEN_TYPE,
                        "client_id": client.client_id,
                        "client_secret": client.client_secret,
                        **({"scope": scope} if scope else {}),
                    }
                )
                for user_id, _ in self.users
            ],
            "application/x-www-form-urlencoded",
        )


def measure(bench: Bench, name: str, build: Callable[[], tuple[Request, Request]]) -> Pair:
    pair = Pair(name)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for round_index in range(bench.args.rounds):
            facade, keycloak = build()  # fresh tokens and codes for every round
            settle(bench.keycloak_pids)
            run_wrk(keycloak, bench.args, workdir, seconds=WARM_UP_SECONDS)  # see WARM_UP_SECONDS
            order = [("facade", facade), ("keycloak", keycloak)]
            if round_index % 2:
                order.reverse()
            for side, request in order:
                settle(bench.keycloak_pids)
                window = timed_window(request, bench.args, workdir, bench.keycloak_pids)
                getattr(pair, side).append(window)
                if name == "code_login" and side == "facade":
                    pair.spent(window, len(request.lines))
                cpu = window.keycloak_ms_per_request
                print(
                    f"  {name:<16} {side:<8} {window.rate:8.1f}/s  p50 {window.p50_ms:7.2f} ms"
                    f"  p99 {window.p99_ms:7.2f} ms  non-2xx {window.non2xx}"
                    + (f"  Keycloak {cpu:.2f} ms CPU/request" if cpu is not None else ""),
                    file=sys.stderr,
                )
            if name == "code_login":
                pair.added_step.append(redis_code_check_rate(bench))
                print(f"  {name:<16} redis check {pair.added_step[-1]:8.1f}/s", file=sys.stderr)
    return pair


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["operation"] for r in results]
    positions = range(len(names))
    figure, (rates, latency) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.38
    rates.bar(
        [p - width / 2 for p in positions],
        [r["facade_rps"] for r in results],
        width,
        label="facade",
    )
    rates.bar(
        [p + width / 2 for p in positions],
        [r["keycloak_rps"] for r in results],
        width,
        label="Keycloak",
    )
    rates.set_xticks(list(positions), names, rotation=15)
    rates.set_ylabel("successful requests / s")
    rates.set_title("Throughput")
    rates.legend()
    for key, label, offset in (
        ("facade_p50_ms", "facade p50", -1.5),
        ("facade_p99_ms", "facade p99", -0.5),
        ("keycloak_p50_ms", "Keycloak p50", 0.5),
        ("keycloak_p99_ms", "Keycloak p99", 1.5),
    ):
        latency.bar(
            [p + offset * 0.2 for p in positions], [r[key] for r in results], 0.2, label=label
        )
    latency.set_xticks(list(positions), names, rotation=15)
    latency.set_ylabel("ms")
    latency.set_yscale("log")
    latency.set_title("Latency")
    latency.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the running stack is (``make dev`` by default): the facade, its Keycloak, Redis
    namespace and identity store, which the benchmark's own services must share."""
    parser.add_argument("--facade-url", default="http://127.0.0.1:8000")
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8080")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-prefix", default="facade:", help="the running facade's namespace")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FACADE_DATABASE_URL", ""),
        help="the running facade's identity store (default: the development stack's)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_stack_arguments(parser)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--users",
        type=int,
        default=3000,
        help="one code each per code-login window: more than the facade signs in per window",
    )
    parser.add_argument("--token-users", type=int, default=50)
    parser.add_argument(
        "--only", default="profile,password_login,code_login,refresh", help="comma-separated"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Keycloak on CPU 0, the facade's gunicorn on CPU 1 for the run (taskset)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "http.json")
    parser.add_argument("--chart", type=Path, default=RESULTS / "http.png")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    bench = Bench(args)
    pinning = Pinning(args.keycloak_url, args.facade_url) if args.pin else None
    print(f"registering {args.users} users ...", file=sys.stderr)
    started = time.monotonic()
    bench.register_users()
    print(f"  done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    results = []
    load_before = os.getloadavg()
    try:
        with pinning or contextlib.nullcontext():
            for name in args.only.split(","):
                results.append(measure(bench, name, getattr(bench, name)).summary())
    finally:
        bench.logout_all()
        bench.delete_users()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "pinned": pinning.record() if pinning is not None else None,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "chart")},
        "results": results,
    }
    for path in (args.out, args.chart):  # each defaults to benchmarks/results/
        path.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", "utf-8")
    chart(results, args.chart)
    print(f"\n{'operation':<16} {'facade/s':>9} {'Keycloak/s':>10} {'ratio':>6}  rounds")
    for row in results:
        print(
            f"{row['operation']:<16} {row['facade_rps']:>9} {row['keycloak_rps']:>10} "
            f"{row['ratio']!s:>6}  {row['ratio_rounds']}"
        )
        if row.get("codes_ran_out"):
            print(f"  {row['operation']}: CAPPED, a window used every code: raise --users")
    print(f"\nwrote {args.out} and {args.chart}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
