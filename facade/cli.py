"""The ``facade`` console script: serve, the development stack, the realm apply step, the
identity store (migrate, backfill, check) and the import of an app's users."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facade", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the facade under gunicorn")
    serve.add_argument("--bind", default=os.environ.get("FACADE_BIND", "127.0.0.1:8000"))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("FACADE_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("FACADE_THREADS", "8")))
    serve.add_argument(
        "--server",
        choices=("gunicorn", "granian"),
        default=os.environ.get("FACADE_SERVER", "gunicorn"),
        help="the WSGI server (FACADE_SERVER; README, 'Server choice')",
    )

    stack = commands.add_parser("stack", help="the local development stack")
    stack.add_argument("action", choices=("up", "down"))
    stack.add_argument(
        "--production",
        action="store_true",
        help="the production-mode stack (PostgreSQL, Keycloak start, nginx) in .stack-prod/",
    )

    nginx = commands.add_parser("nginx", help="files nginx needs in front of the facades")
    nginx.add_argument("action", choices=("errors",))
    nginx.add_argument(
        "--output",
        default=None,
        help="errors: where the contract-format error pages go (default "
        "docker/nginx/contract-errors.conf; '-' prints them)",
    )

    realm = commands.add_parser("realm", help="realm as code")
    realm.add_argument("action", choices=("apply",))
    realm.add_argument("--keycloak-url", default=os.environ.get("FACADE_KEYCLOAK_URL", ""))
    realm.add_argument("--realm", default=os.environ.get("FACADE_KEYCLOAK_REALM", "facade"))
    realm.add_argument("--admin-user", default=os.environ.get("KEYCLOAK_ADMIN_USER", "admin"))

    identities = commands.add_parser("identities", help="the durable identity store")
    identities.add_argument("action", choices=("migrate", "backfill", "check", "follow"))
    identities.add_argument(
        "--restart", action="store_true", help="backfill: start over instead of resuming"
    )
    identities.add_argument(
        "--complete",
        action="store_true",
        help="backfill: afterwards treat a store miss as final (no fallback search in Keycloak)",
    )

    imports = commands.add_parser(
        "import", help="import one app's users (JSON Lines or CSV export) into the realm"
    )
    imports.add_argument("contract", choices=("captcha", "vcode", "member", "customer", "account"))
    imports.add_argument("file", help="the export: .jsonl/.ndjson or .csv")
    imports.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    imports.add_argument("--rejects", help="where rejected rows go (default <file>.rejects.*)")
    imports.add_argument("--report", help="write every row's outcome here (JSON Lines)")
    imports.add_argument(
        "--hash-scheme",
        help="scheme of hashes whose row names none, e.g. bcrypt, 'sha256(salt+password)'",
    )
    imports.add_argument(
        "--uid-floor",
        type=int,
        default=0,
        help="new uids start above this (the largest id of every app to be migrated)",
    )
    imports.add_argument("--batch", type=int, default=50, help="users per partial import")

    args = parser.parse_args(argv)
    if args.command == "import":
        return _import(args)
    if args.command == "identities" and args.action == "follow":
        return _follow()
    if args.command == "identities":
        return _identities(args.action, restart=args.restart, complete=args.complete)
    if args.command == "serve":
        return _serve(args.bind, args.workers, args.threads, args.server)
    if args.command == "nginx":
        from facade.stack.nginx import write_contract_errors

        return write_contract_errors(args.output)
    if args.command == "stack":
        if args.production:
            from facade.stack import production

            return production.up() if args.action == "up" else production.down()
        from facade.stack import dev  # only the stack needs its imports

        return dev.up() if args.action == "up" else dev.down()
    return _realm_apply(args.keycloak_url or "http://127.0.0.1:8080", args.realm, args.admin_user)


def _serve(bind: str, workers: int, threads: int, server: str = "gunicorn") -> int:
    """Replace this process with the WSGI server (gunicorn unless ``server`` says granian):
    threads suit a service that mostly waits on I/O.

    The settings and the production checks run here first, so that a refusal is one line on
    stderr and a non-zero exit before any port is bound (not a traceback in every worker).
    """
    from facade.app import startup_checks
    from facade.settings import Settings, SettingsError

    try:
        startup_checks(Settings.from_env())
    except SettingsError as exc:
        print(f"facade: cannot start: {exc}", file=sys.stderr)
        return 2
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _fresh_metrics_dir()
    # ``threads`` requests may wait on dependencies at once; the reserve threads answer probes
    # and refuse the excess at once (facade/http/admission.py).
    from facade.http.admission import reserve_threads, waiting_room
    from facade.stack.servers import server_command

    os.environ["FACADE_THREADS"] = str(threads)
    os.environ["FACADE_ADMISSION_WAITERS"] = str(waiting_room(threads, workers))
    try:
        command = server_command(server, bind, workers, threads + reserve_threads(threads, workers))
    except ValueError as exc:
        print(f"facade: cannot start: {exc}", file=sys.stderr)
        return 2
    os.execv(sys.executable, command)  # noqa: S606
    return 0  # pragma: no cover


def _fresh_metrics_dir() -> str:
    """An empty directory for prometheus-client's per-worker files, named after this process
    (gunicorn's master after ``execv``); directories of masters that are gone are removed."""
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(os.environ.get("FACADE_METRICS_DIR") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("facade-metrics-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = base / f"facade-metrics-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _identities(action: str, *, restart: bool, complete: bool) -> int:
    """Migrate the store, build it from the realm (resumable), or list disagreements."""
    from tqdm import tqdm

    from facade.adapters.identity_store import SqlIdentityStore
    from facade.adapters.keycloak import KeycloakGateway, _user_from
    from facade.core import identity_backfill
    from facade.core.identity_ledger import IdentityLedger
    from facade.core.models import User
    from facade.core.registration import new_invite_code
    from facade.settings import Settings

    settings = Settings.from_env()
    store = SqlIdentityStore(settings.database_url, timeout=settings.database_timeout)
    if action == "migrate":
        store.engine  # noqa: B018 - building the engine migrates the schema
        print(f"identity store at head ({store.dialect})")
        return 0
    gateway = KeycloakGateway(settings)
    ledger = IdentityLedger(store, gateway, new_invite_code)
    admin = gateway._admin()

    def pages(first: int, size: int) -> list[User]:
        query = {"first": first, "max": size, "briefRepresentation": "false"}
        return [_user_from(raw) for raw in admin.get_users(query)]

    if action == "backfill":
        with tqdm(total=admin.users_count(), unit="user", desc="backfill") as bar:
            read = identity_backfill.backfill(ledger, pages, progress=bar.update, restart=restart)
        if complete:
            identity_backfill.mark_complete(ledger)
        print(f"{read} realm users adopted; {store.count()} identities in the store")
        return 0
    found = 0
    users = tqdm(identity_backfill.all_users(pages), unit="user", desc="check", leave=False)
    for disagreement in identity_backfill.check(ledger, users):
        print(disagreement)
        found += 1
    print(f"{found} disagreement(s)")
    return 1 if found else 0


def _follow() -> int:
    """Follow operators' changes in Keycloak's admin events until SIGTERM or SIGINT."""
    import logging
    import signal
    import threading

    from facade.adapters.identity_store import SqlIdentityStore
    from facade.adapters.keycloak import KeycloakGateway
    from facade.adapters.keycloak_admin_events import KeycloakAdminEvents
    from facade.bootstrap import profile_writer, redis_stores
    from facade.core.admin_event_follower import AdminEventFollower
    from facade.core.identity_ledger import IdentityLedger
    from facade.core.registration import new_invite_code
    from facade.settings import Settings

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    store = SqlIdentityStore(settings.database_url, timeout=settings.database_timeout)
    gateway = KeycloakGateway(settings)
    writer = profile_writer(gateway, store, settings)
    ledger = IdentityLedger(store, gateway, new_invite_code, writer=writer)
    stores = redis_stores(settings, store)
    follower = AdminEventFollower(
        ledger,
        KeycloakAdminEvents(gateway, settings.keycloak_realm),
        profiles=stores.cache,
        revocations=stores.revocations,
        revocation_ttl=settings.revocation_ttl,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.getLogger("facade.follow").info(
        "following admin events of realm %s every %.1f s",
        settings.keycloak_realm,
        settings.follow_interval,
    )
    follower.run(settings.follow_interval, stop)
    return 0


def _import(args: argparse.Namespace) -> int:
    """Exit 0 when every row was imported or unchanged, 1 when some were rejected."""
    from pathlib import Path

    from facade.migration.command import (
        ImportOptions,
        build_importer,
        operator_login,
        run_import,
    )
    from facade.settings import Settings

    password = os.environ.get("KEYCLOAK_ADMIN_PASSWORD")
    if not password:
        print("KEYCLOAK_ADMIN_PASSWORD is required (a realm admin imports)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    admin = operator_login(settings, os.environ.get("KEYCLOAK_ADMIN_USER", "admin"), password)
    options = ImportOptions(
        contract=args.contract,
        path=Path(args.file),
        dry_run=args.dry_run,
        rejects=Path(args.rejects) if args.rejects else None,
        report=Path(args.report) if args.report else None,
        hash_scheme=args.hash_scheme,
        uid_floor=args.uid_floor,
        batch=args.batch,
    )
    plan = run_import(options, build_importer(options, admin, settings))
    return 1 if plan.counts()["reject"] else 0


def _realm_apply(url: str, realm: str, admin_user: str) -> int:
    from facade.realm.apply import AdminLogin, apply_realm

    password = os.environ.get("KEYCLOAK_ADMIN_PASSWORD")
    if not password:
        print("KEYCLOAK_ADMIN_PASSWORD is required", file=sys.stderr)
        return 2
    changes = apply_realm(AdminLogin(url, admin_user, password, realm=realm))
    for change in changes:
        print(change)
    print(f"realm {realm}: {len(changes)} change(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
