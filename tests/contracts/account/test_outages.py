"""Keycloak or Redis out of reach: the account contract answers 503 in its own format."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.app import create_app
from facade.stack.processes import free_port
from tests.conftest import random_phone

UNAVAILABLE = {"detail": "Service unavailable"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/send-code", {"phone": "13800138000"}),
        ("/login", {"phone": "13800138000", "code": "123456"}),
        ("/register", {"username": "nobody", "phone": "13800138000", "password": "secret-1"}),
    ],
)
def test_redis_out_of_reach_is_a_503(settings, path, body):
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post("/account" + path, json=body)
    assert (response.status_code, response.json) == (503, UNAVAILABLE)


def test_keycloak_out_of_reach_is_a_503_and_nothing_is_half_written(settings, account):
    phone = random_phone()
    code = account.send_code(phone)
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    for path, body in (
        ("/login", {"phone": phone, "code": code}),
        ("/check-username", {"username": "someone"}),
    ):
        response = client.simulate_post("/account" + path, json=body)
        assert (response.status_code, response.json) == (503, UNAVAILABLE)
    assert account.services.identity.find_by_attribute("phone_number", phone) == []


def test_users_me_with_redis_out_of_reach_is_a_503(settings, account):
    token = account.code_token()
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_get(
        "/account/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json) == (503, UNAVAILABLE)
