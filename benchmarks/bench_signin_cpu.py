"""Facade CPU per member SMS sign-in, beside Keycloak's JVM CPU per sign-in, as one JSON line.

Throughput on a shared 2-core machine mixes everyone's load; CPU time charged to the facade's
own processes does not, so this is the figure to cut (issue 14, item 1)::

    python -m benchmarks.bench_signin_cpu                      # starts a facade on this tree
    python -m benchmarks.bench_signin_cpu --code /tmp/base --code .   # A B A B, two trees
    python -m benchmarks.bench_signin_cpu --facade-url http://127.0.0.1:8000  # a running one

For each ``--code`` tree a facade (gunicorn, ``--workers`` workers) is started on a free port,
all on one Redis namespace and one SQLite identity store; ``--users`` members are registered
once (``bench_http``'s helpers); each facade is warmed up with 50 sign-ins (not measured), then
every round plants one code per user and signs each in once from ``--threads`` client threads,
facades alternating round by round (A B A B ...). Whether a sign-in finds its user in the
profile cache (TTL ``FACADE_PROFILE_CACHE_TTL``, 60 s) depends on the rounds' timing; with
``--cold`` every user is dropped from it before each round, so every sign-in takes the path
of a profile not cached (the usual one in real traffic).
The CPU of a round is the growth of ``utime + stime`` (``/proc/<pid>/stat``) of every process
listening on the facade's port, and of Keycloak's JVM, divided by the successful sign-ins.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from benchmarks.bench_http import Bench, cpu_seconds, listening_pids

#: Every sign-in from its own client address, so per-IP limits never answer 429 instead.
_ADDRESSES = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_facade(code: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "FACADE_ENV": "development",
        "FACADE_KEYCLOAK_URL": args.keycloak_url,
        "FACADE_REDIS_URL": args.redis_url,
        "FACADE_REDIS_PREFIX": args.redis_prefix,
        "FACADE_DATABASE_URL": args.database_url,
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "PYTHONPATH": str(code),
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "facade.cli", "serve"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)),
        ],
        cwd=code,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the facade from {code} did not start")


def drive(
    url: str, send: Callable[[requests.Session, int], requests.Response], count: int, threads: int
) -> int:
    """``count`` requests (``send(session, index)``) from ``threads`` keep-alive clients; the
    number of 200 answers (the others are reported on stderr, status and body)."""
    sessions = [requests.Session() for _ in range(threads)]
    refused: Counter[str] = Counter()

    def one(index: int) -> bool:
        response = send(sessions[index % threads], index)
        if response.status_code != 200:
            refused[f"{response.status_code} {response.text[:120]}"] += 1
        return response.status_code == 200

    with ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(one, range(count)))
    for answer, times in refused.items():
        print(f"  {url}: {times} x {answer}", file=sys.stderr)
    return ok


def sign_in_all(url: str, bodies: list[str], threads: int) -> int:
    """POST every body once to the member SMS login; the number of 200 answers."""

    def send(session: requests.Session, index: int) -> requests.Response:
        address = next(_ADDRESSES)
        return session.post(
            f"{url}/api/v1/auth/login/sms",
            data=bodies[index],
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": f"10.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}",
            },
            timeout=30,
        )

    return drive(url, send, len(bodies), threads)


def measured(
    facade: set[int], keycloak: set[int], run: Callable[[], int]
) -> tuple[int, float, float]:
    """``run()``'s successes, and the CPU ms per success it cost the ``facade`` processes and
    Keycloak's."""
    before = cpu_seconds(facade), cpu_seconds(keycloak)
    ok = run()
    after = cpu_seconds(facade), cpu_seconds(keycloak)
    per = max(ok, 1)
    return ok, 1000 * (after[0] - before[0]) / per, 1000 * (after[1] - before[1]) / per


def add_tree_arguments(parser: argparse.ArgumentParser, redis_prefix: str) -> None:
    """The arguments of an A/B run: the trees to start (or facades running), where they keep
    their state, and how the rounds are driven."""
    parser.add_argument("--code", action="append", type=Path, help="a tree to start (repeat)")
    parser.add_argument("--facade-url", action="append", help="a running facade instead")
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8080")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-prefix", default=f"{redis_prefix}{os.getpid()}:")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4, help="per facade, interleaved")
    parser.add_argument("--threads", type=int, default=4)


@contextmanager
def facades(args: argparse.Namespace, workdir_prefix: str) -> Iterator[list[tuple[str, str]]]:
    """(name, URL) of every facade to measure: those running (``--facade-url``), then one
    started per ``--code`` tree (this tree when neither is given), stopped on the way out."""
    workdir = Path(tempfile.mkdtemp(prefix=workdir_prefix))
    if not args.database_url:
        args.database_url = f"sqlite:///{workdir / 'identities.db'}"
    args.token_users = 0
    started: list[subprocess.Popen[bytes]] = []
    targets: list[tuple[str, str]] = [(url, url) for url in args.facade_url or []]
    try:
        for code in args.code or ([] if targets else [Path.cwd()]):
            process, url = start_facade(code.resolve(), args)
            started.append(process)
            targets.append((str(code), url))
        yield targets
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tree_arguments(parser, "benchcpu")
    parser.add_argument("--users", type=int, default=150, help="sign-ins per round")
    parser.add_argument(
        "--cold", action="store_true", help="drop every user's cached profile before each round"
    )
    args = parser.parse_args(argv)
    with facades(args, "bench-signin-cpu-") as targets:
        bench = Bench(args)
        bench.register_users()
        keycloak = bench.keycloak_pids
        rows: dict[str, dict[str, list[float]]] = {
            name: {"facade_ms": [], "keycloak_ms": []} for name, _ in targets
        }
        for _, url in targets:  # warm-up: imports, pools, caches; not measured
            sign_in_all(url, [line.split("\t", 1)[1] for line in bench.plant_codes()[:50]], 4)
        for _ in range(args.rounds):
            for name, url in targets:
                bodies = [line.split("\t", 1)[1] for line in bench.plant_codes()]
                if args.cold:
                    for user_id, _ in bench.users:
                        bench.services.users.forget(user_id)
                facade = listening_pids(urlsplit(url).port or 80)
                ok, facade_ms, keycloak_ms = measured(
                    facade, keycloak, partial(sign_in_all, url, bodies, args.threads)
                )
                if ok != len(bodies):
                    print(f"  {name}: {len(bodies) - ok} sign-ins failed", file=sys.stderr)
                rows[name]["facade_ms"].append(facade_ms)
                rows[name]["keycloak_ms"].append(keycloak_ms)
        bench.logout_all()  # once: ending sessions evicts the users from Keycloak's cache
        bench.delete_users()
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": [round(x, 2) for x in os.getloadavg()],
        "sign_ins_per_round": args.users,
        "threads": args.threads,
        "workers": args.workers,
        "profile_cache": "dropped before each round" if args.cold else "as the rounds left it",
        "results": {
            name: {
                "facade_cpu_ms": round(statistics.mean(row["facade_ms"]), 2),
                "keycloak_cpu_ms": round(statistics.mean(row["keycloak_ms"]), 2),
                "facade_rounds": [round(x, 2) for x in row["facade_ms"]],
            }
            for name, row in rows.items()
        },
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
