"""Users per second of ``facade import`` against a real Keycloak.

Two generated exports go into a throwaway copy of the realm (``facade-realm.json`` under another
name, deleted afterwards) over an identity store of its own: first ``member``'s (one row in 20
of the main export's size, verified phones and emails), then ``customer``'s, the one measured:
every hash scheme mixed (PBKDF2-SHA256/-SHA512 and Django PBKDF2, Argon2 as Keycloak credentials;
bcrypt and salted MD5/SHA-256 kept as legacy hashes; some rows without a password), one row in
20 sharing a member's verified phone (merged), about 1.5 % rejected (a bad phone, a repeated
legacy id, a bad hash, a phone whose user has another email). The customer export is imported
as a dry run, for real, and again: the dry run's per-row report must equal the real run's, and
the re-run must change nothing.

Without ``--keycloak-url`` it starts PostgreSQL and a production-mode Keycloak on it, on free
ports in a directory of its own (never the shared development Keycloak), and the identity store
is a fresh database of that cluster.

    python -m benchmarks.bench_import --rows 100000 [--json docs/benchmarks/import-100k.json]
    python -m benchmarks.bench_import --rows 10000 --keycloak-url URL [--database-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin
from passlib import hash as passlib_hash

from facade.migration.command import ImportOptions, build_importer, run_import
from facade.realm.apply import load_realm, load_user_profile
from facade.settings import Settings
from facade.stack.keycloak import KeycloakServer, PostgresDatabase
from facade.stack.postgres import PostgresServer
from facade.stack.processes import free_port


@dataclass
class OwnStack:
    """PostgreSQL and a production-mode Keycloak on it, on free ports in a directory of their
    own: a large import never lands in the shared development Keycloak (H2). The identity
    store is a second database of the same cluster, as in a deployment."""

    workdir: Path
    admin_password: str = field(default_factory=lambda: secrets.token_hex(12))
    postgres: PostgresServer | None = None
    keycloak: KeycloakServer | None = None
    database_url: str = ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)  # PostgreSQL runs as ``postgres`` when we are root
        self.postgres = PostgresServer(self.workdir / "postgres", port=free_port())
        self.postgres.init()
        self.postgres.start(self.workdir / "postgres.log")
        self.postgres.wait_ready()
        password = secrets.token_hex(12)
        port = self.postgres.port
        keycloak_db = PostgresDatabase("127.0.0.1", port, "keycloak", "keycloak", password)
        store_db = PostgresDatabase("127.0.0.1", port, "facade", "facade", password)
        self.postgres.ensure_database(keycloak_db)
        self.postgres.ensure_database(store_db)
        self.database_url = f"postgresql://facade:{password}@127.0.0.1:{port}/facade"
        self.keycloak = KeycloakServer(
            workdir=self.workdir,
            http_port=free_port(),
            management_port=free_port(),
            admin_password=self.admin_password,
            persistent=True,
            database=keycloak_db,
        )
        self.keycloak.start()
        self.keycloak.wait_ready(timeout=420)

    def stop(self) -> None:
        for server in (self.keycloak, self.postgres):
            if server is not None:
                server.stop()

    def new_database(self) -> str:
        """A fresh identity-store database (one per run: legacy ids never meet an earlier
        run's)."""
        assert self.postgres is not None
        name = f"bench_{secrets.token_hex(4)}"
        password = secrets.token_hex(12)
        self.postgres.ensure_database(
            PostgresDatabase("127.0.0.1", self.postgres.port, name, name, password)
        )
        return f"postgresql://{name}:{password}@127.0.0.1:{self.postgres.port}/{name}"


SALT = "s4lt"


def _hashes() -> list[dict[str, str]]:
    """One hash of each scheme; hashing dominates generation, so rows reuse them (it changes
    nothing the import does)."""
    pw = "Bench-pass-1"
    return [
        {"password_hash": passlib_hash.pbkdf2_sha256.using(rounds=27500).hash(pw)},
        {"password_hash": passlib_hash.pbkdf2_sha512.using(rounds=30000).hash(pw)},
        {"password_hash": passlib_hash.django_pbkdf2_sha256.using(rounds=260000).hash(pw)},
        {"password_hash": passlib_hash.argon2.using(rounds=3, memory_cost=7168).hash(pw)},
        {"password_hash": passlib_hash.bcrypt.using(rounds=10).hash(pw)},
        {
            "password_hash": hashlib.md5((SALT + pw).encode()).hexdigest(),  # noqa: S324
            "hash_scheme": "md5(salt+password)",
            "password_salt": SALT,
        },
        {
            "password_hash": hashlib.sha256((pw + SALT).encode()).hexdigest(),
            "hash_scheme": "sha256(password+salt)",
            "password_salt": SALT,
        },
        {},  # no password: an SMS-only user
    ]


def generate(directory: Path, rows: int) -> tuple[Path, Path]:
    """The member export (``rows // 20`` rows) and the customer export (``rows`` rows)."""
    hashes = _hashes()
    base = random.randrange(0, 10**9 - 2 * rows)
    members = max(1, rows // 20)
    member_path, customer_path = directory / "member.jsonl", directory / "customer.jsonl"
    with member_path.open("w", encoding="utf-8") as handle:
        for k in range(members):
            row = {
                "legacy_id": k + 1,
                "username": f"m{base + k}",
                "phone": f"13{base + k:09d}",
                "email": f"m{base + k}@example.com",
                "email_verified": True,
                "member_level": 1 + k % 9,
                **hashes[k % len(hashes)],
            }
            handle.write(json.dumps(row) + "\n")
    with customer_path.open("w", encoding="utf-8") as handle:
        for n in range(rows):
            row: dict[str, object] = {
                "legacy_id": n + 1,
                "username": f"c{base + n}",
                "phone": f"15{base + n:09d}",
                "email": f"c{base + n}@example.com",
                "nickname": f"用户{n}",
                "gender": str(n % 3),
                "member_level": 1 + n % 9,
                "points": n % 1000,
                "created_at": 1_600_000_000 + n,
                **hashes[n % len(hashes)],
            }
            member = (n // 20) % members
            if n % 20 == 7:  # the same person in the member app: merged by verified phone
                row.update(phone=f"13{base + member:09d}", email=None)
                if n % 40 == 7:
                    row["username"] = None
            elif n % 500 == 13:  # a member's phone with another email: ambiguous
                row["phone"] = f"13{base + member:09d}"
            elif n % 100 == 3:
                row["phone"] = "12345"
            elif n % 250 == 11:
                row["legacy_id"] = n  # the previous row's id again
            elif n % 1000 == 17:
                row.update(password_hash="nonsense", hash_scheme="bcrypt")  # noqa: S106
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return member_path, customer_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=None, help="users per partial import")
    parser.add_argument("--keycloak-url", help="an existing Keycloak (default: start one)")
    parser.add_argument(
        "--admin-password", default=os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin")
    )
    parser.add_argument("--database-url", help="identity store (default: a fresh one)")
    parser.add_argument("--stack-dir", type=Path, help="where the started stack lives")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    stack = None
    if args.keycloak_url is None:
        stack = OwnStack(args.stack_dir or work / "stack")
        started = time.monotonic()
        stack.start()
        assert stack.keycloak is not None
        args.keycloak_url, args.admin_password = stack.keycloak.url, stack.admin_password
        print(f"started PostgreSQL and Keycloak in {time.monotonic() - started:.0f} s")
    try:
        if args.database_url is None:
            args.database_url = (
                stack.new_database() if stack else f"sqlite:///{work / 'identities.db'}"
            )
        figures = bench(args, work)
        figures["stack"] = "own (PostgreSQL 15, Keycloak start mode)" if stack else "given"
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if stack is not None:
            stack.stop()


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    realm_name = f"bench-import-{secrets.token_hex(3)}"
    login = {
        "server_url": args.keycloak_url + "/",
        "username": "admin",
        "password": args.admin_password,
        "user_realm_name": "master",
        "timeout": 300,
    }
    master = KeycloakAdmin(realm_name="master", **login)
    realm = {**load_realm(), "realm": realm_name}
    realm.pop("identityProviders", None)
    realm.pop("identityProviderMappers", None)
    master.create_realm(realm)
    try:
        operator = KeycloakAdmin(realm_name=realm_name, **login)
        operator.connection.raw_put(
            f"admin/realms/{realm_name}/users/profile", data=json.dumps(load_user_profile())
        )
        settings = Settings.from_env(
            {
                "FACADE_ENV": "development",
                "FACADE_KEYCLOAK_URL": args.keycloak_url,
                "FACADE_KEYCLOAK_REALM": realm_name,
                "FACADE_DATABASE_URL": args.database_url,
                "FACADE_KEYCLOAK_TIMEOUT": "60",
            }
        )
        started = time.monotonic()
        member_export, customer_export = generate(work, args.rows)
        print(f"generated {args.rows} rows in {time.monotonic() - started:.1f} s", flush=True)
        load_before = os.getloadavg()
        phases: dict[str, Any] = {}
        runs = (
            ("seed (member)", member_export, False),
            ("dry run", customer_export, True),
            ("import", customer_export, False),
            ("re-run", customer_export, False),
        )
        for label, export, dry in runs:
            contract = "member" if export == member_export else "customer"
            extra = {"batch": args.batch} if args.batch else {}
            options = ImportOptions(
                contract,
                export,
                dry_run=dry,
                progress=False,
                report=work / f"{label.split()[0]}.report.jsonl",
                rejects=work / f"{label.split()[0]}.rejects.jsonl",
                uid_floor=args.rows,  # the largest legacy id of both apps, as the README says
                **extra,
            )
            started = time.monotonic()
            plan = run_import(options, build_importer(options, operator, settings))
            seconds = time.monotonic() - started
            counts = plan.counts()
            written = counts["create"] + counts["merge"]
            phases[label] = {
                "rows": len(plan.steps),
                "counts": counts,
                "seconds": round(seconds, 1),
                "rows_per_second": round(len(plan.steps) / seconds, 1),
                "users_per_second": round(written / seconds, 1) if not dry else None,
            }
            print(f"{label}: {json.dumps(phases[label])}", flush=True)
        dry_report = (work / "dry.report.jsonl").read_text()
        real_report = (work / "import.report.jsonl").read_text()
        imported = phases["import"]["counts"]
        rerun = phases["re-run"]["counts"]
        return {
            "command": f"python -m benchmarks.bench_import --rows {args.rows}",
            "rows": args.rows,
            "batch": args.batch,
            "users_per_second": phases["import"]["users_per_second"],
            "phases": phases,
            "dry_run_report_equals_real_run": dry_report == real_report,
            "rerun_changed_nothing": rerun
            == {
                "create": 0,
                "merge": 0,
                "unchanged": imported["create"] + imported["merge"],
                "reject": imported["reject"],
            },
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count(),
        }
    finally:
        master.delete_realm(realm_name)


if __name__ == "__main__":
    main()
