"""Do identity lookups stay flat as the realm grows? p50/p99 at each size as ratios to 1k.

Run from the repository root::

    python -m benchmarks.bench_identity_scale                      # store: 1k, 100k, 1M rows
    python -m benchmarks.bench_identity_scale --keycloak-sizes 1000,10000,100000

Store part (``--sizes``, SQLite and PostgreSQL, ``--databases``)
    A fresh identity store per database (an SQLite file; Debian's PostgreSQL started by the
    project's stack helper on a free port in a directory of its own), grown by bulk inserts to
    each size in turn. At each size, ``--samples`` times each:

    * find-by-phone: ``store.find("phone_number", p)`` of a random existing phone;
    * register-new-phone: the store's part of a registration (``reserve`` then ``activate``);
    * code sign-in: the store's statements of one (find by phone, then the durable epoch write
      of the spent code, ``raise_epoch``).

Keycloak part (``--keycloak-sizes``; none by default)
    A Keycloak of its own in start mode on PostgreSQL (own ports and directory; never the
    shared development Keycloak), with Redis of its own. Users are seeded by partial import in
    batches of ``--batch`` (never one admin call per user), each with phone and uid, and the
    store is seeded with the same identities in bulk. Then through the real services
    (``build_services``): find-by-phone (store + one Keycloak read), register-new-phone
    (``Registrar.register``: reserve, create, activate) and code sign-in (find by phone, then
    ``Sessions.sign_in_verified``: what ``VerifiedSignIns.by_code`` does once the code, a Redis
    check of constant cost, has been checked).

Each measurement follows a third as many unmeasured runs (connections, caches, Keycloak's JIT
after its start). Every figure is also given as a ratio to the smallest size's figure from the
same run. The result goes to ``--json`` (default ``docs/benchmarks/identity_scale.json``); a
part not run keeps its figures from the run before.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests

from facade.adapters.identity_store import SqlIdentityStore, identities
from facade.core.registration import new_invite_code

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 20_000
#: Phones no seeded identity has, for registrations.
FRESH = itertools.count(10**8)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def phone_of(index: int) -> str:
    return f"17{index:09d}"


def timed(samples: int, operation: Callable[[int], object]) -> dict[str, float]:
    """p50/p99 of ``samples`` runs, after a third as many unmeasured (connections, JIT)."""
    for sample in range(samples // 3):
        operation(sample)
    latencies = []
    for sample in range(samples):
        started = time.perf_counter()
        operation(sample)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 4),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 4),
    }


def seed_store(store: SqlIdentityStore, start: int, stop: int, ids: Callable[[int], str]) -> None:
    """Rows ``start..stop-1`` (active, phone ``phone_of(i)``) in bulk, CHUNK rows a statement."""
    now = time.time()
    for first in range(start, stop, CHUNK):
        rows = [
            {
                "reservation_id": str(uuid.UUID(int=index + 1)),
                "state": "active",
                "keycloak_id": ids(index),
                "username": phone_of(index),
                "phone": phone_of(index),
                "invite_code": f"S{index:09d}",
                "reserved_at": now,
                "updated_at": now,
            }
            for index in range(first, min(stop, first + CHUNK))
        ]
        with store.engine.begin() as conn:
            conn.execute(identities.insert(), rows)


def store_figures(store: SqlIdentityStore, size: int, samples: int) -> dict[str, Any]:
    rng = random.Random(size)
    epoch = iter(range(int(time.time()) + size, 2**40))

    def find(_: int) -> None:
        assert store.find("phone_number", phone_of(rng.randrange(size))) is not None

    def register(_: int) -> None:
        phone = f"16{next(FRESH):09d}"
        record = store.reserve({"phone_number": phone}, phone, new_invite_code)
        store.activate(record.reservation_id, str(uuid.uuid4()), phone)

    def code_sign_in(_: int) -> None:
        find(0)
        store.raise_epoch(next(epoch))

    return {
        "find_by_phone": timed(samples, find),
        "register_new_phone": timed(samples, register),
        "code_sign_in": timed(samples, code_sign_in),
    }


@contextmanager
def postgres() -> Iterator[str]:
    """Debian's PostgreSQL on a free port in ``workdir`` (the tests' helper)."""
    from tests import harness

    running = harness.start_postgres()
    try:
        yield running.url
    finally:
        running.stop()


def run_store(database: str, sizes: list[int], samples: int, workdir: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{workdir / 'scale.db'}"
        else:
            url = stack.enter_context(postgres())
        store = SqlIdentityStore(url)
        stack.callback(store.close)
        seeded, figures = 0, {}
        for size in sizes:
            started = time.monotonic()
            seed_store(store, seeded, size, lambda index: str(uuid.UUID(int=2**64 + index)))
            seeded = size
            log(f"{database}: {size} rows seeded in {time.monotonic() - started:.1f}s")
            figures[str(size)] = store_figures(store, size, samples)
            log(f"{database} @ {size}: {json.dumps(figures[str(size)])}")
        return figures


# --- Keycloak part ---------------------------------------------------------------------------


def seed_keycloak(url: str, password: str, start: int, stop: int, batch: int) -> None:
    """Users ``start..stop-1`` by partial import: id, username and phone, uid as the store has
    it (uid = index + 1, as the bulk insert hands them out)."""

    def token() -> str:  # a fresh one per batch: master's admin tokens live 60 s
        return str(
            requests.post(
                f"{url}/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": "admin",
                    "password": password,
                },
                timeout=30,
            ).json()["access_token"]
        )

    for first in range(start, stop, batch):
        users = [
            {
                "id": keycloak_id(index),
                "username": phone_of(index),
                "enabled": True,
                "attributes": {"phone_number": [phone_of(index)], "uid": [str(index + 1)]},
            }
            for index in range(first, min(stop, first + batch))
        ]
        answer = requests.post(
            f"{url}/admin/realms/facade/partialImport",
            json={"ifResourceExists": "SKIP", "users": users},
            headers={"Authorization": f"Bearer {token()}"},
            timeout=600,
        )
        answer.raise_for_status()


def keycloak_id(index: int) -> str:
    return str(uuid.UUID(int=2**64 + index))


def run_keycloak(sizes: list[int], samples: int, batch: int, workdir: Path) -> dict[str, Any]:
    from facade.bootstrap import build_services
    from facade.realm.apply import AdminLogin, apply_realm
    from facade.settings import Settings
    from facade.stack.keycloak import KeycloakServer, PostgresDatabase
    from facade.stack.postgres import PostgresServer
    from tests import harness

    with ExitStack() as stack:
        pg_dir = Path(tempfile.mkdtemp(prefix="facade-scale-pg-"))
        pg_dir.chmod(0o755)
        pg = PostgresServer(pg_dir / "data", harness.free_port())
        pg.init()
        pg.start(pg_dir / "postgres.log")
        stack.callback(pg.stop)
        pg.wait_ready()
        password = secrets.token_hex(12)
        kc_db = PostgresDatabase("127.0.0.1", pg.port, "keycloak", "keycloak", password)
        pg.ensure_database(kc_db)
        store_db = PostgresDatabase("127.0.0.1", pg.port, "facade", "facade", password)
        pg.ensure_database(store_db)
        admin_password = secrets.token_hex(8)
        keycloak = KeycloakServer(
            workdir=workdir / "keycloak",
            http_port=harness.free_port(),
            management_port=harness.free_port(),
            admin_password=admin_password,
            database=kc_db,
        )
        log("starting Keycloak in start mode on PostgreSQL (minutes on a busy machine) ...")
        keycloak.start()
        stack.callback(keycloak.stop)
        keycloak.wait_ready(timeout=900)
        apply_realm(AdminLogin(keycloak.url, "admin", admin_password))
        redis_server = harness.start_redis(workdir / "redis")
        stack.callback(redis_server.stop)
        store_url = f"postgresql://facade:{password}@127.0.0.1:{pg.port}/facade"
        settings = Settings.from_env(
            {
                "FACADE_ENV": "development",
                "FACADE_KEYCLOAK_URL": keycloak.url,
                "FACADE_REDIS_URL": redis_server.url,
                "FACADE_DATABASE_URL": store_url,
                "FACADE_PROFILE_CACHE_TTL": "0",
            }
        )
        services = build_services(settings)
        store = services.ledger.store
        assert isinstance(store, SqlIdentityStore)
        seeded, figures = 0, {}
        for size in sizes:
            started = time.monotonic()
            seed_keycloak(keycloak.url, admin_password, seeded, size, batch)
            seed_store(store, seeded, size, keycloak_id)
            store.set_meta("uid.seeded", str(size))
            seeded = size
            log(f"keycloak: {size} users seeded in {time.monotonic() - started:.1f}s")
            figures[str(size)] = keycloak_figures(services, size, samples)
            log(f"keycloak @ {size}: {json.dumps(figures[str(size)])}")
        return figures


def keycloak_figures(services: Any, size: int, samples: int) -> dict[str, Any]:
    from facade.core.models import Registration

    rng = random.Random(size)

    def find(_: int) -> None:
        assert services.users.find_by_phone(phone_of(rng.randrange(size))) is not None

    def register(_: int) -> None:
        services.registrar.register(Registration(phone=f"16{next(FRESH):09d}"))

    def code_sign_in(_: int) -> None:
        user = services.users.find_by_phone(phone_of(rng.randrange(size)))
        assert user is not None
        services.sessions.sign_in_verified("member", user)

    return {
        "find_by_phone": timed(samples, find),
        "register_new_phone": timed(samples, register),
        "code_sign_in": timed(samples, code_sign_in),
    }


def with_ratios(figures: dict[str, Any]) -> dict[str, Any]:
    """Each size's p50/p99 divided by the smallest size's."""
    if not figures:
        return figures
    base = figures[min(figures, key=int)]
    for size_figures in figures.values():
        for operation, values in size_figures.items():
            values["p50_ratio"] = round(values["p50_ms"] / base[operation]["p50_ms"], 2)
            values["p99_ratio"] = round(values["p99_ms"] / base[operation]["p99_ms"], 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--keycloak-sizes", default="", help="e.g. 1000,10000,100000")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000, help="users per partial import")
    parser.add_argument("--json", default=str(ROOT / "docs" / "benchmarks" / "identity_scale.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    # A part not run this time keeps its figures from an earlier run (each part has its own
    # command, machine load and baseline).
    previous = Path(args.json)
    result: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    run = {
        "command": "python -m benchmarks.bench_identity_scale " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="facade-scale-") as tmp:
        databases = [d for d in args.databases.split(",") if d]
        if databases:
            store: dict[str, Any] = {"run": run}
            for database in databases:
                figures = run_store(database, sizes, args.samples, Path(tmp) / database)
                store[database] = with_ratios(figures)
            store["run"]["load_after"] = os.getloadavg()
            result["store"] = store
        keycloak_sizes = [int(s) for s in args.keycloak_sizes.split(",") if s]
        if keycloak_sizes:
            figures = run_keycloak(keycloak_sizes, args.samples, args.batch, Path(tmp))
            result["keycloak"] = {
                "run": {**run, "load_after": os.getloadavg()},
                **with_ratios(figures),
            }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    log(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
