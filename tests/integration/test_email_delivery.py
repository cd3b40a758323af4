"""Email codes through a local SMTP server that insists on TLS and a login."""

from __future__ import annotations

import pytest

from facade.adapters.smtp_sender import SmtpSender
from facade.core.codes import CheckResult
from facade.core.delivery import Message, SendFailure
from facade.core.errors import DeliveryFailed
from facade.stack.processes import free_port
from tests.codes_support import code_service, random_email
from tests.standins.fixtures import SMTP_USER, smtp_config


def sender(smtp, security: str = "starttls", **changes) -> SmtpSender:
    return SmtpSender(smtp_config(smtp, security, **changes), 5, smtp.client_context())


def message(to: str, purpose: str = "register") -> Message:
    return Message("email", "captcha", purpose, to, "905127")


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_code_is_mailed_over_tls_after_login(smtp, security):
    to = random_email()
    sender(smtp, security).send(message(to))
    [received] = [r for r in smtp.received if to in r.rcpt_tos]
    assert received.tls and received.user == SMTP_USER
    assert received.mail_from == "no-reply@example.com"
    mail = received.message
    assert mail["To"] == to and "验证码" in mail["Subject"] and "code" in mail["Subject"]
    assert mail["Message-ID"].endswith("@example.com>")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for body in (text, html):
        assert "905127" in body
        assert "注册" in body and "sign-up" in body  # Chinese and English, per purpose


def test_the_purpose_words_the_message(smtp):
    to = random_email()
    sender(smtp).send(message(to, "reset_password"))
    [mail] = smtp.messages_to(to)
    assert "重置密码" in mail["Subject"] and "password reset" in mail["Subject"]


def test_a_refused_recipient_is_a_rejected_target(smtp):
    to = random_email()
    smtp.refuse(to, "550 5.1.1 Mailbox does not exist")
    with pytest.raises(SendFailure) as failure:
        sender(smtp).send(message(to))
    assert (failure.value.reason, failure.value.detail) == ("target_rejected", "smtp 550")


def test_a_temporary_refusal_is_throttling(smtp):
    to = random_email()
    smtp.refuse(to, "452 4.5.3 Too many recipients, try later")
    with pytest.raises(SendFailure) as failure:
        sender(smtp).send(message(to))
    assert failure.value.reason == "throttled"


def test_a_wrong_password_means_the_provider_is_down(smtp):
    with pytest.raises(SendFailure) as failure:
        sender(smtp, "tls", password="wrong").send(message(random_email()))
    assert (failure.value.reason, failure.value.detail) == ("provider_down", "smtp 535")


def test_the_server_refuses_mail_without_login(smtp):
    with pytest.raises(SendFailure) as failure:
        sender(smtp, user="", password="").send(message(random_email()))
    assert (failure.value.reason, failure.value.detail) == ("provider_down", "smtp 530")
    assert not smtp.received


def test_an_untrusted_certificate_is_refused(smtp):
    untrusted = SmtpSender(smtp_config(smtp, "tls"), 5)  # the system CAs do not know it
    with pytest.raises(SendFailure) as failure:
        untrusted.send(message(random_email()))
    assert failure.value.detail == "smtp SSLCertVerificationError"
    assert not smtp.received


def test_an_unreachable_server_is_down(smtp):
    down = sender(smtp, port=free_port())
    with pytest.raises(SendFailure) as failure:
        down.send(message(random_email()))
    assert failure.value.reason == "provider_down"


def test_an_email_code_is_sent_and_checked(redis_client, redis_prefix, smtp):
    codes, _ = code_service(redis_client, redis_prefix, email=[sender(smtp)], development=False)
    to = random_email()
    sent = codes.send("captcha", "login", "email", to.upper(), "10.0.0.1")
    assert sent.target == to and sent.code is None
    [mail] = smtp.messages_to(to)
    code = next(w for w in mail.get_body(("plain",)).get_content().split() if w.isdigit())
    assert codes.check("captcha", "login", to, code) is CheckResult.OK


def test_a_failed_email_leaves_no_code(redis_client, redis_prefix, smtp):
    codes, _ = code_service(redis_client, redis_prefix, email=[sender(smtp)], development=False)
    to = random_email()
    smtp.refuse(to, "550 5.1.1 Mailbox does not exist")
    with pytest.raises(DeliveryFailed) as failed:
        codes.send("captcha", "login", "email", to, "")
    assert (failed.value.channel, failed.value.reason) == ("email", "target_rejected")
    assert not list(redis_client.scan_iter(f"{redis_prefix}code:*"))
