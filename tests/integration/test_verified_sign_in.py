"""Code sign-in of a known phone in one Keycloak call, against the real Keycloak, Redis and store.

The store's binding is trusted and Keycloak's refusal to impersonate stands in for the enabled
check; these tests hold the cases that refusal must explain: disabled (code kept), deleted
(registered anew, or NotFound), and a phone an operator moved to someone else. A profile not
cached comes with the exchange's ID token; a user the binding no longer describes ends that
session and is signed in as before.
"""

from __future__ import annotations

import time
from collections import Counter

import jwt
import pytest

from facade.adapters import keycloak
from facade.bootstrap import Services, build_services
from facade.core.admin_event_follower import CURSOR_KEY, Cursor
from facade.core.errors import AccountDisabled, InvalidToken, NotFound
from facade.core.models import Registration, SignIn, User, VerifiedSignIn
from tests.conftest import random_phone
from tests.contracts.member.conftest import random_ip
from tests.integration.test_admin_events import MINE, OwnUsersFollower, edit


@pytest.fixture
def services(settings) -> Services:
    """A profile cache that outlives a slow test: these tests say when it holds the user.
    A profile not cached comes with the exchange (``FACADE_SIGN_IN_ID_TOKEN``, the default)."""
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


def wechat_member(services: Services, wechat, openid: str, unionid: str | None) -> VerifiedSignIn:
    """A member registered by a first WeChat sign-in."""
    first = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid=openid, unionid=unionid)["code"]
    )
    MINE.add(first.user.id)
    return first


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


def test_a_known_phone_whose_profile_is_not_cached_signs_in_with_one_keycloak_call(
    services, keycloak_calls
):
    user = member(services)
    phone = user.attr("phone_number")
    services.redis.delete(services.keys.profile(user.id))  # expired (not a change: no hold)
    code = code_for(services, "vcode", phone)
    keycloak_calls.clear()

    signed_in = sign_in(services, "vcode", phone, code, register=False)

    assert dict(keycloak_calls) == {"token": 1}  # the user came with the exchange's ID token
    read = services.identity.get_user(user.id)
    assert signed_in.user == read and not signed_in.is_new_user
    assert services.stores.cache.get(user.id) == read


def test_without_the_id_token_a_profile_not_cached_is_read_and_the_session_never_signs_one(
    settings, keycloak_calls
):
    lean = build_services(settings.with_changes(profile_cache_ttl=60, sign_in_id_token=False))
    user = member(lean)
    phone = user.attr("phone_number")
    lean.users.forget(user.id)
    code = code_for(lean, "member", phone)
    keycloak_calls.clear()

    signed_in = sign_in(lean, "member", phone, code)

    assert dict(keycloak_calls) == {"token": 1, "admin_users": 1}  # the exchange and the read by id
    assert signed_in.user == lean.identity.get_user(user.id)
    # No openid in the session: its refreshes cost Keycloak no ID token.
    claims = jwt.decode(signed_in.tokens.access_token, options={"verify_signature": False})
    assert "openid" not in claims["scope"].split()
    refreshed = lean.sessions.refresh("member", signed_in.tokens.refresh_token)
    claims = jwt.decode(refreshed.access_token, options={"verify_signature": False})
    assert "openid" not in claims["scope"].split()


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
    first = wechat_member(services, wechat, openid, unionid)
    code = wechat.mint(openid=openid, unionid=unionid)["code"]
    keycloak_calls.clear()

    again = services.verified_sign_ins.by_wechat("member", code)

    assert again.user.id == first.user.id and not again.is_new_user
    assert dict(keycloak_calls) == {"token": 1}


@pytest.fixture
def exchanged(services: Services, monkeypatch) -> list[SignIn]:
    """Every sign-in the exchange-with-profile made, whether or not its tokens were handed out."""
    made: list[SignIn] = []
    exchange = services.identity.exchange_with_profile

    def recorded(contract: str, user_id: str) -> SignIn:
        signed = exchange(contract, user_id)
        made.append(signed)
        return signed

    monkeypatch.setattr(services.identity, "exchange_with_profile", recorded)
    return made


def test_a_phone_keycloak_gave_to_another_number_ends_the_session_and_registers_as_before(
    services, operator, exchanged
):
    user = member(services)
    phone = user.attr("phone_number")
    edit(operator, user.id, phone_number=random_phone())  # the follower has not run yet
    services.users.forget(user.id)

    signed_in = sign_in(services, "member", phone, code_for(services, "member", phone))
    MINE.add(signed_in.user.id)

    assert signed_in.is_new_user and signed_in.user.id != user.id  # as the read answered
    assert signed_in.user.attr("phone_number") == phone
    assert [made.user.id for made in exchanged] == [user.id]
    with pytest.raises(InvalidToken):  # the tokens nobody got were ended
        services.identity.refresh("member", exchanged[0].tokens.refresh_token)
    assert services.ledger.store.find("phone_number", phone).keycloak_id == signed_in.user.id


def test_a_phone_stored_unproven_is_proven_by_the_sign_in_after_its_first_session_ended(
    services, operator, exchanged
):
    user = member(services)
    phone = user.attr("phone_number")
    edit(operator, user.id, phone_number_verified="false")
    services.users.forget(user.id)

    signed_in = sign_in(services, "member", phone, code_for(services, "member", phone))

    assert signed_in.user.id == user.id and not signed_in.is_new_user
    assert signed_in.user.attr("phone_number_verified") == "true"
    assert operator.get_user(user.id)["attributes"]["phone_number_verified"] == ["true"]
    with pytest.raises(InvalidToken):
        services.identity.refresh("member", exchanged[0].tokens.refresh_token)
    claims = services.identity.verify_access_token("member", signed_in.tokens.access_token)
    assert claims.subject == user.id


def test_a_user_disabled_while_not_cached_is_refused_and_keeps_the_code(services, operator):
    user = member(services)
    phone = user.attr("phone_number")
    services.users.forget(user.id)
    code = code_for(services, "member", phone)
    operator.update_user(user.id, {"enabled": False})

    with pytest.raises(AccountDisabled):
        sign_in(services, "member", phone, code)

    operator.update_user(user.id, {"enabled": True})
    services.users.forget(user.id)
    assert sign_in(services, "member", phone, code).user.id == user.id


def test_a_known_wechat_user_whose_profile_is_not_cached_signs_in_with_one_keycloak_call(
    services, wechat, keycloak_calls
):
    openid, unionid = f"o{random_phone()}", f"u{random_phone()}"
    first = wechat_member(services, wechat, openid, unionid)
    services.users.forget(first.user.id)
    code = wechat.mint(openid=openid, unionid=unionid)["code"]
    keycloak_calls.clear()

    again = services.verified_sign_ins.by_wechat("member", code)

    assert dict(keycloak_calls) == {"token": 1}
    assert again.user == services.identity.get_user(first.user.id) and not again.is_new_user


def test_a_wechat_user_first_seen_without_a_unionid_gets_it_and_signs_in(services, wechat):
    openid, unionid = f"o{random_phone()}", f"u{random_phone()}"
    first = wechat_member(services, wechat, openid, None)
    assert first.user.attr("wechat_unionid") is None
    services.users.forget(first.user.id)

    again = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid=openid, unionid=unionid)["code"]
    )

    assert again.user.id == first.user.id and again.user.attr("wechat_unionid") == unionid
