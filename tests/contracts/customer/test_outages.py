"""Keycloak or Redis out of reach: the customer contract answers 10009, still over HTTP 200."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.app import create_app
from facade.stack.processes import free_port
from tests.conftest import random_phone
from tests.contracts.customer.conftest import PASSWORD, PREFIX
from tests.contracts.live import random_ip

UNAVAILABLE = {"code": 10009, "message": "service unavailable", "data": None}

REQUESTS = [
    ("/user/verify/sms", {"phone": "13800138000", "type": "register"}),
    ("/user/login", {"phone": "13800138000", "password": PASSWORD}),
    (
        "/user/register",
        {
            "phone": "13800138000",
            "password": PASSWORD,
            "nickname": "新用户",
            "verify_code": "123456",
        },
    ),
    (
        "/user/password/reset",
        {"phone": "13800138000", "verify_code": "123456", "new_password": PASSWORD},
    ),
]


def post(client: falcon.testing.TestClient, path: str, body=None, token: str | None = None):
    headers = {"X-Forwarded-For": random_ip()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.simulate_post(PREFIX + path, json=body, headers=headers)


def assert_unavailable(response) -> None:
    assert response.status_code == 200, response.text
    assert response.json == UNAVAILABLE


@pytest.mark.parametrize(("path", "body"), REQUESTS)
def test_redis_out_of_reach_is_10009(settings, path, body):
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert_unavailable(post(falcon.testing.TestClient(create_app(broken)), path, body))


def test_refresh_and_logout_with_redis_out_of_reach_are_10009(settings, customer):
    _, data = customer.registered()
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    assert_unavailable(post(client, "/user/refresh", {"refresh_token": data["refresh_token"]}))
    assert_unavailable(post(client, "/user/logout", token=data["token"]))
    # The session was not ended half-way: it still works once Redis is back.
    assert customer.call("/user/logout", token=data["token"])["code"] == 0


def test_keycloak_out_of_reach_is_10009_and_nothing_is_half_written(settings, customer):
    phone = random_phone()
    code = customer.send_code(phone)
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    body = {"phone": phone, "password": PASSWORD, "nickname": "新用户", "verify_code": code}
    assert_unavailable(post(client, "/user/register", body))
    assert customer.services.identity.find_by_attribute("phone_number", phone) == []
    assert_unavailable(post(client, "/user/login", {"phone": phone, "password": PASSWORD}))


def test_logout_answers_10009_when_keycloak_keys_cannot_be_fetched(settings):
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    token = (
        "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5ldyJ9."
        "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # a well-formed token with a key id nobody has fetched
    )
    assert_unavailable(
        post(falcon.testing.TestClient(create_app(broken)), "/user/logout", token=token)
    )
