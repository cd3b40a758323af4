"""Users per second of ``facade import`` against a real Keycloak.

The export is generated (80 % PBKDF2-SHA256 hashes imported as Keycloak credentials, 20 % bcrypt
kept as legacy hashes; phones, emails, profile columns) and imported into a throwaway copy of
the realm (``facade-realm.json`` under another name, deleted afterwards), over an identity store
of its own, so the shared realm and store are untouched. Reports the plan (dry run), the real
run and the re-run (which must change nothing), each in users per second.

    python -m benchmarks.bench_import --rows 10000 [--keycloak-url http://127.0.0.1:8080]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import time
from pathlib import Path

from keycloak import KeycloakAdmin
from passlib import hash as passlib_hash

from facade.migration.command import ImportOptions, build_importer, run_import
from facade.realm.apply import load_realm, load_user_profile
from facade.settings import Settings


def generate(path: Path, rows: int) -> None:
    """An export; hashing dominates, so a few hashes are reused across rows (salts differ
    only per hash, which does not change what the import does)."""
    pbkdf2 = [passlib_hash.pbkdf2_sha256.using(rounds=27500).hash(f"pw-{n}") for n in range(20)]
    bcrypt = [passlib_hash.bcrypt.using(rounds=10).hash(f"pw-{n}") for n in range(5)]
    base = random.randrange(0, 10**9 - rows)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(rows):
            row = {
                "legacy_id": n + 1,
                "username": f"bench{n}",
                "phone": f"13{base + n:09d}",
                "email": f"bench{n}@example.com",
                "nickname": f"用户{n}",
                "gender": str(n % 3),
                "member_level": 1 + n % 9,
                "points": n % 1000,
                "created_at": 1_600_000_000 + n,
                "password_hash": bcrypt[n % 5] if n % 5 == 0 else pbkdf2[n % 20],
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8080")
    parser.add_argument(
        "--admin-password", default=os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin")
    )
    args = parser.parse_args()

    realm_name = f"bench-import-{secrets.token_hex(3)}"
    master = KeycloakAdmin(
        server_url=args.keycloak_url + "/",
        username="admin",
        password=args.admin_password,
        realm_name="master",
        user_realm_name="master",
        timeout=300,
    )
    realm = {**load_realm(), "realm": realm_name}
    realm.pop("identityProviders", None)
    realm.pop("identityProviderMappers", None)
    master.create_realm(realm)
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        operator = KeycloakAdmin(
            server_url=args.keycloak_url + "/",
            username="admin",
            password=args.admin_password,
            realm_name=realm_name,
            user_realm_name="master",
            timeout=300,
        )
        operator.connection.raw_put(
            f"admin/realms/{realm_name}/users/profile", data=json.dumps(load_user_profile())
        )
        settings = Settings.from_env(
            {
                "FACADE_ENV": "development",
                "FACADE_KEYCLOAK_URL": args.keycloak_url,
                "FACADE_KEYCLOAK_REALM": realm_name,
                "FACADE_DATABASE_URL": f"sqlite:///{work / 'identities.db'}",
                "FACADE_KEYCLOAK_TIMEOUT": "60",
            }
        )
        export = work / "export.jsonl"
        started = time.monotonic()
        generate(export, args.rows)
        print(f"generated {args.rows} rows in {time.monotonic() - started:.1f} s")
        load = os.getloadavg()[0]
        results = {}
        for label, dry in (("dry run", True), ("import", False), ("re-run", False)):
            options = ImportOptions("customer", export, dry_run=dry, batch=args.batch)
            started = time.monotonic()
            plan = run_import(options, build_importer(options, operator, settings))
            seconds = time.monotonic() - started
            results[label] = (plan.counts(), seconds)
            print(f"{label}: {plan.counts()} in {seconds:.1f} s = {args.rows / seconds:.0f} rows/s")
        print(
            f"users/second (import): {args.rows / results['import'][1]:.0f}; "
            f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}, "
            f"cores: {os.cpu_count()}"
        )
        assert results["re-run"][0]["unchanged"] == args.rows, "the re-run changed something"
        assert results["dry run"][0] == {**results["import"][0]}, "dry run and run disagree"
    finally:
        master.delete_realm(realm_name)


if __name__ == "__main__":
    main()
