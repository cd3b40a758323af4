"""An HTTP client for the member contract at its default prefix, with helpers a client app has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from tests.conftest import random_phone
from tests.contracts.live import random_ip

PREFIX = "/api/v1"


@dataclass
class MemberClient:
    http: falcon.testing.TestClient
    services: Services

    def post(self, path: str, body: Any = None, *, token: str | None = None, ip: str | None = None):
        headers = {"X-Forwarded-For": ip or random_ip()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.simulate_post(PREFIX + path, json=body, headers=headers)

    def get(self, path: str, *, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.simulate_get(PREFIX + path, headers=headers)

    def send_code(self, phone: str, code_type: str = "login") -> str:
        sent = self.post("/auth/sms/send", {"phone": phone, "code_type": code_type})
        assert sent.status_code == 200, sent.text
        return self.latest_code(phone)

    def latest_code(self, phone: str) -> str:
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": phone})
        assert outbox.status_code == 200, outbox.text
        return str(outbox.json["messages"][0]["code"])

    def sms_login(self, phone: str | None = None, **extra: Any):
        phone = phone or random_phone()
        code = self.send_code(phone)
        return self.post("/auth/login/sms", {"phone": phone, "code": code, **extra})

    def allow_resend(self, phone: str) -> None:
        """Skip the 60 s resend interval, as if a minute had passed (the daily cap stays)."""
        self.services.redis.delete(self.services.keys.code_resend("member", phone))

    def wechat_code(self, **identity: Any) -> dict[str, Any]:
        minted = self.http.simulate_post("/_dev/wechat/codes", json=identity)
        assert minted.status_code == 200, minted.text
        return minted.json


@pytest.fixture
def member(settings) -> MemberClient:
    services = build_services(settings)
    return MemberClient(falcon.testing.TestClient(create_app(settings, services)), services)
