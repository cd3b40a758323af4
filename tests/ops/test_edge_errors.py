"""nginx's own errors answer in the contract's format; a facade's own answers pass untouched.

A real nginx from the project's configuration (``facade.stack.nginx``) in front of a stand-in
upstream that can answer, answer its own 503, or read a request and drop the connection (a
facade killed mid-request), so each case takes milliseconds.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from benchmarks.faults import CUSTOMER, MEMBER, Documents
from facade.cli import main
from facade.contracts import load_contract
from facade.contracts.kit.openapi import build_document
from facade.contracts.kit.parsing import too_large
from facade.core.errors import Unavailable
from facade.http.errors import compact_json
from facade.settings import DEFAULT_PREFIXES
from facade.stack.edge_errors import EDGE_PART, render
from facade.stack.nginx import CONTRACT_ERRORS, NginxServer
from facade.stack.processes import free_port, stop_process

REPO = Path(__file__).resolve().parents[2]
OWN_503 = b'{"upstream":"its own 503"}'
#: One route per contract: (slug, route below the prefix).
ROUTES = [
    ("member", "/auth/login/sms"),
    ("customer", "/user/login"),
    ("captcha", "/auth/login"),
    ("vcode", "/auth/login"),
    ("account", "/login"),
]


class _Upstream(BaseHTTPRequestHandler):
    """``X-Test: crash`` reads the request and drops the connection; ``own503`` answers 503."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        behaviour = self.headers.get("X-Test")
        if behaviour == "crash":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = 503 if behaviour == "own503" else 200
        body = OWN_503 if status == 503 else b'{"ok":true}'
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def edge(upstream: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh nginx for each test: a dropped connection marks its upstreams failed for 3 s."""
    directory = tmp_path_factory.mktemp("nginx")
    directory.chmod(0o755)  # nginx's workers drop root when the tests run as root
    nginx = NginxServer(directory, free_port(), (f"127.0.0.1:{upstream}",) * 2)  # type: ignore[arg-type]
    nginx.start()
    try:
        nginx.wait_ready("/api/v1/ready")
        yield f"http://127.0.0.1:{nginx.port}"
    finally:
        assert nginx.process is not None
        stop_process(nginx.process.pid, timeout=10)


def _expected(slug: str, error: Exception, route: str | None) -> tuple[int, object, dict[str, str]]:
    rendered = load_contract(slug).render_error(error, route)
    return rendered.status, rendered.body, dict(rendered.headers)


@pytest.mark.parametrize(("slug", "route"), ROUTES)
def test_a_facade_dying_mid_request_is_the_contracts_unavailable_answer(
    edge: str, slug: str, route: str
) -> None:
    prefix = DEFAULT_PREFIXES[slug]
    # nginx does not retry a POST it has sent: the client gets nginx's own 502, replaced.
    answer = requests.post(
        f"{edge}{prefix}{route}", json={}, headers={"X-Test": "crash"}, timeout=10
    )
    status, body, headers = _expected(slug, Unavailable(EDGE_PART), route)
    assert (answer.status_code, answer.json()) == (status, body)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Retry-After"] == "1"
    assert headers.items() <= answer.headers.items()
    assert re.fullmatch("[0-9a-f]{32}", answer.headers["X-Request-Id"])


def test_captchas_login_is_answered_in_its_own_words() -> None:
    """captcha words every failure per endpoint: nginx does too (an exact location)."""
    text = CONTRACT_ERRORS.read_text()
    assert "location = /captcha/auth/login {" in text
    login = load_contract("captcha").render_error(too_large(), "/auth/login")
    assert (login.status, login.body["message"]) == (401, "user login fail")
    assert compact_json(login.body) in text


@pytest.mark.parametrize(("slug", "route"), ROUTES)
def test_a_body_over_64k_gets_the_answer_a_facade_gives_it(
    edge: str, slug: str, route: str
) -> None:
    prefix = DEFAULT_PREFIXES[slug]
    answer = requests.post(
        f"{edge}{prefix}{route}",
        data=b'{"phone":"' + b"1" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    status, body, _ = _expected(slug, too_large(), route)
    assert (answer.status_code, answer.json()) == (status, body)
    assert answer.headers["Content-Type"] == "application/json"


def test_a_facades_own_503_passes_through_untouched(edge: str) -> None:
    answer = requests.post(
        f"{edge}/api/v1/auth/login/sms", json={}, headers={"X-Test": "own503"}, timeout=10
    )
    assert (answer.status_code, answer.content) == (503, OWN_503)
    assert answer.headers["Content-Type"] == "text/plain"
    assert "Retry-After" not in answer.headers


def test_headers_too_large_are_the_contracts_invalid_parameters(edge: str) -> None:
    answer = requests.get(f"{edge}/vcode/auth/me", headers={"X-Big": "b" * 9000}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "VALIDATION_ERROR"
    customer = requests.get(
        f"{edge}/api/app/customer/v1/user/info", headers={"X-Big": "b" * 9000}, timeout=10
    )
    assert (customer.status_code, customer.json()["code"]) == (200, 10001)
    # Before a location is chosen nginx still picks the route's own words by the path.
    login = requests.post(f"{edge}/captcha/auth/login", headers={"X-Big": "b" * 9000}, timeout=10)
    assert (login.status_code, login.json()["message"]) == (401, "user login fail")


def test_a_malformed_request_outside_every_contract_is_plain_json(edge: str) -> None:
    port = int(edge.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        head, _, body = sock.recv(4096).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": "400 Bad Request"}


@pytest.mark.parametrize(
    ("prefix", "route"), [(MEMBER, "/auth/login/sms"), (CUSTOMER, "/user/login")]
)
def test_the_fault_suite_counts_the_edges_unavailable_answer_as_documented(
    edge: str, prefix: str, route: str
) -> None:
    answer = requests.post(
        f"{edge}{prefix}{route}", json={}, headers={"X-Test": "crash"}, timeout=10
    )
    documents = Documents.__new__(Documents)  # the documents as the facade serves them
    slug = {value: key for key, value in DEFAULT_PREFIXES.items()}[prefix]
    documents._docs = {prefix: build_document(load_contract(slug), prefix)}  # type: ignore[arg-type]
    assert documents.documented(prefix, "POST", route, answer.status_code, answer.json())


def test_the_checked_in_error_pages_are_a_fresh_render() -> None:
    assert CONTRACT_ERRORS.read_text() == render(DEFAULT_PREFIXES), (
        "run `facade nginx errors` after changing a contract's error table"
    )


def test_facade_nginx_errors_writes_the_render(tmp_path: Path) -> None:
    assert main(["nginx", "errors", "--output", str(tmp_path / "errors.conf")]) == 0
    assert (tmp_path / "errors.conf").read_text() == render(DEFAULT_PREFIXES)


def test_compose_mounts_the_error_pages_where_the_template_includes_them() -> None:
    nginx = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]["nginx"]
    assert "./nginx/contract-errors.conf:/etc/nginx/contract-errors.conf:ro" in nginx["volumes"]
    template = (REPO / "docker" / "nginx" / "facade.conf.template").read_text()
    assert "include contract-errors.conf;" in template
