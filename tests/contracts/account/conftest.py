"""An HTTP client for the account contract at its default prefix, with helpers a client app has."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from tests.conftest import random_phone, random_username
from tests.contracts.live import random_ip

PREFIX = "/account"
PASSWORD = "secret-1"


@dataclass
class AccountClient:
    http: falcon.testing.TestClient
    services: Services

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> falcon.testing.Result:
        headers = {"X-Forwarded-For": random_ip()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.simulate_request(method, PREFIX + path, json=body, headers=headers)

    def post(self, path: str, body: Any = None, *, token: str | None = None):
        return self.request("POST", path, body, token=token)

    def put(self, path: str, body: Any = None, *, token: str | None = None):
        return self.request("PUT", path, body, token=token)

    def get(self, path: str, *, token: str | None = None):
        return self.request("GET", path, token=token)

    def send_code(self, phone: str) -> str:
        self.allow_resend(phone)
        sent = self.post("/send-code", {"phone": phone})
        assert sent.status_code == 200, sent.text
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": phone})
        assert outbox.status_code == 200, outbox.text
        return str(outbox.json["messages"][0]["code"])

    def allow_resend(self, phone: str) -> None:
        """Skip the 60 s resend interval, as if a minute had passed (the daily cap stays)."""
        self.services.redis.delete(self.services.keys.code_resend("account", phone))

    def register(
        self, username: str | None = None, phone: str | None = None, password: str = PASSWORD
    ) -> dict[str, Any]:
        body = {
            "username": username or random_username(),
            "phone": phone or random_phone(),
            "password": password,
        }
        response = self.post("/register", body)
        assert response.status_code == 200, response.text
        return dict(response.json)

    def login(self, username: str, password: str = PASSWORD):
        return self.post("/login", {"username": username, "password": password})

    def token(self, username: str, password: str = PASSWORD) -> str:
        response = self.login(username, password)
        assert response.status_code == 200, response.text
        return str(response.json["access_token"])

    def code_login(self, phone: str | None = None, path: str = "/login"):
        phone = phone or random_phone()
        return self.post(path, {"phone": phone, "code": self.send_code(phone)})

    def code_token(self, phone: str | None = None) -> str:
        response = self.code_login(phone)
        assert response.status_code == 200, response.text
        return str(response.json["access_token"])


def after_a_wrong_password() -> None:
    """Keycloak's brute-force detection may refuse the right password given within a second
    of a wrong one for the same user (seen about once in 15 tries); people type slower."""
    time.sleep(1.1)


@pytest.fixture
def account(settings) -> AccountClient:
    services = build_services(settings)
    return AccountClient(falcon.testing.TestClient(create_app(settings, services)), services)
