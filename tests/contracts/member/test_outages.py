"""Keycloak or Redis out of reach: the member contract answers 503 in its own format."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.app import create_app
from facade.stack.processes import free_port
from tests.conftest import random_phone

UNAVAILABLE_REQUESTS = [
    ("POST", "/auth/sms/send", {"phone": "13800138000", "code_type": "login"}),
    ("POST", "/auth/login/sms", {"phone": "13800138000", "code": "123456"}),
    ("POST", "/auth/login/wechat", {"code": "abc"}),
]


@pytest.mark.parametrize(("method", "path", "body"), UNAVAILABLE_REQUESTS)
def test_redis_out_of_reach_is_a_503_in_member_format(settings, method, path, body):
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_request(method, "/api/v1" + path, json=body)
    assert response.status_code == 503, response.text
    assert response.json["code"] == 503
    assert response.json["data"] is None


def test_refresh_and_me_with_redis_out_of_reach_are_503(settings, member):
    token = member.sms_login().json["data"]["token"]
    broken = settings.with_changes(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = falcon.testing.TestClient(create_app(broken))
    refresh = client.simulate_post(
        "/api/v1/auth/refresh", json={"refresh_token": token["refresh_token"]}
    )
    me = client.simulate_get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    for response in (refresh, me):
        assert response.status_code == 503, response.text
        assert response.json == {"code": 503, "message": "服务暂不可用: redis", "data": None}


def test_keycloak_out_of_reach_is_a_503_in_member_format(settings, member):
    phone = random_phone()
    code = member.send_code(phone)
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    response = client.simulate_post("/api/v1/auth/login/sms", json={"phone": phone, "code": code})
    assert response.status_code == 503
    assert response.json == {"code": 503, "message": "服务暂不可用: keycloak", "data": None}
    # Nothing was half-written: no user exists for that phone.
    assert member.services.identity.find_by_attribute("phone_number", phone) == []


def test_bearer_routes_answer_503_when_keycloak_keys_cannot_be_fetched(settings):
    broken = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    client = falcon.testing.TestClient(create_app(broken))
    token = (
        "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5ldyJ9."
        "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # a well-formed token with a key id nobody has fetched
    )
    response = client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.json["code"] == 503
