"""Schemathesis against the live facade (gunicorn on a free port) with member's OpenAPI document.

Every generated request, valid or not, must get a documented status with a body that matches
the document, and never a server error. Each call comes from its own client address (the
facade trusts 127.0.0.1 as a proxy here), so rate limits do not hide the other answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from facade.contracts.member.openapi import build_document
from facade.stack.processes import free_port, stop_process
from tests.contracts.member.conftest import random_ip


@pytest.fixture(scope="module")
def live_facade(keycloak, redis_server, wechat_standin) -> Iterator[str]:
    from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET

    port = free_port()
    env = {
        **os.environ,
        "FACADE_ENV": "development",
        "FACADE_KEYCLOAK_URL": keycloak.url,
        "FACADE_REDIS_URL": redis_server.url,
        "FACADE_REDIS_PREFIX": f"schemathesis{port}:",
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "FACADE_WECHAT_API_BASE": wechat_standin.url,
        "FACADE_WECHAT_APPID": DEV_APPID,
        "FACADE_WECHAT_SECRET": DEV_SECRET,
        "FACADE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "facade.cli", "serve", f"--bind=127.0.0.1:{port}", "--workers=1"],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("the facade did not become ready")
        yield base
    finally:
        stop_process(process.pid)


# The document the facade serves (test_openapi.py checks they are the same), built in-process so
# that collecting tests connects to nothing; calls go to the live server below.
schema = schemathesis.openapi.from_dict(build_document("/api/v1"))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_member_api_conforms_to_its_openapi_document(case, live_facade):
    # Every default check but "schema-valid data is accepted": a well-formed request with a
    # wrong code or an unknown WeChat code is rightly refused by an authentication API.
    case.call_and_validate(
        base_url=f"{live_facade}/api/v1",
        headers={"X-Forwarded-For": random_ip()},
        excluded_checks=[positive_data_acceptance],
    )
