"""``FACADE_SERVER=granian facade serve``: the same app guarantees as under gunicorn."""

from __future__ import annotations

import pytest
import requests

from facade.stack.servers import server_command
from tests.ops.support import live_facade, random_ip, random_phone, scrape, value

pytest.importorskip("granian")


@pytest.fixture(scope="module")
def facade(keycloak, redis_server, wechat_standin):
    with live_facade(
        keycloak.url, redis_server.url, wechat_standin.url, workers=2, FACADE_SERVER="granian"
    ) as live:
        yield live


def test_serve_runs_granian_with_the_facade_app_and_its_reserve_threads() -> None:
    command = server_command("granian", "127.0.0.1:9000", 2, 10)
    assert command[1:3] == ["-m", "granian"]
    assert {"--interface=wsgi", "--host=127.0.0.1", "--port=9000", "--workers=2"} <= set(command)
    assert "--blocking-threads=10" in command
    assert server_command("granian", "unix:/run/f.sock", 1, 3)[5] == "--uds=/run/f.sock"
    with pytest.raises(ValueError, match="FACADE_SERVER"):
        server_command("uvicorn", "127.0.0.1:9000", 2, 10)


def test_a_member_signs_in_reads_the_profile_and_is_refused_after_logout(facade) -> None:
    phone, ip = random_phone(), random_ip()
    through_proxy = {"X-Forwarded-For": ip}
    sent = requests.post(
        f"{facade.url}/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers=through_proxy,
    )
    assert sent.json()["code"] == 0
    # The client address comes from X-Forwarded-For (granian gives the peer as REMOTE_ADDR):
    # the same IP is limited, another one is not.
    again = {"phone": random_phone(), "code_type": "login"}
    limited = requests.post(f"{facade.url}/api/v1/auth/sms/send", json=again, headers=through_proxy)
    assert limited.status_code == 429
    other = {"X-Forwarded-For": random_ip()}
    assert requests.post(f"{facade.url}/api/v1/auth/sms/send", json=again, headers=other).ok

    code = requests.get(f"{facade.url}/_dev/outbox", params={"to": phone}).json()["messages"][0]
    login = requests.post(
        f"{facade.url}/api/v1/auth/login/sms",
        json={"phone": phone, "code": code["code"]},
        headers={"X-Forwarded-For": random_ip()},
    ).json()
    bearer = {"Authorization": f"Bearer {login['data']['token']['access_token']}"}
    for _ in range(4):  # new connections: both workers answer
        me = requests.get(
            f"{facade.url}/api/v1/auth/me", headers={**bearer, "Connection": "close"}
        ).json()
        assert me["data"]["phone"] == phone

    assert requests.post(f"{facade.url}/api/v1/auth/logout", headers=bearer).ok
    for _ in range(4):
        refused = requests.get(
            f"{facade.url}/api/v1/auth/me", headers={**bearer, "Connection": "close"}
        )
        assert refused.status_code == 401


def test_an_oversized_body_is_refused_in_the_contracts_format(facade) -> None:
    huge = '{"phone": "' + "1" * (70 * 1024) + '"}'
    answer = requests.post(
        f"{facade.url}/api/v1/auth/login/sms",
        data=huge,
        headers={"Content-Type": "application/json", "X-Forwarded-For": random_ip()},
    )
    assert answer.status_code in (400, 413)
    assert answer.json()["code"] == answer.status_code


def test_requests_are_counted_across_workers(facade) -> None:
    before = value(scrape(facade.url), "facade_requests_total", route="/healthz", status="200")
    for _ in range(20):
        assert requests.get(f"{facade.url}/healthz", headers={"Connection": "close"}).ok
    after = value(scrape(facade.url), "facade_requests_total", route="/healthz", status="200")
    assert after - before == 20
