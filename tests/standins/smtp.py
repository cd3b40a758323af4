"""An SMTP submission server (aiosmtpd) that insists on TLS and a login, like a real one.

Two listeners share one mailbox: STARTTLS on one port and implicit TLS on the other, both with a
self-signed certificate for 127.0.0.1 that the tests trust explicitly. ``MAIL`` before ``AUTH``
is refused (530), ``AUTH`` before TLS too, a wrong password gets 535. ``refuse(address, reply)``
makes ``RCPT TO`` answer with the given reply (``550 5.1.1 ...`` or ``452 4.5.3 ...``).
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import logging
import ssl
import threading
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from facade.stack.processes import free_port

# aiosmtpd warns about its own deprecated attribute on every login.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    user: str
    tls: bool


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for ``127.0.0.1`` and ``localhost``, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _ImplicitTlsController(Controller):
    """aiosmtpd counts only STARTTLS as TLS; here the connection is TLS from its first byte,
    so AUTH need not wait for a STARTTLS that will never come."""

    def factory(self) -> SMTP:
        smtp = super().factory()
        smtp._auth_require_tls = False
        return smtp


class SmtpStandin:
    def __init__(self, directory: Path, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.received: list[Received] = []
        self._refusals: dict[str, str] = {}
        self._lock = threading.Lock()
        self.cert_path, key_path = self_signed_certificate(directory)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(self.cert_path, key_path)
        self.starttls_port = free_port()
        self.tls_port = free_port()
        common: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "authenticator": self._authenticate,
            "auth_required": True,
            "auth_require_tls": True,
        }
        self._controllers = [
            Controller(
                self,
                port=self.starttls_port,
                tls_context=server_tls,
                require_starttls=True,
                **common,
            ),
            _ImplicitTlsController(self, port=self.tls_port, ssl_context=server_tls, **common),
        ]

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts this server's certificate uses."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def start(self) -> SmtpStandin:
        for controller in self._controllers:
            controller.start()
        return self

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()

    def refuse(self, address: str, reply: str) -> None:
        with self._lock:
            self._refusals[address.lower()] = reply

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self._refusals.clear()

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received if address in r.rcpt_tos]

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._lock:
            refusal = self._refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data
        user = login.login.decode() if isinstance(login, LoginPassword) else ""
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        with self._lock:
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    message,
                    user,
                    tls,
                )
            )
        return "250 Message accepted for delivery"
