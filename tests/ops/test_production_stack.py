"""``facade stack up --production`` end to end: a member signs in through nginx."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis
import requests

from facade.contracts import load_contract
from facade.contracts.kit.parsing import too_large
from facade.stack.postgres import PostgresServer
from facade.stack.processes import port_open, read_pids
from facade.stack.production import Ports
from tests.ops.support import random_phone

pytestmark = pytest.mark.prodstack
REPO = Path(__file__).resolve().parents[2]


def _free_block() -> Ports:
    for _ in range(50):
        ports = Ports(random.randrange(20000, 30000, 20))
        if not any(port_open(port) for port in ports.all()):
            return ports
    raise RuntimeError("no free block of ports")


def _stack(action: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "facade.cli", "stack", action, "--production"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def stack():
    ports = _free_block()
    # Not pytest's tmp_path: its parents are private to root, and the postgres user (when the
    # tests run as root) must reach its cluster inside.
    state = Path(tempfile.mkdtemp(prefix="facade-prod-"))
    state.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACADE_")},
        "FACADE_PROD_PORT_BASE": str(ports.base),
        "FACADE_PROD_STACK_DIR": str(state),
    }
    try:
        up = _stack("up", env, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        yield ports, state
    finally:
        down = _stack("down", env, timeout=180)
        assert down.returncode == 0, down.stderr
        assert not [port for port in ports.all() if port_open(port)]
        shutil.rmtree(state, ignore_errors=True)


def test_a_member_signs_in_through_nginx_on_the_production_stack(stack) -> None:
    ports, state = stack
    edge = f"http://127.0.0.1:{ports.nginx}"
    assert requests.get(f"{edge}/readyz", timeout=5).json()["status"] == "ready"

    phone = random_phone()
    sent = requests.post(
        f"{edge}/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers={"X-Forwarded-For": "203.0.113.7"},
        timeout=10,
    )
    assert sent.json()["code"] == 0, sent.text
    # The code went through the Aliyun stand-in (V3 signature checked), not a dev outbox.
    assert requests.get(f"{edge}/_dev/outbox", params={"to": phone}, timeout=5).status_code == 404
    outbox = requests.get(
        f"http://127.0.0.1:{ports.aliyun}/_standin/sent", params={"phone": phone}, timeout=5
    ).json()
    code = outbox["sent"][0]["code"]

    # nginx replaces X-Forwarded-For: a client's own value does not buy it a fresh IP budget
    # (member allows one send per IP per minute).
    other = requests.post(
        f"{edge}/api/v1/auth/sms/send",
        json={"phone": random_phone(), "code_type": "login"},
        headers={"X-Forwarded-For": "198.51.100.9"},
        timeout=10,
    )
    assert other.status_code == 429, other.text

    login = requests.post(
        f"{edge}/api/v1/auth/login/sms", json={"phone": phone, "code": code}, timeout=15
    )
    assert login.json()["code"] == 0, login.text
    token = login.json()["data"]["token"]["access_token"]
    me = requests.get(
        f"{edge}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.json()["data"]["phone"] == phone, me.text

    # Production mode throughout: Keycloak in start mode on PostgreSQL, Redis with AOF.
    keycloak_log = (state / "keycloak.log").read_text(errors="replace")
    assert "development mode" not in keycloak_log
    postgres = PostgresServer(state / "postgres", ports.postgres)
    rows = postgres.psql(
        f"SELECT count(*) FROM user_attribute WHERE name = 'phone_number' AND value = '{phone}'",
        database="keycloak",
    )
    assert rows == "1"
    assert redis.Redis(port=ports.redis).config_get("appendonly")["appendonly"] == "yes"
    assert json.loads((state / "secrets.json").read_text())["facade_secret"]
    assert (state / "secrets.json").stat().st_mode & 0o077 == 0


# Last in this module: it kills the facades.
def test_nginx_answers_in_the_contracts_format_when_it_answers_itself(stack) -> None:
    ports, state = stack
    edge = f"http://127.0.0.1:{ports.nginx}"
    member = load_contract("member")

    # A body over 64 KB stops at nginx (413) with the answer a facade gives it.
    big = requests.post(
        f"{edge}/api/v1/auth/login/sms",
        data=b'{"phone":"' + b"1" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    expected = member.render_error(too_large(), "/auth/login/sms")
    assert (big.status_code, big.json()) == (expected.status, expected.body)

    # Both facades dead: nginx's own 502 becomes each contract's "service unavailable".
    pids = read_pids(state / "pids.json")
    for name in ("facade-1", "facade-2"):
        os.killpg(pids[name], signal.SIGKILL)
    login = requests.post(
        f"{edge}/api/v1/auth/login/sms",
        json={"phone": random_phone(), "code": "123456"},
        timeout=10,
    )
    assert login.status_code == 503, login.text
    assert login.json() == {"code": 503, "message": "服务暂不可用: facade", "data": None}
    assert (login.headers["Content-Type"], login.headers["Retry-After"]) == (
        "application/json",
        "1",
    )
    customer = requests.post(
        f"{edge}/api/app/customer/v1/user/login",
        json={"phone": random_phone(), "password": "Passw0rd!"},
        timeout=10,
    )
    assert (customer.status_code, customer.json()["code"]) == (200, 10009)
