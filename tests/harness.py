"""Real servers for the test session: Redis and Keycloak as local processes on free ports.

``FACADE_TEST_KEYCLOAK_URL`` points the tests at an already running Keycloak (the development
stack's, say) to skip the ~30 s start; the realm is applied to it all the same. With
``FACADE_TEST_CONTAINERS=1`` and a Docker engine that answers, testcontainers runs both instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import redis

from facade.realm.apply import AdminLogin, apply_realm
from facade.stack.keycloak import KEYCLOAK_VERSION, REALM_DIR, KeycloakServer
from facade.stack.processes import RedisServer, free_port, stop_process
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


@dataclass
class RedisProcess:
    """One ``redis-server`` (or, with ``sentinel``, ``redis-server --sentinel``) on loopback,
    started with extra arguments; ``kill`` is a crash (SIGKILL), ``start`` again reuses them."""

    workdir: Path
    port: int
    args: tuple[str, ...] = ()
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = ["redis-server"]
        if self.sentinel:
            config = self.workdir / f"sentinel-{self.port}.conf"
            config.write_text("\n".join(self.args) + "\n")
            command += [str(config), "--sentinel"]
        else:
            command += [*self.args]
        command += ["--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir)]
        with (self.workdir / f"redis-{self.port}.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis on {self.port} exited: see {self.workdir}")
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise TimeoutError(f"redis on {self.port} not ready")

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.pid, timeout=5)
            self.process = None


_EPHEMERAL = ("--save", "", "--appendonly", "no")


@dataclass
class SentinelSet:
    """A master, a replica and three sentinels watching service ``facade`` (quorum 2, a master
    counted down after 1 s): a failover takes a few seconds, as in a real deployment."""

    nodes: list[RedisProcess]
    sentinels: list[RedisProcess]
    service: str = "facade"

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def master_port(self) -> int:
        sentinel = redis.Redis(port=self.sentinels[0].port, socket_timeout=1)
        _, port = sentinel.sentinel_get_master_addr_by_name(self.service)
        return int(port)

    def master(self) -> RedisProcess:
        port = self.master_port()
        return next(node for node in self.nodes if node.port == port)

    def wait_master_changed(self, old_port: int, timeout: float = 30.0) -> float:
        """Seconds until every sentinel names a master other than ``old_port``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            ports = set()
            for sentinel in self.sentinels:
                try:
                    client = redis.Redis(port=sentinel.port, socket_timeout=1)
                    ports.add(int(client.sentinel_get_master_addr_by_name(self.service)[1]))
                except (redis.RedisError, TypeError):
                    ports.add(old_port)
            if old_port not in ports and len(ports) == 1:
                return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError("no failover")

    def wait_replicas(self, count: int, timeout: float = 30.0) -> None:
        """Until the master has ``count`` replicas in sync (after a restarted node rejoins)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = redis.Redis(port=self.master_port(), socket_timeout=1).info("replication")
                links = [v for k, v in info.items() if k.startswith("slave")]
                if sum(1 for v in links if isinstance(v, dict) and v["state"] == "online") >= count:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise TimeoutError("replica did not rejoin")

    def stop(self) -> None:
        for process in [*self.sentinels, *self.nodes]:
            process.stop()


def start_sentinel_set(workdir: Path) -> SentinelSet:
    master = RedisProcess(workdir / "master", free_port(), _EPHEMERAL)
    follow = ("--replicaof", "127.0.0.1", str(master.port))
    replica = RedisProcess(workdir / "replica", free_port(), (*_EPHEMERAL, *follow))
    sentinels = [
        RedisProcess(
            workdir / f"sentinel{i}",
            free_port(),
            (
                f"sentinel monitor facade 127.0.0.1 {master.port} 2",
                "sentinel down-after-milliseconds facade 1000",
                "sentinel failover-timeout facade 4000",
                "sentinel parallel-syncs facade 1",
            ),
            sentinel=True,
        )
        for i in range(3)
    ]
    running = SentinelSet([master, replica], sentinels)
    try:
        for process in [master, replica, *sentinels]:
            process.start()
        for process in [master, replica, *sentinels]:
            process.wait_ready()
        running.wait_replicas(1)
    except Exception:
        running.stop()
        raise
    return running


@dataclass
class ClusterSet:
    """Three masters (no replicas) sharing the 16384 slots."""

    nodes: list[RedisProcess]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def stop(self) -> None:
        for process in self.nodes:
            process.stop()


def start_cluster(workdir: Path) -> ClusterSet:
    nodes = [
        RedisProcess(
            workdir / f"node{i}",
            port,
            (
                *_EPHEMERAL,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                "2000",
                "--cluster-port",  # not port + 10000, which may be taken or out of range
                str(free_port()),
            ),
        )
        for i, port in enumerate(free_port() for _ in range(3))
    ]
    running = ClusterSet(nodes)
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = [
                redis.Redis(port=n.port, socket_timeout=1).cluster("info")["cluster_state"]
                for n in nodes
            ]
            if all(state == "ok" for state in states):
                return running
            time.sleep(0.2)
        raise TimeoutError("cluster not ok")
    except Exception:
        running.stop()
        raise
