"""A code sign-in that fails half-way neither spends the code nor leaves a second user behind.

Keycloak breaks after the code was checked (its token answer arrives after the facade gave up)
or Redis dies while Keycloak is signing the user in: the sign-in is a 503, the same code then
signs in, and the realm holds one user for the phone.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.bootstrap import build_services
from facade.core.errors import CodeRejected, Unavailable
from facade.stack.processes import RedisServer, free_port
from tests.conftest import random_phone
from tests.durability.slow_proxy import SlowProxy
from tests.ops.support import random_ip


def _token_post(line: bytes | str) -> bool:
    text = line.decode() if isinstance(line, bytes) else line
    return text.startswith("POST ") and "/protocol/openid-connect/token" in text


def _users_with_phone(operator, phone: str) -> list[dict]:
    return operator.get_users({"q": f"phone_number:{phone}"})


def test_keycloak_failing_after_the_check_leaves_the_code_usable(settings, keycloak, operator):
    armed = threading.Event()
    proxy = SlowProxy(
        urlsplit(keycloak.url).port, lambda line: armed.is_set() and _token_post(line), 2.5
    )
    try:
        slow = settings.with_changes(keycloak_url=proxy.url, keycloak_timeout=1.0)
        services = build_services(slow)
        phone = random_phone()
        code = services.codes.send("member", "login", "sms", phone, random_ip()).code
        services.users.find_by_target("sms", phone)  # the service token is fetched and cached
        armed.set()
        with pytest.raises(Unavailable):
            services.verified_sign_ins.by_code("member", "sms", phone, code)
        assert proxy.count(_token_post) >= 1
        armed.clear()

        again = services.verified_sign_ins.by_code("member", "sms", phone, code)
        assert again.user.attr("phone_number") == phone
        assert len(_users_with_phone(operator, phone)) == 1
        with pytest.raises(CodeRejected):  # and now it is spent
            services.verified_sign_ins.by_code("member", "sms", phone, code)
    finally:
        proxy.close()


@pytest.fixture
def durable_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", port=free_port(), persistent=True)
    server.start()
    server.wait_ready()
    yield server
    server.stop()


class RedisDiesDuringExchange:
    """Keycloak's gateway, except that Redis is stopped while the token exchange runs: the code
    was checked, the user exists, and the sign-in cannot complete."""

    def __init__(self, gateway: KeycloakGateway, redis_server: RedisServer) -> None:
        self._gateway = gateway
        self._redis = redis_server
        self.armed = False

    def exchange_for_user(self, contract: str, user_id: str):
        if self.armed:
            self.armed = False
            self._redis.stop()
        return self._gateway.exchange_for_user(contract, user_id)

    def __getattr__(self, name: str):
        return getattr(self._gateway, name)


def test_redis_dying_during_the_sign_in_leaves_the_code_usable(
    settings, operator, durable_redis, tmp_path
):
    local = settings.with_changes(
        redis_url=durable_redis.url,
        redis_timeout=0.5,
        database_url=f"sqlite:///{tmp_path / 'identities.db'}",
    )
    identity = RedisDiesDuringExchange(KeycloakGateway(local), durable_redis)
    services = build_services(local, identity=identity)
    phone = random_phone()
    code = services.codes.send("member", "login", "sms", phone, random_ip()).code
    time.sleep(1.2)  # the AOF's everysec fsync has the code
    identity.armed = True
    with pytest.raises(Unavailable):
        services.verified_sign_ins.by_code("member", "sms", phone, code)
    assert len(_users_with_phone(operator, phone)) == 1  # registered before Redis died
    durable_redis.start()
    durable_redis.wait_ready()

    for _ in range(30):  # the pooled connections notice the restart
        try:
            again = services.verified_sign_ins.by_code("member", "sms", phone, code)
            break
        except Unavailable:
            time.sleep(0.1)
    assert again.user.attr("phone_number") == phone
    assert len(_users_with_phone(operator, phone)) == 1
    with pytest.raises(CodeRejected):
        services.verified_sign_ins.by_code("member", "sms", phone, code)
