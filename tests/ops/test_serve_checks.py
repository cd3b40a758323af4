"""``facade serve`` refuses a bad production configuration in one line, before binding."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from facade.stack.processes import free_port

PRODUCTION_SECRETS = {
    "FACADE_ENV": "production",
    "FACADE_DATABASE_URL": "sqlite://",
    "FACADE_SECRET": "x" * 40,
    "FACADE_KEYCLOAK_CLIENT_SECRET": "service-secret",
    **{
        f"FACADE_{slug}_CLIENT_SECRET": "s"
        for slug in ("CAPTCHA", "VCODE", "MEMBER", "CUSTOMER", "ACCOUNT")
    },
}


def _serve(env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACADE_")}
    return subprocess.run(
        [sys.executable, "-m", "facade.cli", "serve", f"--bind=127.0.0.1:{port}", "--workers=1"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facade: cannot start: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "Listening at" not in result.stderr


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"FACADE_ENV": "production"}, "FACADE_SECRET is required"),
        ({**PRODUCTION_SECRETS, "FACADE_SECRET": "short"}, "at least 32 characters"),
        ({**PRODUCTION_SECRETS, "FACADE_KEYCLOAK_TIMEOUT": "soon"}, "FACADE_KEYCLOAK_TIMEOUT"),
        (PRODUCTION_SECRETS, "no sms provider is configured"),
        ({**PRODUCTION_SECRETS, "FACADE_CONTRACTS": "member,nope"}, "unknown contracts"),
    ],
)
def test_production_refusal_is_one_line_and_nonzero(env: dict[str, str], needle: str) -> None:
    port = free_port()
    started = time.monotonic()
    result = _serve(env, port)
    assert time.monotonic() - started < 30
    _assert_one_line_refusal(result, needle)


def test_refusal_comes_before_the_port_is_bound() -> None:
    """With the port taken, the answer is still the settings refusal, not gunicorn's bind error:
    the checks ran before gunicorn tried to listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve({"FACADE_ENV": "production"}, port)
    _assert_one_line_refusal(result, "FACADE_SECRET is required")
    assert "Connection in use" not in result.stderr
