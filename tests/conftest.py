"""Session-wide real servers and per-test settings that never collide."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import falcon.testing
import pytest
import redis

from facade.adapters.keycloak import KeycloakGateway
from facade.app import create_app
from facade.settings import Settings
from tests import harness


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


@pytest.fixture
def redis_prefix() -> str:
    """A namespace of this test's own, so tests share one Redis without seeing each other."""
    return f"test{secrets.token_hex(4)}:"


@pytest.fixture
def settings(
    keycloak: harness.RunningKeycloak, redis_server: harness.RedisServer, redis_prefix: str
) -> Settings:
    return Settings.from_env(
        {
            "FACADE_ENV": "development",
            "FACADE_KEYCLOAK_URL": keycloak.url,
            "FACADE_REDIS_URL": redis_server.url,
            "FACADE_REDIS_PREFIX": redis_prefix,
            "FACADE_TRUSTED_PROXIES": "127.0.0.1",
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
