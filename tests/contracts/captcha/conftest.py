"""An HTTP client for the captcha contract at its default prefix, with a client app's steps."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from tests.conftest import random_phone, random_username
from tests.contracts.live import random_ip

PREFIX = "/captcha"
PASSWORD = "password123"


def random_email() -> str:
    return f"c{secrets.token_hex(6)}@example.com"


def random_identifier(kind: str) -> str:
    return random_phone() if kind == "phone" else random_email()


@dataclass
class CaptchaClient:
    http: falcon.testing.TestClient
    services: Services

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        ip: str | None = None,
        prefix: str = PREFIX,
    ):
        headers = {"X-Forwarded-For": ip or random_ip()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.simulate_post(prefix + path, json=body, headers=headers)

    def send(self, identifier: str, kind: str = "phone"):
        return self.post("/auth/send_captcha", {"identifier": identifier, "type": kind})

    def code_for(self, identifier: str, kind: str = "phone") -> str:
        """Send a code and read it from the development outbox, as a tester would."""
        sent = self.send(identifier, kind)
        assert sent.status_code == 200, sent.text
        return self.outbox_code(identifier)

    def outbox_code(self, identifier: str) -> str:
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": identifier.lower()})
        assert outbox.status_code == 200, outbox.text
        return str(outbox.json["messages"][0]["code"])

    def allow_resend(self, identifier: str) -> None:
        """Skip the 60 s resend interval, as if a minute had passed (the daily cap stays)."""
        self.services.redis.delete(self.services.keys.code_resend("captcha", identifier))

    def register(
        self,
        kind: str = "phone",
        identifier: str | None = None,
        *,
        username: str | None = None,
        password: str = PASSWORD,
    ) -> tuple[str, str, Any]:
        """A registration through send_captcha and register: (identifier, username, response)."""
        identifier = identifier or random_identifier(kind)
        username = username or random_username("cap")
        response = self.post(
            "/auth/register",
            {
                "username": username,
                "identifier": identifier,
                "type": kind,
                "code": self.code_for(identifier, kind),
                "password": password,
            },
        )
        return identifier, username, response

    def login(self, identifier: str, kind: str = "phone", *, ip: str | None = None, **proof: str):
        body = {"identifier": identifier, "type": kind, **proof}
        return self.post("/auth/login", body, ip=ip)


@pytest.fixture
def captcha(settings) -> CaptchaClient:
    services = build_services(settings)
    return CaptchaClient(falcon.testing.TestClient(create_app(settings, services)), services)
