"""``facade stack up|down``: the whole development stack on this machine, without Docker.

Redis, Keycloak (realm imported, then ``realm apply``), a WeChat stand-in (mini-program login
without a mini-program) and the facade under gunicorn, all on loopback, started in the
background; ``up`` returns once every part answers and ``down`` stops what ``up`` started (and
nothing else: a Redis or stand-in that was already running is left alone).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from facade.realm.apply import AdminLogin, apply_realm
from facade.stack.keycloak import KEYCLOAK_VERSION, KeycloakServer, find_java_home, java_major
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

FACADE_PORT = 8000
KEYCLOAK_PORT = 8080
KEYCLOAK_MANAGEMENT_PORT = 9000
REDIS_PORT = 6379
WECHAT_PORT = 8090
DEMO_PORT = 8070
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105  # development-only bootstrap administrator


def state_dir() -> Path:
    path = Path(os.environ.get("FACADE_STACK_DIR") or REPO / ".stack")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pids_file() -> Path:
    return state_dir() / "pids.json"


def facade_environment() -> dict[str, str]:
    """The development settings of the stack's facade; a developer's own FACADE_* still win."""
    defaults = {
        "FACADE_ENV": "development",
        "FACADE_KEYCLOAK_URL": f"http://127.0.0.1:{KEYCLOAK_PORT}",
        "FACADE_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "FACADE_BIND": f"127.0.0.1:{FACADE_PORT}",
        "FACADE_WECHAT_API_BASE": f"http://127.0.0.1:{WECHAT_PORT}",
        "FACADE_WECHAT_APPID": DEV_APPID,
        "FACADE_WECHAT_SECRET": DEV_SECRET,
    }
    return {**os.environ, **{k: v for k, v in defaults.items() if k not in os.environ}}


def up() -> int:
    started = time.monotonic()
    pids = {name: pid for name, pid in read_pids(_pids_file()).items() if alive(pid)}
    if pids:
        print(f"stack already running ({', '.join(sorted(pids))}); `facade stack down` first")
        _print_urls()
        return 0
    state = state_dir()
    java_home = find_java_home()
    print(f"Keycloak {KEYCLOAK_VERSION} on JDK {java_major(java_home)} ({java_home})", flush=True)

    if port_open(REDIS_PORT):
        print(f"Redis already answers on {REDIS_PORT}: using it", flush=True)
    else:
        redis_server = RedisServer(state / "redis", port=REDIS_PORT, persistent=True)
        redis_server.start()
        redis_server.wait_ready()
        assert redis_server.process is not None
        pids["redis"] = redis_server.process.pid
    write_pids(_pids_file(), pids)

    keycloak = KeycloakServer(
        workdir=state,
        http_port=KEYCLOAK_PORT,
        management_port=KEYCLOAK_MANAGEMENT_PORT,
        admin_username=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        persistent=True,
    )
    keycloak.start()
    assert keycloak.process is not None
    pids["keycloak"] = keycloak.process.pid
    write_pids(_pids_file(), pids)
    keycloak.wait_ready()
    for change in apply_realm(AdminLogin(keycloak.url, ADMIN_USER, ADMIN_PASSWORD)):
        print(f"realm: {change}", flush=True)

    environment = facade_environment()
    wechat = start_wechat_standin(
        state, WECHAT_PORT, environment["FACADE_WECHAT_APPID"], environment["FACADE_WECHAT_SECRET"]
    )
    if wechat is not None and wechat.process is not None:
        pids["wechat"] = wechat.process.pid
        write_pids(_pids_file(), pids)

    facade = start_module(["facade.cli", "serve"], state / "facade.log", environment)
    pids["facade"] = facade.pid
    write_pids(_pids_file(), pids)
    # Operators' changes in the admin console reach the identity store (admin events).
    follower = start_module(
        ["facade.cli", "identities", "follow"], state / "follow.log", environment
    )
    pids["follow"] = follower.pid
    write_pids(_pids_file(), pids)
    _wait_http(f"http://127.0.0.1:{FACADE_PORT}/readyz", facade, state / "facade.log")
    pids["demo"] = start_demo_app(keycloak.url, state)
    write_pids(_pids_file(), pids)
    print(f"stack ready in {time.monotonic() - started:.1f}s")
    _print_urls()
    return 0


def down() -> int:
    pids = read_pids(_pids_file())
    for name in ("demo", "follow", "facade", "wechat", "keycloak", "redis"):
        pid = pids.get(name)
        if pid and alive(pid):
            print(f"stopping {name} ({pid})", flush=True)
            stop_process(pid)
    _pids_file().unlink(missing_ok=True)
    return 0


def start_wechat_standin(
    state: Path, port: int, appid: str, secret: str
) -> WechatStandinProcess | None:
    """Start the WeChat stand-in, or None when one for this appid already answers on ``port``."""
    standin = WechatStandinProcess(state, port=port, appid=appid, secret=secret)
    if port_open(port):
        if standin.answers():
            print(f"WeChat stand-in already answers on {port}: using it", flush=True)
            return None
        raise RuntimeError(f"port {port} is taken by something that is not the WeChat stand-in")
    standin.start()
    try:
        standin.wait_ready()
    except Exception:
        standin.stop()
        raise
    return standin


def start_demo_app(keycloak_url: str, state: Path) -> int:
    """The demo internal app (examples/demo_app.py) and its development-only client."""
    from keycloak import KeycloakAdmin

    from facade.realm.sso import ensure_demo_client

    admin = KeycloakAdmin(
        server_url=keycloak_url + "/",
        username=ADMIN_USER,
        password=ADMIN_PASSWORD,
        realm_name="facade",
        user_realm_name="master",
    )
    ensure_demo_client(admin, "facade", [f"http://127.0.0.1:{DEMO_PORT}/*"])
    demo = start_module(
        [
            "examples.demo_app",
            "--issuer",
            f"{keycloak_url}/realms/facade",
            "--port",
            str(DEMO_PORT),
        ],
        state / "demo.log",
    )
    _wait_http(f"http://127.0.0.1:{DEMO_PORT}/", demo, state / "demo.log")
    return demo.pid


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} never came up: the process exited; see {log}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s; see {log}")


def _print_urls() -> None:
    print(
        "\n"
        f"  facade            http://127.0.0.1:{FACADE_PORT}  (readyz: /readyz)\n"
        f"  keycloak admin    http://127.0.0.1:{KEYCLOAK_PORT}/admin/master/console/#/facade"
        f"  ({ADMIN_USER} / {ADMIN_PASSWORD}, development only)\n"
        f"  redis             redis://127.0.0.1:{REDIS_PORT}/0\n"
        f"  wechat stand-in   http://127.0.0.1:{WECHAT_PORT}"
        f"  (codes: POST http://127.0.0.1:{FACADE_PORT}/_dev/wechat/codes)\n"
        f"  demo app (SSO)    http://127.0.0.1:{DEMO_PORT}  (phone + password or SMS code)\n"
        f"  logs              {state_dir()}/*.log\n"
        "  stop with         facade stack down\n",
        flush=True,
    )
