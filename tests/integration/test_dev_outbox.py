"""The development sender and ``GET /_dev/outbox``: there in development, absent in production."""

from __future__ import annotations

import logging

import falcon.testing
import pytest

from facade.adapters.dev_outbox import DevSender
from facade.app import create_app
from facade.bootstrap import build_senders, build_services
from facade.settings import Settings
from tests.codes_support import random_email, random_phone
from tests.standins.fixtures import (
    ALIYUN_KEY_ID,
    ALIYUN_KEY_SECRET,
    ALIYUN_SIGN,
    SMTP_PASSWORD,
    SMTP_USER,
)

PRODUCTION = {
    "FACADE_ENV": "production",
    "FACADE_DATABASE_URL": "sqlite://",
    "FACADE_SECRET": "p" * 40,
    "FACADE_KEYCLOAK_CLIENT_SECRET": "k",
    "FACADE_VCODE_CLIENT_SECRET": "v",
    "FACADE_CAPTCHA_CLIENT_SECRET": "c",
}


@pytest.fixture
def environment(redis_server, redis_prefix) -> dict[str, str]:
    return {
        "FACADE_REDIS_URL": redis_server.url,
        "FACADE_REDIS_PREFIX": redis_prefix,
        "FACADE_CONTRACTS": "vcode,captcha",
        "FACADE_CODE_RESEND_INTERVAL": "0",
    }


@pytest.fixture
def development(environment):
    settings = Settings.from_env({**environment, "FACADE_ENV": "development"})
    services = build_services(settings)
    return services, falcon.testing.TestClient(create_app(settings, services))


def aliyun_environment(url: str) -> dict[str, str]:
    return {
        "FACADE_SMS_PROVIDERS": "aliyun",
        "FACADE_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
        "FACADE_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_KEY_SECRET,
        "FACADE_ALIYUN_SMS_SIGN_NAME": ALIYUN_SIGN,
        "FACADE_ALIYUN_SMS_TEMPLATES": "default=SMS_100000",
        "FACADE_ALIYUN_SMS_ENDPOINT": url,
    }


def test_the_outbox_lists_messages_to_a_target_newest_first(development):
    services, client = development
    phone = random_phone()
    first = services.codes.send("vcode", "register", "sms", phone, "10.0.0.1")
    second = services.codes.send("vcode", "login", "sms", phone, "10.0.0.1")
    response = client.simulate_get("/_dev/outbox", params={"to": f"+86 {phone}"})
    assert response.status_code == 200
    assert response.json["to"] == phone
    messages = response.json["messages"]
    assert [(m["purpose"], m["code"]) for m in messages] == [
        ("login", second.code),
        ("register", first.code),
    ]
    newest = messages[0]
    assert {"target", "channel", "purpose", "code", "text", "time"} <= newest.keys()
    assert newest["target"] == phone and newest["channel"] == "sms"
    assert second.code in newest["text"] and newest["time"].endswith("Z")


def test_the_outbox_shows_emails_by_address(development):
    services, client = development
    email = random_email()
    sent = services.codes.send("captcha", "register", "email", email, "10.0.0.1")
    [message] = client.simulate_get("/_dev/outbox", params={"to": email.upper()}).json["messages"]
    assert (message["channel"], message["code"]) == ("email", sent.code)
    assert "Your sign-up code is" in message["text"]


def test_the_outbox_of_a_target_without_messages_is_empty(development):
    _, client = development
    response = client.simulate_get("/_dev/outbox", params={"to": random_phone()})
    assert response.json["messages"] == []


def test_the_outbox_needs_a_phone_or_email(development):
    _, client = development
    assert client.simulate_get("/_dev/outbox").status_code == 400
    assert client.simulate_get("/_dev/outbox", params={"to": "nobody"}).status_code == 400


def test_the_development_sender_logs_the_message(development, caplog):
    services, _ = development
    caplog.set_level(logging.INFO, logger="facade.adapters.dev_outbox")
    sent = services.codes.send("vcode", "login", "sms", random_phone(), "10.0.0.1")
    assert any(sent.code in record.getMessage() for record in caplog.records)


def test_production_has_neither_outbox_nor_development_sender(
    environment, aliyun, aliyun_server, smtp_server
):
    settings = Settings.from_env(
        {
            **environment,
            **PRODUCTION,
            **aliyun_environment(aliyun_server[1]),
            "FACADE_SMTP_HOST": "127.0.0.1",
            "FACADE_SMTP_PORT": str(smtp_server.starttls_port),
            "FACADE_SMTP_USER": SMTP_USER,
            "FACADE_SMTP_PASSWORD": SMTP_PASSWORD,
            "FACADE_SMTP_FROM": "no-reply@example.com",
        }
    )
    services = build_services(settings)
    client = falcon.testing.TestClient(create_app(settings, services))
    assert services.outbox is None
    assert client.simulate_get("/_dev/outbox", params={"to": random_phone()}).status_code == 404
    senders = build_senders(settings, services.outbox)
    assert [s.name for s in senders["sms"]] == ["aliyun"]
    assert [s.name for s in senders["email"]] == ["smtp"]
    sent = services.codes.send("vcode", "login", "sms", random_phone(), "10.0.0.1")
    assert sent.code is None and aliyun.sent


def test_development_uses_a_configured_provider_and_the_dev_sender_for_the_rest(
    environment, aliyun, aliyun_server
):
    settings = Settings.from_env(
        {**environment, "FACADE_ENV": "development", **aliyun_environment(aliyun_server[1])}
    )
    services = build_services(settings)
    senders = build_senders(settings, services.outbox)
    assert [s.name for s in senders["sms"]] == ["aliyun"]
    assert [type(s) for s in senders["email"]] == [DevSender]
    phone = random_phone()
    sent = services.codes.send("vcode", "login", "sms", phone, "10.0.0.1")
    assert sent.code == aliyun.sent[-1].params["code"]  # development mode still shows the code
