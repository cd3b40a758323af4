"""Bodies as the wire carries them through gunicorn: chunked (no Content-Length) is read like
any other body, and a chunked body over the limit is the contract's own refusal."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

from tests.contracts.live import random_ip


def _chunks(payload: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


def _post_chunked(base: str, path: str, payload: bytes) -> tuple[int, object]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            path,
            body=_chunks(payload),
            headers={"Content-Type": "application/json", "X-Forwarded-For": random_ip()},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_read_and_judged_on_its_content(live_facade):
    body = json.dumps({"username": "nobody-chunked-7d1f", "password": "not-the-password"})

    status, answer = _post_chunked(live_facade, "/account/login", body.encode())

    # Read as empty, it would be a 422 "body is required"; read, it is a failed sign-in.
    assert (status, set(answer)) == (401, {"detail"})  # type: ignore[arg-type]


def test_a_chunked_body_over_the_limit_is_the_contracts_invalid_parameters(live_facade):
    body = json.dumps({"username": "x" * (70 * 1024), "password": "not-the-password"})

    status, answer = _post_chunked(live_facade, "/account/login", body.encode())

    assert status == 422
    assert answer["detail"][0]["type"] == "too_large"  # type: ignore[index]
