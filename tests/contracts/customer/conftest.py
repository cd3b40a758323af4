"""An HTTP client for the customer contract at its default prefix, as a customer app uses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from tests.conftest import random_phone
from tests.contracts.live import random_ip

PREFIX = "/api/app/customer/v1"
PASSWORD = "password123"


@dataclass
class CustomerClient:
    http: falcon.testing.TestClient
    services: Services

    def post(self, path: str, body: Any = None, *, token: str | None = None, ip: str | None = None):
        """POST as a client at its own address; every documented answer must be HTTP 200."""
        headers = {"X-Forwarded-For": ip or random_ip()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.simulate_post(PREFIX + path, json=body, headers=headers)

    def call(self, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The body of a documented answer (HTTP 200 with the business code)."""
        response = self.post(path, body, **kwargs)
        assert response.status_code == 200, response.text
        return dict(response.json)

    def send_code(self, phone: str, kind: str = "register") -> str:
        sent = self.call("/user/verify/sms", {"phone": phone, "type": kind})
        assert sent["code"] == 0, sent
        return self.latest_code(phone)

    def latest_code(self, phone: str) -> str:
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": phone})
        assert outbox.status_code == 200, outbox.text
        return str(outbox.json["messages"][0]["code"])

    def allow_resend(self, phone: str) -> None:
        """Skip the 60 s resend interval, as if a minute had passed (the daily cap stays)."""
        self.services.redis.delete(self.services.keys.code_resend("customer", phone))

    def register(
        self, phone: str | None = None, password: str = PASSWORD, nickname: str = "新用户"
    ) -> dict[str, Any]:
        """Register a new phone; the whole answer body."""
        phone = phone or random_phone()
        code = self.send_code(phone)
        body = {"phone": phone, "password": password, "nickname": nickname, "verify_code": code}
        return self.call("/user/register", body)

    def registered(self, password: str = PASSWORD) -> tuple[str, dict[str, Any]]:
        """A freshly registered phone and its session ``data``."""
        phone = random_phone()
        answer = self.register(phone, password)
        assert answer["code"] == 0, answer
        return phone, answer["data"]


@pytest.fixture
def customer(settings) -> CustomerClient:
    services = build_services(settings)
    return CustomerClient(falcon.testing.TestClient(create_app(settings, services)), services)
