"""An HTTP client for the vcode contract at its default prefix, with what a client app does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from tests.conftest import random_phone
from tests.contracts.live import random_ip

PREFIX = "/vcode"
PASSWORD = "Password123"


@dataclass
class VcodeClient:
    http: falcon.testing.TestClient
    services: Services

    def post(self, path: str, body: Any = None, *, ip: str | None = None):
        headers = {"X-Forwarded-For": ip or random_ip()}
        return self.http.simulate_post(PREFIX + path, json=body, headers=headers)

    def send_code(self, phone: str, code_type: str) -> str:
        """Request a code of ``code_type`` and read it from the development outbox."""
        self.allow_resend(phone)
        sent = self.post("/auth/verification-code", {"phone": phone, "type": code_type})
        assert sent.status_code == 200, sent.text
        return self.latest_code(phone)

    def latest_code(self, phone: str) -> str:
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": phone})
        assert outbox.status_code == 200, outbox.text
        return str(outbox.json["messages"][0]["code"])

    def allow_resend(self, phone: str) -> None:
        """Skip the 60 s resend interval, as if a minute had passed (the daily cap stays)."""
        self.services.redis.delete(self.services.keys.code_resend("vcode", phone))

    def register(
        self, phone: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> tuple[str, dict[str, Any]]:
        """A new user registered by code: its phone and the ``data`` of the answer."""
        phone = phone or random_phone()
        code = self.send_code(phone, "register")
        response = self.post(
            "/auth/register", {"phone": phone, "code": code, "password": password, **extra}
        )
        assert response.status_code == 200, response.text
        return phone, response.json["data"]


@pytest.fixture
def vcode(settings) -> VcodeClient:
    services = build_services(settings)
    return VcodeClient(falcon.testing.TestClient(create_app(settings, services)), services)


def error_type(response) -> str:
    """The documented ``error.type``, after checking the status equals the body code."""
    assert response.status_code == response.json["code"], response.text
    return str(response.json["error"]["type"])
