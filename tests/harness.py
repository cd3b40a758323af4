"""Real servers for the test session: Redis and Keycloak as local processes on free ports.

``FACADE_TEST_KEYCLOAK_URL`` points the tests at an already running Keycloak (the development
stack's, say) to skip the ~30 s start; the realm is applied to it all the same. With
``FACADE_TEST_CONTAINERS=1`` and a Docker engine that answers, testcontainers runs both instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from facade.realm.apply import AdminLogin, apply_realm
from facade.stack.keycloak import KEYCLOAK_VERSION, REALM_DIR, KeycloakServer
from facade.stack.processes import RedisServer, free_port
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET, StandinServer, WechatStandin

ADMIN_USER = os.environ.get("FACADE_TEST_KEYCLOAK_ADMIN", "admin")
ADMIN_PASSWORD = os.environ.get("FACADE_TEST_KEYCLOAK_ADMIN_PASSWORD", "admin")


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class RunningKeycloak:
    url: str
    admin_user: str
    admin_password: str
    server: Stoppable | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def docker_answers() -> bool:
    if os.environ.get("FACADE_TEST_CONTAINERS") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


def start_redis(workdir: Path) -> RedisServer:
    server = RedisServer(workdir, port=free_port())
    server.start()
    server.wait_ready()
    return server


def start_keycloak(workdir: Path) -> RunningKeycloak:
    external = os.environ.get("FACADE_TEST_KEYCLOAK_URL")
    if external:
        running = RunningKeycloak(external.rstrip("/"), ADMIN_USER, ADMIN_PASSWORD)
    elif docker_answers():
        running = _keycloak_container()
    else:
        server = KeycloakServer(
            workdir=workdir,
            http_port=free_port(),
            management_port=free_port(),
            admin_username=ADMIN_USER,
            admin_password=ADMIN_PASSWORD,
        )
        server.start()
        try:
            server.wait_ready()
        except Exception:
            server.stop()
            raise
        running = RunningKeycloak(server.url, ADMIN_USER, ADMIN_PASSWORD, server)
    apply_realm(AdminLogin(running.url, running.admin_user, running.admin_password))
    return running


def _keycloak_container() -> RunningKeycloak:  # pragma: no cover - needs a Docker engine
    from testcontainers.keycloak import KeycloakContainer

    container = KeycloakContainer(f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}")
    container.with_env("KC_FEATURES", "token-exchange,admin-fine-grained-authz:v1")
    container.with_volume_mapping(str(REALM_DIR), "/opt/keycloak/data/import", "ro")
    container.with_command("start-dev --import-realm --health-enabled=true")
    container.start()
    return RunningKeycloak(container.get_url(), container.username, container.password, container)


def start_wechat_standin() -> StandinServer:
    """The WeChat stand-in on a free port, in this process, so tests can reach its state."""
    return StandinServer(WechatStandin({DEV_APPID: DEV_SECRET})).start()


@dataclass
class RunningPostgres:
    """Debian's PostgreSQL on a free port, with one database for the identity store."""

    url: str
    server: Stoppable
    directory: Path

    def stop(self) -> None:
        import shutil

        self.server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> RunningPostgres:
    """A throwaway cluster; its directory is made outside pytest's root-only temp tree, since
    PostgreSQL runs as the ``postgres`` user when the tests run as root."""
    import secrets
    import tempfile

    from facade.stack.keycloak import PostgresDatabase
    from facade.stack.postgres import PostgresServer

    datadir = Path(tempfile.mkdtemp(prefix="facade-test-pg-"))
    server = PostgresServer(datadir / "data", port=free_port())
    datadir.chmod(0o755)
    server.init()
    server.start(datadir / "postgres.log")
    try:
        server.wait_ready()
        password = secrets.token_hex(12)
        server.ensure_database(
            PostgresDatabase("127.0.0.1", server.port, "facade", "facade", password)
        )
    except Exception:
        server.stop()
        raise
    url = f"postgresql://facade:{password}@127.0.0.1:{server.port}/facade"
    return RunningPostgres(url, server, datadir)
