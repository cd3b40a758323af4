"""Keycloak or Redis out of reach: vcode answers 503 SERVICE_UNAVAILABLE naming the part."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.app import create_app
from facade.stack.processes import free_port
from tests.conftest import random_phone
from tests.contracts.vcode.conftest import PASSWORD

REQUESTS = [
    ("/auth/verification-code", {"phone": "13800138000", "type": "register"}),
    ("/auth/login/code", {"phone": "13800138000", "code": "123456"}),
    ("/auth/register", {"phone": "13800138000", "code": "123456", "password": PASSWORD}),
    ("/auth/login", {"username": "13800138000", "password": PASSWORD}),
    ("/auth/reset-password", {"phone": "13800138000", "code": "123456", "new_password": PASSWORD}),
]


def unavailable(part: str) -> dict:
    return {
        "code": 503,
        "message": f"服务暂不可用: {part}",
        "error": {"type": "SERVICE_UNAVAILABLE", "details": {"service": part}},
    }


@pytest.mark.parametrize(("path", "body"), REQUESTS)
def test_redis_out_of_reach_is_a_503_naming_redis(settings, path, body):
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = falcon.testing.TestClient(create_app(broken)).simulate_post(
        "/vcode" + path, json=body
    )
    assert response.status_code == 503, response.text
    assert response.json == unavailable("redis")


def test_keycloak_out_of_reach_during_register_is_a_503_and_writes_nothing(settings, vcode):
    phone = random_phone()
    code = vcode.send_code(phone, "register")
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    response = falcon.testing.TestClient(create_app(broken)).simulate_post(
        "/vcode/auth/register", json={"phone": phone, "code": code, "password": PASSWORD}
    )
    assert response.status_code == 503, response.text
    assert response.json == unavailable("keycloak")
    assert vcode.services.identity.find_by_attribute("phone_number", phone) == []


def test_keycloak_out_of_reach_during_password_login_is_a_503(settings):
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    response = falcon.testing.TestClient(create_app(broken)).simulate_post(
        "/vcode/auth/login", json={"username": "someone", "password": PASSWORD}
    )
    assert response.status_code == 503, response.text
    assert response.json == unavailable("keycloak")
