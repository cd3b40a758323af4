"""``facade stack up --production``: the deployment's topology on this machine, without Docker.

PostgreSQL (Debian's package, a cluster in ``.stack-prod/postgres``), Keycloak in ``start`` mode
on it (hostname and proxy options as behind a load balancer), Redis with AOF, two facade
processes (gunicorn, ``FACADE_ENV=production``) behind nginx, and stand-ins for what a machine
without the Internet cannot reach: WeChat, Aliyun SMS and an SMTP server, which the facade
uses as real providers (production refuses the development sender). ``docker/compose.yaml``
describes the same services; ``tests/ops/test_topology.py`` keeps the two in step.

Every port is ``FACADE_PROD_PORT_BASE`` (8100) plus an offset, so the development stack (8000,
8080, 6379, 8090) keeps running beside it; ``FACADE_PROD_STACK_DIR`` moves the state directory.
Generated secrets (server secret, database and Keycloak admin passwords) stay in
``secrets.json`` there (mode 600) and are reused by the next ``up``. ``FACADE_PROD_KEYCLOAK_FRONT``
(a port) makes the facades reach Keycloak through a relay there: the fault suite's
(``benchmarks/faults.py``), which it can make hang.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import requests

from facade.realm.apply import AdminLogin, apply_realm
from facade.stack import provider_standins
from facade.stack.keycloak import KeycloakServer, PostgresDatabase, find_java_home
from facade.stack.nginx import NginxServer
from facade.stack.postgres import PostgresServer
from facade.stack.processes import (
    REPO,
    RedisServer,
    WechatStandinProcess,
    alive,
    port_open,
    read_pids,
    start_module,
    stop_process,
    write_pids,
)
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET

#: The services of the deployment (``docker/compose.yaml`` has these, plus ``realm-apply``).
SERVICES = ("postgres", "redis", "keycloak", "facade-1", "facade-2", "identities-follow", "nginx")
#: Local stand-ins for the Internet's providers; not in the compose file.
STANDINS = ("wechat", "providers")
ADMIN_USER = "admin"
REALM_CLIENT_SECRETS = {
    "FACADE_KEYCLOAK_CLIENT_SECRET": "dev-facade-secret",
    **{f"FACADE_{s.upper()}_CLIENT_SECRET": f"dev-{s}-secret" for s in
       ("captcha", "vcode", "member", "customer", "account")},
}  # fmt: skip


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def nginx(self) -> int:
        return self.base

    @property
    def facades(self) -> tuple[int, int]:
        return self.base + 1, self.base + 2

    @property
    def keycloak(self) -> int:
        return self.base + 3

    @property
    def keycloak_management(self) -> int:
        return self.base + 4

    @property
    def redis(self) -> int:
        return self.base + 5

    @property
    def wechat(self) -> int:
        return self.base + 6

    @property
    def aliyun(self) -> int:
        return self.base + 7

    @property
    def smtp(self) -> int:
        return self.base + 8

    @property
    def smtp_tls(self) -> int:
        return self.base + 9

    @property
    def postgres(self) -> int:
        return self.base + 10

    def all(self) -> tuple[int, ...]:
        return tuple(range(self.base, self.base + 11))


def ports() -> Ports:
    return Ports(int(os.environ.get("FACADE_PROD_PORT_BASE") or 8100))


def state_dir() -> Path:
    path = Path(os.environ.get("FACADE_PROD_STACK_DIR") or REPO / ".stack-prod")
    path.mkdir(parents=True, exist_ok=True)
    return path


def stack_secrets(state: Path) -> dict[str, str]:
    """Generated once per state directory: nothing of production runs on a development value
    except the realm's client secrets, which the imported JSON fixes."""
    path = state / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = {
        "facade_secret": secrets.token_urlsafe(32),
        "db_password": secrets.token_urlsafe(18),
        "identity_db_password": secrets.token_urlsafe(18),
        "admin_password": secrets.token_urlsafe(18),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2))
    return values


def database(p: Ports, values: dict[str, str]) -> PostgresDatabase:
    return PostgresDatabase("127.0.0.1", p.postgres, "keycloak", "keycloak", values["db_password"])


def identity_database(p: Ports, values: dict[str, str]) -> PostgresDatabase:
    """The facade's identity store: its own database and role on the same PostgreSQL."""
    password = values.get("identity_db_password") or values["db_password"]
    return PostgresDatabase("127.0.0.1", p.postgres, "facade", "facade", password)


def identity_database_url(p: Ports, values: dict[str, str]) -> str:
    db = identity_database(p, values)
    return f"postgresql+psycopg://{db.username}:{db.password}@{db.host}:{db.port}/{db.name}"


def facade_environment(
    p: Ports, values: dict[str, str], providers: dict[str, str]
) -> dict[str, str]:
    """What a deployment sets for each facade (the same names as in docker/compose.yaml)."""
    return {
        "FACADE_ENV": "production",
        "FACADE_SECRET": values["facade_secret"],
        "FACADE_KEYCLOAK_URL": f"http://127.0.0.1:{p.keycloak}",
        **REALM_CLIENT_SECRETS,
        "FACADE_REDIS_URL": f"redis://127.0.0.1:{p.redis}/0",
        "FACADE_DATABASE_URL": identity_database_url(p, values),
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "FACADE_WECHAT_API_BASE": f"http://127.0.0.1:{p.wechat}",
        "FACADE_WECHAT_APPID": DEV_APPID,
        "FACADE_WECHAT_SECRET": DEV_SECRET,
        **providers,
    }


def _pids_file() -> Path:
    return state_dir() / "pids.json"


def up() -> int:
    started = time.monotonic()
    state = state_dir()
    pids = {name: pid for name, pid in read_pids(_pids_file()).items() if alive(pid)}
    if pids:
        print(f"production stack already running ({', '.join(sorted(pids))}); stop it first")
        return 0
    p = ports()
    taken = [port for port in p.all() if port_open(port)]
    if taken:
        print(f"facade: cannot start: ports {taken} are taken (set FACADE_PROD_PORT_BASE)")
        return 2
    values = stack_secrets(state)

    def record(name: str, process: subprocess.Popen[bytes] | None) -> None:
        assert process is not None
        pids[name] = process.pid
        write_pids(_pids_file(), pids)

    try:
        _up(state, p, values, record)
    except Exception as exc:
        print(f"facade: production stack failed: {exc}; stopping what started", file=sys.stderr)
        down()
        return 1
    print(f"production stack ready in {time.monotonic() - started:.1f}s")
    print(
        f"\n  facade (nginx)    http://127.0.0.1:{p.nginx}\n"
        f"  facades           http://127.0.0.1:{p.facades[0]}  http://127.0.0.1:{p.facades[1]}\n"
        f"  keycloak          http://127.0.0.1:{p.keycloak}  ({ADMIN_USER}, password in "
        f"{state / 'secrets.json'})\n"
        f"  postgres          127.0.0.1:{p.postgres}  redis 127.0.0.1:{p.redis}\n"
        f"  sms codes sent    http://127.0.0.1:{p.aliyun}/_standin/sent?phone=...\n"
        f"  logs              {state}/*.log\n"
        "  stop with         make prod-stop\n",
        flush=True,
    )
    return 0


def _up(
    state: Path,
    p: Ports,
    values: dict[str, str],
    record: Callable[[str, Popen[bytes] | None], None],
) -> None:
    java_home = find_java_home()
    redis_server = start_redis(state, p)
    record("redis", redis_server.process)
    redis_server.wait_ready()

    postgres = PostgresServer(state / "postgres", p.postgres)
    if postgres.init():
        print("postgres: cluster created", flush=True)
    postgres.start(state / "postgres.log")
    record("postgres", postgres.process)
    postgres.wait_ready()
    postgres.ensure_database(database(p, values))
    postgres.ensure_database(identity_database(p, values))

    print(f"keycloak: start mode on PostgreSQL (JDK {java_home}) ...", flush=True)
    keycloak = start_keycloak(state, p, values)
    record("keycloak", keycloak.process)

    wechat = WechatStandinProcess(state, port=p.wechat, appid=DEV_APPID, secret=DEV_SECRET)
    wechat.start()
    record("wechat", wechat.process)
    standins_dir = state / "providers"
    providers = start_module(
        [
            "facade.stack.provider_standins",
            f"--dir={standins_dir}",
            f"--aliyun-port={p.aliyun}",
            f"--smtp-port={p.smtp}",
            f"--smtp-tls-port={p.smtp_tls}",
        ],
        state / "providers.log",
    )
    record("providers", providers)
    wechat.wait_ready()
    _wait_file(standins_dir / "ready.json", providers)

    keycloak.wait_ready(timeout=420)
    for change in apply_realm(AdminLogin(keycloak.url, ADMIN_USER, values["admin_password"])):
        print(f"realm: {change}", flush=True)

    for index in (1, 2):
        record(f"facade-{index}", start_facade(state, p, values, index))
    for index, port in enumerate(p.facades, start=1):
        wait_facade(port, state / f"facade-{index}.log")
    record("identities-follow", start_follower(state, p, values))

    nginx = NginxServer(
        state / "nginx",
        p.nginx,
        tuple(f"127.0.0.1:{port}" for port in p.facades),  # type: ignore[arg-type]
    )
    nginx.start()
    record("nginx", nginx.process)
    nginx.wait_ready()


# One way to start each restartable part, for ``up`` and for the fault suite
# (benchmarks/faults.py), which kills and restarts them one at a time.


def start_redis(state: Path, p: Ports) -> RedisServer:
    redis_server = RedisServer(state / "redis", port=p.redis, persistent=True)
    redis_server.start()
    return redis_server


def start_keycloak(state: Path, p: Ports, values: dict[str, str]) -> KeycloakServer:
    keycloak = KeycloakServer(
        workdir=state,
        http_port=p.keycloak,
        management_port=p.keycloak_management,
        admin_username=ADMIN_USER,
        admin_password=values["admin_password"],
        persistent=True,
        database=database(p, values),
    )
    keycloak.start()
    return keycloak


def start_facade(state: Path, p: Ports, values: dict[str, str], index: int) -> Popen[bytes]:
    """``facade serve`` number ``index`` (1 or 2) in production mode, once the provider
    stand-ins are up; its own process group, so that it can be killed whole."""
    port = p.facades[index - 1]
    return start_module(
        ["facade.cli", "serve", f"--bind=127.0.0.1:{port}"],
        state / f"facade-{index}.log",
        facade_process_environment(state, p, values),
    )


def start_follower(state: Path, p: Ports, values: dict[str, str]) -> Popen[bytes]:
    """``facade identities follow``: operators' changes in Keycloak reach the identity store."""
    return start_module(
        ["facade.cli", "identities", "follow"],
        state / "identities-follow.log",
        facade_process_environment(state, p, values),
    )


def facade_process_environment(state: Path, p: Ports, values: dict[str, str]) -> dict[str, str]:
    """The whole environment of a facade process (also what ``facade identities`` needs)."""
    ready = json.loads((state / "providers" / "ready.json").read_text())
    provider_env = provider_standins.facade_settings(
        str(ready["aliyun_url"]), int(str(ready["smtp_port"])), Path(str(ready["cert"]))
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACADE_")},
        **facade_environment(p, values, provider_env),
        "FACADE_METRICS_DIR": str(state / "metrics"),
    }
    keycloak_front = os.environ.get("FACADE_PROD_KEYCLOAK_FRONT")
    if keycloak_front:
        # The fault suite's TCP relay in front of Keycloak, which it can make hang.
        environment["FACADE_KEYCLOAK_URL"] = f"http://127.0.0.1:{int(keycloak_front)}"
    return environment


def wait_facade(port: int, log: Path, timeout: float = 60) -> None:
    _wait_http(f"http://127.0.0.1:{port}/readyz", log, timeout)


def down() -> int:
    pids = read_pids(_pids_file())
    order = (
        "nginx",
        "facade-1",
        "facade-2",
        "identities-follow",
        "providers",
        "wechat",
        "keycloak",
        "postgres",
        "redis",
    )
    for name in order:
        pid = pids.get(name)
        if pid and alive(pid):
            print(f"stopping {name} ({pid})", flush=True)
            stop_process(pid, timeout=30)
    _pids_file().unlink(missing_ok=True)
    return 0


def _wait_file(
    path: Path, process: subprocess.Popen[bytes], timeout: float = 30
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the provider stand-ins exited with {process.returncode}")
        if path.exists():
            data: dict[str, object] = json.loads(path.read_text())
            return data
        time.sleep(0.1)
    raise TimeoutError("the provider stand-ins did not start")


def _wait_http(url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s; see {log}")
