"""Session-wide real servers and per-test settings that never collide."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import falcon.testing
import pytest
import redis
from keycloak import KeycloakAdmin

from facade.adapters.keycloak import KeycloakGateway
from facade.app import create_app
from facade.settings import Settings
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET, StandinServer, WechatStandin
from tests import harness
from tests.standins.fixtures import (  # noqa: F401 - fixtures for any test that asks for them
    aliyun,
    aliyun_server,
    smtp,
    smtp_server,
    tencent,
    tencent_server,
)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.RedisServer]:
    server = harness.start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.RunningKeycloak]:
    running = harness.start_keycloak(tmp_path_factory.mktemp("keycloak"))
    yield running
    running.stop()


def realm_operator(keycloak: harness.RunningKeycloak, realm: str = "facade") -> KeycloakAdmin:
    """Keycloak's bootstrap administrator (of ``master``) working in ``realm``."""
    return KeycloakAdmin(
        server_url=keycloak.url + "/",
        username=keycloak.admin_user,
        password=keycloak.admin_password,
        realm_name=realm,
        user_realm_name="master",
    )


@pytest.fixture(scope="session")
def operator(keycloak: harness.RunningKeycloak) -> KeycloakAdmin:
    """An administrator of realm ``facade``, acting as in the admin console."""
    return realm_operator(keycloak)


@pytest.fixture(scope="session")
def identity_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The identity store of the session's facades: one SQLite file (its uids are seeded above
    the realm's once, as a deployment's are)."""
    return f"sqlite:///{tmp_path_factory.mktemp('identities') / 'identities.db'}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[harness.RunningPostgres]:
    """Debian's PostgreSQL, started once for the session by the tests that ask for it."""
    running = harness.start_postgres()
    yield running
    running.stop()


@pytest.fixture
def redis_prefix() -> str:
    """A namespace of this test's own, so tests share one Redis without seeing each other."""
    return f"test{secrets.token_hex(4)}:"


@pytest.fixture
def settings(
    keycloak: harness.RunningKeycloak,
    redis_server: harness.RedisServer,
    redis_prefix: str,
    wechat_standin: StandinServer,
    identity_db_url: str,
) -> Settings:
    return Settings.from_env(
        {
            "FACADE_ENV": "development",
            "FACADE_KEYCLOAK_URL": keycloak.url,
            "FACADE_REDIS_URL": redis_server.url,
            "FACADE_REDIS_PREFIX": redis_prefix,
            "FACADE_DATABASE_URL": identity_db_url,
            "FACADE_TRUSTED_PROXIES": "127.0.0.1",
            "FACADE_WECHAT_API_BASE": wechat_standin.url,
            "FACADE_WECHAT_APPID": DEV_APPID,
            "FACADE_WECHAT_SECRET": DEV_SECRET,
        }
    )


@pytest.fixture
def redis_client(redis_server: harness.RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def gateway(settings: Settings) -> KeycloakGateway:
    return KeycloakGateway(settings)


@pytest.fixture
def client(settings: Settings) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(settings))


def random_phone() -> str:
    return "13" + str(secrets.randbelow(10)) + f"{secrets.randbelow(10**8):08d}"


def random_username(prefix: str = "t") -> str:
    return f"{prefix}{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def wechat_standin() -> Iterator[StandinServer]:
    """WeChat's code2Session, served locally for the session; ``settings`` points at it."""
    server = harness.start_wechat_standin()
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_standin: StandinServer) -> Iterator[WechatStandin]:
    """The stand-in's state: ``mint(openid=..., unionid=...)`` codes, ``fail_next(45011)``,
    ``advance(301)`` its clock. Faults a test leaves unconsumed are cleared after it."""
    yield wechat_standin.standin
    wechat_standin.standin.clear_faults()
