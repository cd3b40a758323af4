"""The token exchange that brings the user along (``facade_profile`` claim), against the real
Keycloak: the user it reads from the ID token is the admin API's user, an ID token that is
not the user's for this client ends the session it came with, and the session's refreshes
cost Keycloak no RSA signature."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.core.errors import InvalidToken, Unavailable
from facade.core.models import NewUser
from facade.realm.apply import load_user_profile
from facade.realm.profile_claim import PROPERTY_FIELDS
from tests.conftest import random_phone, random_username

#: A value for every attribute of the realm's user profile (checked against it below, so an
#: attribute added to the profile must be added here too).
EVERY_ATTRIBUTE = {
    "phone_number": "",  # set per test: phones are unique
    "phone_number_verified": "true",
    "uid": "987654321",
    "reservation_id": "r-0123456789abcdef",
    "legacy_ids": "customer:500,member:7",
    "nickname": '小明 😀 "quoted" <b>',
    "avatar": "https://cdn.example.com/a/b.png?x=1&y=2",
    "gender": "female",
    "member_level_id": "3",
    "points": "1200",
    "is_verified": "true",
    "invite_code": "ABCD2345",
    "invited_by": "6c1f2d5e-0000-4000-8000-000000000001",
    "wechat_openid": "o-openid-123",
    "wechat_unionid": "u-unionid-456",
}


@pytest.fixture
def full_user(gateway: KeycloakGateway, operator) -> Iterator[str]:
    """Made past the identity store, with a uid of its own: deleted after the test, so that
    tests of uid allocation never meet it among the realm's users."""
    username = random_username()
    user_id = gateway.create_user(
        NewUser(
            username=username,
            email=f"{username}@example.com",
            email_verified=True,
            first_name="Łukasz",
            last_name="王",
            attributes={**EVERY_ATTRIBUTE, "phone_number": random_phone()},
        )
    )
    yield user_id
    operator.delete_user(user_id)


def test_every_attribute_of_the_user_profile_is_set_by_the_full_user():
    builtin = {prop for prop, _ in PROPERTY_FIELDS.values()}
    profile = {a["name"] for a in load_user_profile()["attributes"]} - builtin
    assert set(EVERY_ATTRIBUTE) == profile


def test_the_user_from_the_id_token_is_the_user_the_admin_api_reads(gateway, full_user):
    signed = gateway.exchange_with_profile("member", full_user)

    read = gateway.get_user(full_user)
    assert read is not None and set(read.attributes) == set(EVERY_ATTRIBUTE)
    assert signed.user == read
    assert gateway.verify_access_token("member", signed.tokens.access_token).subject == full_user


@pytest.mark.parametrize("contract", ["captcha", "vcode", "customer", "account"])
def test_every_contract_client_gets_the_profile(gateway, full_user, contract):
    assert gateway.exchange_with_profile(contract, full_user).user == gateway.get_user(full_user)


def test_a_user_without_optional_fields_reads_the_same_too(gateway):
    user_id = gateway.create_user(NewUser(username=random_username()))
    assert gateway.exchange_with_profile("member", user_id).user == gateway.get_user(user_id)


@pytest.mark.parametrize(
    "change",
    [{"sub": "someone-else"}, {"azp": "facade-customer"}, {"typ": "Bearer"}],
    ids=["another user", "another client", "not an ID token"],
)
def test_an_id_token_not_the_users_for_this_client_is_refused_and_its_session_ended(
    gateway, full_user, monkeypatch, change
):
    answered: list[dict] = []
    call = gateway._token_call

    def tampered(contract, endpoint, fields):
        raw = call(contract, endpoint, fields)
        if "id_token" in (raw or {}):
            claims = jwt.decode(raw["id_token"], options={"verify_signature": False})
            raw["id_token"] = jwt.encode({**claims, **change}, "k" * 32, algorithm="HS256")
            answered.append(raw)
        return raw

    monkeypatch.setattr(gateway, "_token_call", tampered)
    with pytest.raises(Unavailable):
        gateway.exchange_with_profile("member", full_user)
    monkeypatch.undo()

    with pytest.raises(InvalidToken):
        gateway.refresh("member", answered[0]["refresh_token"])


@pytest.fixture
def answers(gateway: KeycloakGateway, monkeypatch) -> list[tuple[dict[str, str], dict]]:
    """Every token endpoint call of the gateway: the form sent (credentials left out), the
    JSON answered."""
    seen: list[tuple[dict[str, str], dict]] = []
    call = gateway._token_call

    def recorded(contract, endpoint, fields):
        raw = call(contract, endpoint, fields)
        seen.append((dict(fields), raw))
        return raw

    monkeypatch.setattr(gateway, "_token_call", recorded)
    return seen


@pytest.mark.parametrize("contract", ["captcha", "vcode", "member", "customer", "account"])
def test_the_id_token_is_hmac_signed(gateway, full_user, answers, contract):
    gateway.exchange_with_profile(contract, full_user)

    (_, raw), *_ = answers
    assert jwt.get_unverified_header(raw["id_token"])["alg"] == "HS512"


def test_refreshes_of_a_session_that_carried_the_profile_get_hmac_signed_id_tokens(
    gateway, full_user, answers
):
    """Keycloak signs an ID token on every refresh of an ``openid`` session, whatever scope the
    refresh asks for: HMAC keeps that as cheap as a refresh without one."""
    signed = gateway.exchange_with_profile("member", full_user)
    first = gateway.refresh("member", signed.tokens.refresh_token)
    second = gateway.refresh("member", first.refresh_token)

    refreshes = [raw for fields, raw in answers if fields["grant_type"] == "refresh_token"]
    assert len(refreshes) == 2
    for raw in refreshes:
        assert jwt.get_unverified_header(raw["id_token"])["alg"] == "HS512"
        assert jwt.decode(raw["id_token"], options={"verify_signature": False})["sub"] == full_user
    assert gateway.verify_access_token("member", second.access_token).subject == full_user


def test_a_session_that_never_carried_the_profile_refreshes_without_an_id_token(
    gateway, full_user, answers
):
    plain = gateway.exchange_for_user("member", full_user)
    gateway.refresh("member", plain.refresh_token)

    fields, raw = answers[-1]
    assert fields["grant_type"] == "refresh_token" and "id_token" not in raw
