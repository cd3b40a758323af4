"""OpenTelemetry traces from the standard OTEL_* variables; request ids into Keycloak calls."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from facade.adapters.keycloak import KeycloakTransport
from facade.observability.context import REQUEST_ID
from facade.observability.tracing import tracing_requested
from tests.ops.support import live_facade, random_ip, random_phone, wait_for


class _Recorder(ThreadingHTTPServer):
    """An HTTP server on loopback that keeps every request's path, headers and body."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._keep(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def do_GET(self) -> None:
                self._keep(b"")

            def _keep(self, body: bytes) -> None:
                recorder.seen.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_tracing_is_off_unless_the_standard_variables_ask_and_then_imports_nothing() -> None:
    assert not tracing_requested({})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})
    off = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from facade.observability.tracing import configure_tracing;"
            "assert configure_tracing({}) is False;"
            "assert not [m for m in sys.modules if m.startswith('opentelemetry')]",
        ],
        capture_output=True,
        text=True,
    )
    assert off.returncode == 0, off.stderr


def test_keycloak_calls_carry_the_request_id_of_the_request_being_served() -> None:
    server = _Recorder()
    session = requests.Session()
    session.mount("http://", KeycloakTransport(timeout=2, breaker=None))
    token = REQUEST_ID.set("req-0123456789")
    try:
        session.get(f"{server.url}/realms/facade/protocol/openid-connect/userinfo")
    finally:
        REQUEST_ID.reset(token)
    session.get(f"{server.url}/realms/facade/protocol/openid-connect/certs")
    server.shutdown()
    assert server.seen[0][1]["X-Request-Id"] == "req-0123456789"
    assert "X-Request-Id" not in server.seen[1][1]


def test_a_sign_in_exports_its_server_span_with_the_keycloak_call_under_it(
    keycloak, redis_server, wechat_standin
) -> None:
    collector = _Recorder()
    otel = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector.url}/v1/traces",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "facade-under-test",
    }
    with live_facade(keycloak.url, redis_server.url, wechat_standin.url, workers=1, **otel) as f:
        phone = random_phone()
        sent = requests.post(
            f"{f.url}/api/v1/auth/sms/send",
            json={"phone": phone, "code_type": "login"},
            headers={"X-Forwarded-For": random_ip()},
            timeout=10,
        )
        assert sent.json()["code"] == 0, sent.text
        code = requests.get(f"{f.url}/_dev/outbox", params={"to": phone}, timeout=5).json()
        login = requests.post(
            f"{f.url}/api/v1/auth/login/sms",
            json={"phone": phone, "code": code["messages"][0]["code"]},
            headers={"X-Forwarded-For": random_ip(), "X-Request-Id": "trace-test-request-1"},
            timeout=15,
        )
        assert login.json()["code"] == 0, login.text
        assert login.headers["X-Request-Id"] == "trace-test-request-1"

        def spans() -> list:
            found = []
            for path, _, body in list(collector.seen):
                assert path == "/v1/traces"
                export = ExportTraceServiceRequest.FromString(body)
                for resource_spans in export.resource_spans:
                    service = {
                        a.key: a.value.string_value for a in resource_spans.resource.attributes
                    }["service.name"]
                    for scope in resource_spans.scope_spans:
                        found.extend((service, span) for span in scope.spans)
            return found

        def login_span():
            return next((s for _, s in spans() if s.name == "POST /api/v1/auth/login/sms"), None)

        wait_for(lambda: login_span() is not None, 20, "no span of the sign-in was exported")
        server = login_span()
        wait_for(
            lambda: any(
                s.trace_id == server.trace_id and s.kind == s.SPAN_KIND_CLIENT for _, s in spans()
            ),
            10,
            "no client span under the sign-in",
        )
    collector.shutdown()
    in_trace = [(service, s) for service, s in spans() if s.trace_id == server.trace_id]
    assert {service for service, _ in in_trace} == {"facade-under-test"}
    urls = [
        a.value.string_value
        for _, s in in_trace
        if s.kind == s.SPAN_KIND_CLIENT
        for a in s.attributes
        if a.key in ("http.url", "url.full")
    ]
    assert any(url.startswith(keycloak.url) for url in urls), urls
