"""Email codes through the SMTP sender in production mode: the code goes by mail (zh-CN and
English, text and HTML) and never into the response; a refused or unreachable mail server is
answered in captcha's format and leaves no usable code."""

from __future__ import annotations

from dataclasses import replace

import falcon.testing
import pytest

from facade.adapters.smtp_sender import SmtpSender
from facade.app import create_app
from facade.bootstrap import build_services
from facade.stack.processes import free_port
from tests.conftest import random_username
from tests.contracts.captcha.conftest import PASSWORD, random_email
from tests.contracts.live import random_ip
from tests.standins.fixtures import aliyun_config, smtp_config

PRODUCTION_SECRET = "captcha-production-test-secret-0123456789"


def production(settings, smtp, **smtp_changes) -> falcon.testing.TestClient:
    """The facade as deployed: production mode, email by SMTP (the stand-in's own CA)."""
    config = smtp_config(smtp, **smtp_changes)
    deployed = settings.with_changes(
        env="production",
        secret=PRODUCTION_SECRET,
        prefixes={"captcha": "/captcha"},
        delivery=replace(
            settings.delivery,
            smtp=config,
            sms_providers=("aliyun",),  # captcha needs both channels to start in production
            aliyun=aliyun_config(f"http://127.0.0.1:{free_port()}"),
        ),
    )
    senders = {"sms": [], "email": [SmtpSender(config, 5, smtp.client_context())]}
    services = build_services(deployed, senders=senders)
    return falcon.testing.TestClient(create_app(deployed, services))


def post(client: falcon.testing.TestClient, path: str, body: dict):
    return client.simulate_post(
        "/captcha" + path, json=body, headers={"X-Forwarded-For": random_ip()}
    )


def mailed_code(smtp, to: str) -> str:
    [mail] = smtp.messages_to(to)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    code = next(word for word in text.replace("：", " ").split() if word.isdigit())
    assert code in html
    assert "验证码" in text and "code" in text  # Chinese first, then English
    return code


def test_an_email_code_is_mailed_not_returned_and_registers_the_user(settings, smtp):
    client = production(settings, smtp)
    email = random_email()
    sent = post(client, "/auth/send_captcha", {"identifier": email.upper(), "type": "email"})
    assert sent.status_code == 200, sent.text
    assert sent.json == {"code": 200, "message": "email first use", "is_first_use": True}
    code = mailed_code(smtp, email)
    registered = post(
        client,
        "/auth/register",
        {
            "username": random_username(),
            "identifier": email,
            "type": "email",
            "code": code,
            "password": PASSWORD,
        },
    )
    assert registered.status_code == 201, registered.text
    login = post(
        client, "/auth/login", {"identifier": email, "type": "email", "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.json["user_id"] == registered.json["user_id"]


def test_a_refused_mailbox_is_a_400_and_leaves_no_code(settings, smtp):
    client = production(settings, smtp)
    email = random_email()
    smtp.refuse(email, "550 5.1.1 Mailbox does not exist")
    response = post(client, "/auth/send_captcha", {"identifier": email, "type": "email"})
    assert response.status_code == 400
    assert response.json == {
        "code": 400,
        "message": "send login code fail",
        "error_info": "Invalid identifier",
    }
    # No code exists, and the resend interval was given back: the user may correct and retry.
    smtp.reset()
    again = post(client, "/auth/send_captcha", {"identifier": email, "type": "email"})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("changes", [{"port": 1}, {"password": "wrong"}], ids=["down", "login"])
def test_a_mail_server_that_cannot_deliver_is_a_503(settings, smtp, changes):
    if changes.get("port"):
        changes = {"port": free_port()}
    client = production(settings, smtp, **changes)
    response = post(client, "/auth/send_captcha", {"identifier": random_email(), "type": "email"})
    assert response.status_code == 503
    assert response.json == {
        "code": 503,
        "message": "send login code fail",
        "error_info": "Service unavailable",
    }
