"""Redis losing data resurrects nothing: not a logged-out token, not a spent code, not a uid.

Each test has a Redis of its own (these tests flush it and restart it from older snapshots)
and the real Keycloak; the identity store is the session's.
"""

from __future__ import annotations

import contextlib
import secrets
import time

import pytest
import redis

from facade.bootstrap import build_services
from facade.core.errors import CodeRejected, InvalidToken
from facade.core.models import Registration
from facade.stack.processes import RedisServer, free_port
from tests.conftest import random_phone


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", port=free_port())
    server.start()
    server.wait_ready()
    yield server
    server.stop()


@pytest.fixture
def local(settings, own_redis, tmp_path):
    """Settings for this Redis and a store of its own: the session's store remembers another
    Redis, and this one would look like that Redis after a loss."""
    return settings.with_changes(
        redis_url=own_redis.url,
        profile_cache_ttl=0,
        database_url=f"sqlite:///{tmp_path / 'identities.db'}",
    )


def restart_from_snapshot(server: RedisServer) -> None:
    """Kill Redis and start it again: it loads the last ``SAVE`` (an older snapshot)."""
    server.stop()
    server.start()
    server.wait_ready()


def settle(services) -> None:
    """Let the facade's pooled connections notice the restart."""
    for _ in range(20):
        with contextlib.suppress(redis.RedisError):
            services.redis.ping()
            return
        time.sleep(0.1)


def signed_in(services):
    user = services.registrar.register(Registration(phone=random_phone()))
    tokens = services.sessions.sign_in_verified("member", user)
    principal = services.sessions.authenticate("member", tokens.access_token)
    return user, tokens, principal


def test_a_logged_out_token_stays_refused_after_redis_is_flushed(local):
    services = build_services(local)
    user, tokens, principal = signed_in(services)
    other = services.sessions.sign_in_verified("member", user)
    services.sessions.logout("member", principal.claims)

    services.redis.flushall()

    with pytest.raises(InvalidToken):
        services.sessions.authenticate("member", tokens.access_token)
    with pytest.raises(InvalidToken):  # a process started after the loss knows it too
        build_services(local).sessions.authenticate("member", tokens.access_token)
    # The session that was never logged out still works (Keycloak says it exists).
    assert services.sessions.authenticate("member", other.access_token).user.id == user.id


def test_a_logged_out_token_stays_refused_after_a_restore_from_an_older_snapshot(local, own_redis):
    services = build_services(local)
    _, tokens, principal = signed_in(services)
    services.redis.save()  # the snapshot: the session is live
    services.sessions.logout("member", principal.claims)
    with pytest.raises(InvalidToken):
        services.sessions.authenticate("member", tokens.access_token)

    restart_from_snapshot(own_redis)
    settle(services)

    assert services.redis.get(services.keys.revoked_session(tokens.session_id)) is None
    with pytest.raises(InvalidToken):
        services.sessions.authenticate("member", tokens.access_token)
    with pytest.raises(InvalidToken):
        build_services(local).sessions.authenticate("member", tokens.access_token)


def test_a_spent_code_stays_spent_after_a_restore_from_an_older_snapshot(local, own_redis):
    services = build_services(local)
    phone = random_phone()
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    sent = services.codes.send("member", "login", "sms", phone, ip)
    services.redis.save()  # the snapshot: the code is live
    services.codes.verify("member", "login", phone, sent.code)

    restart_from_snapshot(own_redis)
    settle(services)

    assert services.redis.exists(services.keys.code("member", "login", phone))  # revived...
    with pytest.raises(CodeRejected):  # ...and refused
        services.codes.verify("member", "login", phone, sent.code)


def test_a_spent_code_stays_spent_for_a_process_started_after_the_restore(local, own_redis):
    services = build_services(local)
    phone = random_phone()
    sent = services.codes.send("member", "login", "sms", phone, "10.9.8.7")
    services.redis.save()
    services.codes.verify("member", "login", phone, sent.code)
    restart_from_snapshot(own_redis)

    fresh = build_services(local)
    settle(fresh)
    with pytest.raises(CodeRejected):
        fresh.codes.verify("member", "login", phone, sent.code)


def test_codes_sent_after_a_loss_work(local):
    services = build_services(local)
    services.redis.flushall()
    phone = random_phone()
    sent = services.codes.send("member", "login", "sms", phone, "10.1.2.3")
    services.codes.verify("member", "login", phone, sent.code)


def test_a_new_user_never_gets_an_existing_uid_after_redis_is_flushed(local):
    services = build_services(local)
    before = services.registrar.register(Registration(phone=random_phone()))
    services.redis.flushall()
    after = build_services(local).registrar.register(Registration(phone=random_phone()))
    assert int(after.attr("uid")) > int(before.attr("uid"))
