"""OpenTelemetry traces, switched on by the standard ``OTEL_*`` variables and off by default.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an OTLP endpoint is
set (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), unless
``OTEL_SDK_DISABLED=true``. Then every request is a server span (opentelemetry-instrumentation-
falcon) with client spans for the Keycloak and provider calls (requests) and Redis commands
(redis) under it; the SDK reads the rest of the standard variables itself (sampler, headers,
batch delays, ``OTEL_SERVICE_NAME``, resource attributes). OTLP goes over HTTP/protobuf.

Off, nothing of OpenTelemetry is imported and nothing is patched: zero cost. Gunicorn calls
``get_app()`` in each worker after the fork, so the exporter's thread belongs to the worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)
SERVICE_NAME = "keycloak-facade"


def tracing_requested(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(
    environ: Mapping[str, str] | None = None, exporter: SpanExporter | None = None
) -> bool:
    """Install the tracer provider and the instrumentations when asked; True if tracing is on.

    Call before the Falcon app is built (the Falcon instrumentation wraps ``falcon.App``).
    ``exporter`` replaces the one the variables name (tests use the SDK's in-memory one).
    """
    environ = os.environ if environ is None else environ
    if exporter is None and not tracing_requested(environ):
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.falcon import FalconInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    for each in [exporter] if exporter is not None else _exporters(environ):
        provider.add_span_processor(BatchSpanProcessor(each))
    trace.set_tracer_provider(provider)
    FalconInstrumentor().instrument()
    RequestsInstrumentor().instrument()
    URLLib3Instrumentor().instrument()  # Keycloak's token endpoint (PooledEndpoint)
    RedisInstrumentor().instrument()
    return True


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = [
        name.strip().lower()
        for name in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")
        if name.strip()
    ]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            log.warning("OTEL_TRACES_EXPORTER %r is not supported (otlp, console)", name)
    return exporters
