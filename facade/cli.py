"""The ``facade`` console script: serve, the development stack, and the realm apply step."""

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

    stack = commands.add_parser("stack", help="the local development stack")
    stack.add_argument("action", choices=("up", "down"))

    realm = commands.add_parser("realm", help="realm as code")
    realm.add_argument("action", choices=("apply",))
    realm.add_argument("--keycloak-url", default=os.environ.get("FACADE_KEYCLOAK_URL", ""))
    realm.add_argument("--realm", default=os.environ.get("FACADE_KEYCLOAK_REALM", "facade"))
    realm.add_argument("--admin-user", default=os.environ.get("KEYCLOAK_ADMIN_USER", "admin"))

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args.bind, args.workers, args.threads)
    if args.command == "stack":
        from facade.stack import dev  # only the stack needs its imports

        return dev.up() if args.action == "up" else dev.down()
    return _realm_apply(args.keycloak_url or "http://127.0.0.1:8080", args.realm, args.admin_user)


def _serve(bind: str, workers: int, threads: int) -> int:
    """Replace this process with gunicorn: threads suit a service that mostly waits on I/O."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "facade.app:get_app()",
        f"--bind={bind}",
        "--worker-class=gthread",
        f"--workers={workers}",
        f"--threads={threads}",
        "--timeout=60",
        "--graceful-timeout=20",
        "--keep-alive=5",
        "--error-logfile=-",
    ]
    os.execv(sys.executable, command)  # noqa: S606
    return 0  # pragma: no cover


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
