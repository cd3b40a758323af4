"""Email codes over SMTP: implicit TLS, STARTTLS or (local relays only) plain, with login.

One connection per message: codes are rare and a pooled SMTP session would go stale between
them. Replies are sorted by class: a refused recipient (5xx) is the target's fault, a
temporary 4xx refusal is throttling, anything else means the server cannot take mail now.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from facade.core.delivery import Channel, FailureReason, Message, SendFailure
from facade.core.messages import email_content
from facade.settings_codes import SmtpSettings


def _by_reply(code: int) -> FailureReason:
    return "throttled" if 400 <= code < 500 else "provider_down"


class SmtpSender:
    """:class:`facade.core.delivery.Sender` for email."""

    name = "smtp"
    channel: Channel = "email"

    def __init__(
        self, config: SmtpSettings, timeout: float, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._config = config
        self._timeout = timeout
        self._ssl = ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.security == "tls":
            return smtplib.SMTP_SSL(
                config.host, config.port, timeout=self._timeout, context=self._ssl
            )
        smtp = smtplib.SMTP(config.host, config.port, timeout=self._timeout)
        try:
            if config.security == "starttls":
                smtp.starttls(context=self._ssl)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _compose(self, message: Message) -> EmailMessage:
        content = email_content(message)
        mail = EmailMessage()
        mail["Subject"] = content.subject
        mail["From"] = self._config.sender
        mail["To"] = message.target
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self._config.sender)[1].rpartition("@")[2] or None
        mail["Message-ID"] = make_msgid(domain=domain)
        mail.set_content(content.text)
        mail.add_alternative(content.html, subtype="html")
        return mail

    def send(self, message: Message) -> None:
        mail = self._compose(message)
        try:
            with self._connect() as smtp:
                if self._config.user:
                    smtp.login(self._config.user, self._config.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else 550
            reason: FailureReason = "target_rejected" if code >= 500 else "throttled"
            raise SendFailure(reason, f"smtp {code}") from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailure(_by_reply(exc.smtp_code), f"smtp {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailure("provider_down", f"smtp {type(exc).__name__}") from None
