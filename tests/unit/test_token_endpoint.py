"""The token endpoint's transport: what it retries, how long it waits, what the breaker sees.

Real sockets on loopback stand in for Keycloak's failure modes: a port nobody listens on (the
connection is refused: nothing reached Keycloak) and a listener that reads the request and then
hangs up, or a socket nobody answers (the POST was sent: retrying could mint a second session).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import urllib3

from facade.adapters.keycloak import CircuitBreaker, CircuitOpen, PooledEndpoint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Listener:
    """Accepts connections, reads one request each, counts it, then answers or hangs up."""

    def __init__(self, answer: bool) -> None:
        self.requests = 0
        self._answer = answer
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            connection.recv(65536)
            self.requests += 1
            if self._answer:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}"
                )
                self._open.append(connection)
            else:
                connection.close()

    def close(self) -> None:
        self._server.close()
        for connection in self._open:
            connection.close()


@pytest.fixture
def hangs_up() -> Iterator[Listener]:
    listener = Listener(answer=False)
    yield listener
    listener.close()


@pytest.fixture
def connects(monkeypatch) -> list[int]:
    """Every TCP connection attempt urllib3 makes."""
    attempts: list[int] = []
    create = urllib3.util.connection.create_connection

    def counted(*args, **kwargs):
        attempts.append(1)
        return create(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counted)
    return attempts


def endpoint(port: int, timeout: float = 2.0, breaker: CircuitBreaker | None = None):
    return PooledEndpoint(
        f"http://127.0.0.1:{port}/realms/r/protocol/openid-connect/", timeout, breaker
    )


def test_a_refused_connection_is_tried_once_more_and_then_fails(connects):
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        endpoint(free_port()).post("token", {"grant_type": "password"})
    assert len(connects) == 2


def test_a_post_that_reached_keycloak_is_never_sent_again(hangs_up):
    with pytest.raises(urllib3.exceptions.HTTPError):
        endpoint(hangs_up.port).post("token", {"grant_type": "password"})
    time.sleep(0.2)
    assert hangs_up.requests == 1


def test_an_unanswered_post_times_out_after_the_exact_timeout_once():
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    try:
        started = time.monotonic()
        with pytest.raises(urllib3.exceptions.TimeoutError):
            endpoint(silent.getsockname()[1], timeout=0.5).post("token", {})
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert 0.4 < elapsed < 0.9  # one wait of 0.5 s: not retried, not rounded to whole seconds


def test_failures_reach_the_breaker_and_an_open_breaker_sends_nothing(connects):
    breaker = CircuitBreaker("test-token-endpoint", failures=1, reset_timeout=60)
    tokens = endpoint(free_port(), breaker=breaker)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        tokens.post("token", {})
    assert breaker.state == "open"
    connects.clear()
    with pytest.raises(CircuitOpen):
        tokens.post("token", {})
    assert connects == []


def test_an_answer_carries_the_form_and_comes_back_whole():
    listener = Listener(answer=True)
    try:
        response = endpoint(listener.port).post("token", {"grant_type": "password"})
    finally:
        listener.close()
    assert response.status == 200 and response.data == b"{}" and listener.requests == 1


def test_with_tracing_on_a_token_call_is_a_client_span_under_the_request_being_served():
    script = """
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from facade.observability.tracing import configure_tracing
exporter = InMemorySpanExporter()
configure_tracing({}, exporter=exporter)
from facade.adapters.keycloak import PooledEndpoint
from tests.unit.test_token_endpoint import Listener
listener = Listener(answer=True)
with trace.get_tracer("test").start_as_current_span("server") as server:
    base = f"http://127.0.0.1:{listener.port}/realms/r/protocol/openid-connect/"
    PooledEndpoint(base, 2, None).post("token", {})
trace.get_tracer_provider().force_flush()
spans = exporter.get_finished_spans()
parent = server.get_span_context().span_id
assert [s.name for s in spans if s.kind == trace.SpanKind.CLIENT and s.parent.span_id == parent]
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_a_get_carries_the_bearer_token_and_the_path_under_the_base():
    answers = []
    (request,) = requests_seen(
        lambda base: answers.append(PooledEndpoint(base, 2, None).get("users/u-1", "abc")),
        "/admin/realms/r/",
    )
    assert answers[0].status == 200 and answers[0].data == b"{}"
    assert request[0] == "GET /admin/realms/r/users/u-1 HTTP/1.1"
    assert "Authorization: Bearer abc" in request[1:]


def requests_seen(
    call: Callable[[str], object], path: str = "/realms/r/protocol/openid-connect/"
) -> list[list[str]]:
    """The request line and headers of each request ``call(base_url)`` makes to a listener
    (``base_url``: the listener's address and ``path``)."""
    seen: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            seen.append(connection.recv(65536))
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        call(f"http://127.0.0.1:{server.getsockname()[1]}{path}")
    finally:
        server.close()
    return [raw.decode().split("\r\n\r\n")[0].split("\r\n") for raw in seen]


def test_no_call_names_a_user_agent_for_keycloak_to_file_as_the_sessions_device():
    def both(base: str) -> None:
        PooledEndpoint(base, 2, None).post("token", {"grant_type": "password"})
        PooledEndpoint(base, 2, None).get("userinfo", "abc")

    post, get = requests_seen(both)
    assert post[0].startswith("POST ") and get[0].startswith("GET ")
    for headers in (post, get):
        names = [line.split(":", 1)[0].lower() for line in headers[1:]]
        assert "user-agent" not in names
        assert "host" in names  # urllib3's other defaults stay
    assert "Content-Type: application/x-www-form-urlencoded" in post
