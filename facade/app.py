"""The Falcon application: ``create_app(settings)`` for tests, ``get_app()`` for gunicorn."""

from __future__ import annotations

import logging
import sys

import falcon

from facade.bootstrap import Services, build_services
from facade.contracts import load_contract
from facade.http.admission import Admission
from facade.http.contract import Contract
from facade.http.dev_outbox import mount_dev_outbox
from facade.http.dev_wechat import mount_dev_wechat
from facade.http.errors import ContractErrorHandler, compact_json
from facade.http.health import Liveness, Readiness
from facade.http.metrics import ContractOfPath, CountingErrors, RequestMetrics, mount_metrics
from facade.http.middleware import RequestContext, parse_networks
from facade.observability.context import RequestIdFormatter
from facade.observability.tracing import configure_tracing
from facade.oidc import mount_sso
from facade.settings import DEV_SECRET, Settings, SettingsError


def create_app(
    settings: Settings, services: Services | None = None
) -> falcon.App[falcon.Request, falcon.Response]:
    """Build the app from settings; ``services`` lets tests pass their own collaborators."""
    startup_checks(settings)
    services = services or build_services(settings)
    contract_of = ContractOfPath(settings.prefixes)
    middleware: list[RequestContext | RequestMetrics | Admission] = [
        RequestContext(parse_networks(settings.trusted_proxies)),
        RequestMetrics(contract_of),
        # Last: a refusal still gets its request id, access log line and metrics.
        Admission(
            settings.max_in_flight,
            has_contract=lambda path: contract_of(path) != "none",
            max_waiters=settings.admission_waiters,
        ),
    ]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=compact_json
    )

    app.add_route("/healthz", Liveness())
    app.add_route(
        "/readyz",
        Readiness(
            {
                "keycloak": services.identity.ping,
                "redis": services.stores.ping,
            }
        ),
    )

    mount_metrics(app, "/metrics", settings.prefixes.values())
    if settings.is_development:
        mount_dev_wechat(app, settings)
        mount_dev_outbox(app, services.outbox)
    mount_sso(app, settings, services)

    mounts: list[tuple[str, Contract]] = []
    for slug, prefix in settings.prefixes.items():
        contract = load_contract(slug)
        contract.mount(app, prefix, services)
        mounts.append((prefix, contract))

    handler = ContractErrorHandler(mounts)
    app.add_error_handler((falcon.HTTPError, Exception), CountingErrors(handler, contract_of))
    return app


def startup_checks(settings: Settings) -> None:
    """What production refuses beyond ``Settings.from_env``; ``facade serve`` runs these before
    gunicorn binds its port, so a refusal is one line, not a worker traceback."""
    if not settings.is_development and settings.secret == DEV_SECRET:
        raise SettingsError("production mode refuses the development server secret")
    if not settings.is_development:
        require_real_senders(settings)


def require_real_senders(settings: Settings) -> None:
    """Production refuses to start when a mounted contract needs a channel (its ``channels``)
    that no real provider serves: its users could never receive a code."""
    for slug in settings.prefixes:
        for channel in load_contract(slug).channels:
            if not settings.delivery.has_real_sender(channel):
                raise SettingsError(
                    f"contract {slug!r} sends codes by {channel}, but no {channel} provider is "
                    "configured (FACADE_SMS_PROVIDERS or FACADE_SMTP_HOST)"
                )


def configure_logging(level: str) -> None:
    """One JSON-friendly line per record on stderr (gunicorn collects it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RequestIdFormatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def get_app() -> falcon.App[falcon.Request, falcon.Response]:
    """Entry point for gunicorn (``facade.app:get_app()``); reads the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    configure_tracing()  # before create_app: the Falcon instrumentation wraps falcon.App
    return create_app(settings)
