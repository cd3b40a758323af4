"""What the browser tests start themselves: a Keycloak with the facade theme, the facade (the
``phone`` provider included) and the demo app, each once per session.

Keycloak: the session's own (``keycloak`` fixture) when the test harness started it, since it
deploys the repository's themes; a Keycloak given by ``FACADE_TEST_KEYCLOAK_URL`` may predate
them, so then a fresh one is started for these tests, unless ``FACADE_TEST_SSO_KEYCLOAK_URL``
names one that has them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from keycloak import KeycloakAdmin

from examples.demo_app import DemoApp
from examples.demo_app import create_app as create_demo
from facade.app import create_app
from facade.bootstrap import Services, build_services
from facade.realm.sso import apply_sso, ensure_demo_client
from facade.settings import Settings
from facade.stack.processes import free_port
from tests import harness
from tests.browser import chrome
from tests.browser.servers import Served
from tests.conftest import realm_operator


@dataclass
class SsoStack:
    keycloak_url: str
    facade: Served
    demo: Served
    services: Services
    operator: KeycloakAdmin

    def outbox_code(self, phone: str) -> str:
        assert self.services.outbox is not None
        return str(self.services.outbox.recent(phone)[0].code)

    def allow_resend(self, slug: str, phone: str) -> None:
        self.services.redis.delete(self.services.keys.code_resend(slug, phone))


@pytest.fixture(scope="session")
def sso_keycloak(request, tmp_path_factory) -> Iterator[harness.RunningKeycloak]:
    given = os.environ.get("FACADE_TEST_SSO_KEYCLOAK_URL")
    if given:
        running = harness.RunningKeycloak(
            given.rstrip("/"), harness.ADMIN_USER, harness.ADMIN_PASSWORD
        )
        harness.apply_realm(
            harness.AdminLogin(running.url, running.admin_user, running.admin_password)
        )
        yield running
    elif os.environ.get("FACADE_TEST_KEYCLOAK_URL") or harness.docker_answers():
        saved = os.environ.pop("FACADE_TEST_KEYCLOAK_URL", None)
        try:
            running = harness.start_keycloak(tmp_path_factory.mktemp("sso-keycloak"))
        finally:
            if saved is not None:
                os.environ["FACADE_TEST_KEYCLOAK_URL"] = saved
        yield running
        running.stop()
    else:
        yield request.getfixturevalue("keycloak")


@pytest.fixture(scope="session")
def sso(sso_keycloak, redis_server, wechat_standin) -> Iterator[SsoStack]:
    if not chrome.available():
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/install.sh)")
    settings = Settings.from_env(
        {
            "FACADE_ENV": "development",
            "FACADE_KEYCLOAK_URL": sso_keycloak.url,
            "FACADE_REDIS_URL": redis_server.url,
            "FACADE_REDIS_PREFIX": f"browser{free_port()}:",
            "FACADE_TRUSTED_PROXIES": "127.0.0.1",
            "FACADE_WECHAT_API_BASE": wechat_standin.url,
        }
    )
    services = build_services(settings)
    facade = Served(create_app(settings, services))
    operator = realm_operator(sso_keycloak)
    apply_sso(operator, "facade", facade.url)
    demo_port = free_port()
    ensure_demo_client(operator, "facade", [f"http://127.0.0.1:{demo_port}/*"])
    issuer = f"{sso_keycloak.url}/realms/facade"
    demo_app = DemoApp(issuer, "facade-demo", "dev-demo-secret", f"http://127.0.0.1:{demo_port}")
    demo = Served(create_demo(demo_app), demo_port)
    yield SsoStack(sso_keycloak.url, facade, demo, services, operator)
    demo.stop()
    facade.stop()


@pytest.fixture
def browser() -> Iterator[chrome.webdriver.Chrome]:
    with chrome.chromium() as driver:
        yield driver
