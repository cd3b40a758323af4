"""The Aliyun SMS and SMTP stand-ins of ``tests/standins`` as one background process.

The production-mode stack refuses the development sender, so its codes go through the same
checking stand-ins the tests use: Aliyun's ``SendSms`` (V3 signature verified) over HTTP and an
SMTP submission server (STARTTLS, login) with a self-signed certificate. Only a checkout has
``tests/``, which is where the local stacks run from.

Besides Aliyun's API the HTTP port answers ``GET /_standin/sent?phone=...`` (the codes sent to a
phone, newest first) and ``GET /_standin/health``; ``ready.json`` in ``--dir`` lists the ports
and the certificate once both servers listen.

Run with ``python -m facade.stack.provider_standins --dir D --aliyun-port P --smtp-port Q``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

#: Credentials the stand-ins accept, and so the stack's facade settings: local values only.
ALIYUN_KEY_ID = "LTAI5tFacadeLocalStack"
ALIYUN_KEY_SECRET = "facade-local-aliyun-secret"  # noqa: S105
ALIYUN_SIGN = "门面本地"
ALIYUN_TEMPLATES = {"default": "SMS_200000"}
SMTP_USER = "mailer@facade.local"
SMTP_PASSWORD = "facade-local-smtp-password"  # noqa: S105
SMTP_FROM = "门面 <no-reply@facade.local>"


def facade_settings(aliyun_url: str, smtp_port: int, cert: Path) -> dict[str, str]:
    """The FACADE_* (and SSL_CERT_FILE) variables that send through these stand-ins."""
    return {
        "FACADE_SMS_PROVIDERS": "aliyun",
        "FACADE_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
        "FACADE_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_KEY_SECRET,
        "FACADE_ALIYUN_SMS_SIGN_NAME": ALIYUN_SIGN,
        "FACADE_ALIYUN_SMS_TEMPLATES": ",".join(f"{k}={v}" for k, v in ALIYUN_TEMPLATES.items()),
        "FACADE_ALIYUN_SMS_ENDPOINT": aliyun_url,
        "FACADE_SMTP_HOST": "127.0.0.1",
        "FACADE_SMTP_PORT": str(smtp_port),
        "FACADE_SMTP_SECURITY": "starttls",
        "FACADE_SMTP_USER": SMTP_USER,
        "FACADE_SMTP_PASSWORD": SMTP_PASSWORD,
        "FACADE_SMTP_FROM": SMTP_FROM,
        # The SMTP stand-in's self-signed certificate is the only CA the facade needs here.
        "SSL_CERT_FILE": str(cert),
    }


def serve(directory: Path, aliyun_port: int, smtp_port: int, smtp_tls_port: int) -> None:
    # Imported by name: tests/ is not part of the installed package (nor of mypy's files).
    aliyun: Any = importlib.import_module("tests.standins.aliyun")
    http: Any = importlib.import_module("tests.standins.http")
    smtp: Any = importlib.import_module("tests.standins.smtp")

    state = aliyun.AliyunStandin(
        ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ALIYUN_SIGN, set(ALIYUN_TEMPLATES.values())
    )

    def handle(request: Any) -> Any:
        if request.path == "/_standin/health":
            return http.Response(200, {"status": "ok"})
        if request.path == "/_standin/sent":
            phone = (parse_qs(request.query).get("phone") or [""])[0]
            with state._lock:
                sent = [s.params for s in reversed(state.sent) if s.phone.endswith(phone)]
            return http.Response(200, {"phone": phone, "sent": sent})
        return state.handle(request)

    server = http.StandinHTTPServer(handle)
    # StandinHTTPServer binds a free port; the stack wants a known one, so rebind it.
    server._server.server_close()
    server._server = type(server._server)(
        ("127.0.0.1", aliyun_port), server._server.RequestHandlerClass
    )
    server._server.daemon_threads = True
    server._thread = threading.Thread(target=server._server.serve_forever, daemon=True)

    # SmtpStandin asks free_port() for its STARTTLS then its implicit-TLS port.
    ports = iter((smtp_port, smtp_tls_port))
    smtp.free_port = lambda: next(ports)
    mailer = smtp.SmtpStandin(directory, SMTP_USER, SMTP_PASSWORD)

    server.start()
    mailer.start()
    ready = {
        "aliyun_url": f"http://127.0.0.1:{aliyun_port}",
        "smtp_port": smtp_port,
        "cert": str(mailer.cert_path),
    }
    (directory / "ready.json").write_text(json.dumps(ready))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    mailer.stop()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--aliyun-port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--smtp-tls-port", type=int, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "ready.json").unlink(missing_ok=True)
    serve(args.dir, args.aliyun_port, args.smtp_port, args.smtp_tls_port)


if __name__ == "__main__":
    main()
