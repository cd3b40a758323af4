"""Keycloak or Redis out of reach: every captcha endpoint answers 503 ``Service unavailable`` in
its own format, and nothing is half-written."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.app import create_app
from facade.stack.processes import free_port
from tests.conftest import random_phone, random_username
from tests.contracts.captcha.conftest import PASSWORD

REQUESTS = [
    ("/auth/send_captcha", {"identifier": "13812345678", "type": "phone"}, "send login code fail"),
    (
        "/auth/register",
        {
            "username": "someone",
            "identifier": "someone@example.com",
            "type": "email",
            "code": "123456",
            "password": PASSWORD,
        },
        "create user fail",
    ),
    (
        "/auth/login",
        {"identifier": "13812345678", "type": "phone", "password": PASSWORD},
        "user login fail",
    ),
    (
        "/auth/login",
        {"identifier": "13812345678", "type": "phone", "code": "123456"},
        "user login fail",
    ),
]


def unavailable(message: str) -> dict:
    return {"code": 503, "message": message, "error_info": "Service unavailable"}


@pytest.mark.parametrize(("path", "body", "message"), REQUESTS)
def test_redis_out_of_reach_is_a_503(settings, path, body, message):
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post("/captcha" + path, json=body)
    assert response.status_code == 503, response.text
    assert response.json == unavailable(message)


def test_refresh_with_redis_out_of_reach_is_a_503_that_keeps_the_token(settings, captcha):
    phone, _, _ = captcha.register("phone")
    tokens = captcha.login(phone, "phone", password=PASSWORD).json
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post(
        "/captcha/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert response.status_code == 503
    # Not "Invalid refresh token": the client must keep a token that is still good.
    assert response.json == unavailable("token refresh fail")
    assert captcha.post("/auth/refresh", token=tokens["refresh_token"]).status_code == 200


def test_keycloak_out_of_reach_during_register_is_a_503_and_creates_nobody(settings, captcha):
    phone = random_phone()
    code = captcha.code_for(phone)
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post(
        "/captcha/auth/register",
        json={
            "username": random_username(),
            "identifier": phone,
            "type": "phone",
            "code": code,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 503
    assert response.json == unavailable("create user fail")
    assert captcha.services.identity.find_by_attribute("phone_number", phone) == []


def test_keycloak_out_of_reach_during_login_is_a_503(settings):
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post(
        "/captcha/auth/login",
        json={"identifier": random_phone(), "type": "phone", "password": PASSWORD},
    )
    assert response.status_code == 503
    assert response.json == unavailable("user login fail")
