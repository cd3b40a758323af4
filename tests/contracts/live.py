"""A live facade under gunicorn on a free port, and helpers every contract's HTTP tests share."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import jsonschema
import requests

from facade.stack.processes import free_port, stop_process


def random_ip() -> str:
    """A client address of its own for each call (the facade trusts 127.0.0.1 as a proxy), so
    that per-IP rate limits of one test do not hide the answers of another."""
    # 16 million addresses: load tests make hundreds of calls a minute, and two that shared an
    # address would meet a per-IP limit (with 65,536 they did, now and then).
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@contextmanager
def live_facade(keycloak, redis_server, wechat_standin, **env: str) -> Iterator[str]:
    """``facade serve`` in development mode against the test session's servers."""
    from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET

    port = free_port()
    environment = {
        **os.environ,
        "FACADE_ENV": "development",
        "FACADE_KEYCLOAK_URL": keycloak.url,
        "FACADE_REDIS_URL": redis_server.url,
        "FACADE_REDIS_PREFIX": f"live{port}:",
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "FACADE_WECHAT_API_BASE": wechat_standin.url,
        "FACADE_WECHAT_APPID": DEV_APPID,
        "FACADE_WECHAT_SECRET": DEV_SECRET,
        "FACADE_LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "facade.cli", "serve", f"--bind=127.0.0.1:{port}", "--workers=1"],
        env=environment,
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
            raise RuntimeError("the facade did not become ready")
        yield base
    finally:
        stop_process(process.pid)


def validator_for(document: dict, schema: dict) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator that resolves the document's ``#/components/...`` references."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def served_document(client, prefix: str) -> dict:
    """The OpenAPI document a contract serves at ``<prefix>/openapi.json``, as JSON."""
    response = client.simulate_get(f"{prefix}/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json
