"""Code sign-in of a known phone in one Keycloak call, against the real Keycloak, Redis and store.

The store's binding is trusted and Keycloak's refusal to impersonate stands in for the enabled
check; these tests hold the cases that refusal must explain: disabled (code kept), deleted
(registered anew, or NotFound), and a phone an operator moved to someone else.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from facade.adapters import keycloak
from facade.bootstrap import Services, build_services
from facade.core.admin_event_follower import CURSOR_KEY, Cursor
from facade.core.errors import AccountDisabled, NotFound
from facade.core.models import Registration, User
from tests.conftest import random_phone
from tests.contracts.member.conftest import random_ip
from tests.integration.test_admin_events import MINE, OwnUsersFollower, edit


@pytest.fixture
def services(settings) -> Services:
    """A profile cache that outlives a slow test: these tests say when it holds the user."""
    return build_services(settings.with_changes(profile_cache_ttl=60))


@pytest.fixture
def keycloak_calls(monkeypatch) -> Counter[str]:
    """Every HTTP request the gateway sends Keycloak, by endpoint, counted where it leaves."""
    calls: Counter[str] = Counter()
    call = keycloak._guarded_call  # both transports (admin and token endpoint) go through it

    def counted(breaker, path_url, send, status_of):
        calls[keycloak._operation(path_url)] += 1
        return call(breaker, path_url, send, status_of)

    monkeypatch.setattr(keycloak, "_guarded_call", counted)
    return calls


def member(services: Services, phone: str | None = None) -> User:
    user = services.registrar.register(
        Registration(phone=phone or random_phone(), phone_verified=True)
    )
    MINE.add(user.id)
    return user


def code_for(services: Services, contract: str, phone: str) -> str:
    services.redis.delete(services.keys.code_resend(contract, phone))
    services.codes.send(contract, "login", "sms", phone, random_ip())  # send limits are per IP
    assert services.outbox is not None
    return services.outbox.recent(phone)[0].code


def sign_in(services: Services, contract: str, phone: str, code: str, register: bool = True):
    return services.verified_sign_ins.by_code(
        contract, "sms", phone, code, client_ip="127.0.0.1", register=register
    )


def test_a_known_phone_whose_profile_is_cached_signs_in_with_one_keycloak_call(
    services, keycloak_calls
):
    user = member(services)  # registration leaves the profile cached
    phone = user.attr("phone_number")
    code = code_for(services, "member", phone)
    keycloak_calls.clear()

    signed_in = sign_in(services, "member", phone, code)

    assert signed_in.user.id == user.id and not signed_in.is_new_user
    assert dict(keycloak_calls) == {"token": 1}
    claims = services.identity.verify_access_token("member", signed_in.tokens.access_token)
    assert claims.subject == user.id


def test_a_profile_cache_miss_costs_one_read_by_id_besides_the_exchange(services, keycloak_calls):
    user = member(services)
    phone = user.attr("phone_number")
    services.users.forget(user.id)
    code = code_for(services, "vcode", phone)
    keycloak_calls.clear()

    sign_in(services, "vcode", phone, code, register=False)

    assert dict(keycloak_calls) == {"token": 1, "admin_users": 1}


def test_a_user_disabled_while_cached_is_refused_after_the_code_checks_and_keeps_the_code(
    services, operator
):
    user = member(services)
    phone = user.attr("phone_number")
    code = code_for(services, "member", phone)
    operator.update_user(user.id, {"enabled": False})  # the cache still says enabled

    with pytest.raises(AccountDisabled):
        sign_in(services, "member", phone, code)

    operator.update_user(user.id, {"enabled": True})
    assert sign_in(services, "member", phone, code).user.id == user.id  # the code was kept


def test_a_user_deleted_in_keycloak_gives_the_phone_to_a_new_member(services, operator):
    user = member(services)
    phone = user.attr("phone_number")
    operator.delete_user(user.id)  # the store still binds the phone, the cache still has it

    signed_in = sign_in(services, "member", phone, code_for(services, "member", phone))

    assert signed_in.is_new_user and signed_in.user.id != user.id
    assert signed_in.user.attr("phone_number") == phone
    assert services.ledger.store.by_keycloak_id(user.id).state == "retired"
    assert services.ledger.store.find("phone_number", phone).keycloak_id == signed_in.user.id


def test_a_user_deleted_in_keycloak_is_not_found_where_the_contract_does_not_register(
    services, operator
):
    user = member(services)
    phone = user.attr("phone_number")
    operator.delete_user(user.id)

    with pytest.raises(NotFound):
        sign_in(services, "vcode", phone, code_for(services, "vcode", phone), register=False)
    assert services.ledger.store.by_keycloak_id(user.id).state == "retired"


def test_a_phone_an_operator_moved_signs_in_its_new_holder_once_the_follower_ran(
    services, operator
):
    services.ledger.store.set_meta(CURSOR_KEY, Cursor(int(time.time() * 1000) - 1000).dump())
    follower = OwnUsersFollower(services, MINE)
    phone = random_phone()
    first, second = member(services, phone), member(services)
    sign_in(services, "member", phone, code_for(services, "member", phone))  # first is cached

    edit(operator, first.id, phone_number=random_phone())
    edit(operator, second.id, phone_number=phone)
    follower.poll()

    signed_in = sign_in(services, "member", phone, code_for(services, "member", phone))
    assert signed_in.user.id == second.id and not signed_in.is_new_user


def test_a_known_wechat_user_whose_profile_is_cached_signs_in_with_one_keycloak_call(
    services, wechat, keycloak_calls
):
    openid, unionid = f"o{random_phone()}", f"u{random_phone()}"
    first = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid=openid, unionid=unionid)["code"]
    )
    MINE.add(first.user.id)
    code = wechat.mint(openid=openid, unionid=unionid)["code"]
    keycloak_calls.clear()

    again = services.verified_sign_ins.by_wechat("member", code)

    assert again.user.id == first.user.id and not again.is_new_user
    assert dict(keycloak_calls) == {"token": 1}
