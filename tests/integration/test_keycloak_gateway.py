"""The Keycloak gateway against the real server: users, grants, exchange, refresh, logout."""

from __future__ import annotations

import jwt
import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.core.errors import (
    AlreadyExists,
    InvalidCredentials,
    InvalidToken,
    Unavailable,
)
from facade.core.models import NewUser
from facade.settings import Settings
from tests.conftest import random_phone, random_username

PASSWORD = "Secret123"


@pytest.fixture
def user(gateway: KeycloakGateway) -> tuple[str, str, str]:
    username, phone = random_username(), random_phone()
    user_id = gateway.create_user(
        NewUser(
            username=username,
            password=PASSWORD,
            email=f"{username}@example.com",
            attributes={"phone_number": phone},
        )
    )
    return user_id, username, phone


def test_created_user_signs_in_with_password(gateway, user):
    user_id, username, _ = user
    tokens = gateway.password_grant("member", username, PASSWORD)
    claims = gateway.verify_access_token("member", tokens.access_token)
    assert claims.subject == user_id
    assert claims.client_id == "facade-member"
    assert tokens.expires_in == 7200


def test_wrong_password_is_invalid_credentials(gateway, user):
    with pytest.raises(InvalidCredentials):
        gateway.password_grant("member", user[1], "wrong-password")


def test_users_are_found_by_id_username_email_and_phone(gateway, user):
    user_id, username, phone = user
    assert gateway.get_user(user_id).username == username
    assert gateway.find_by_username(username).id == user_id
    assert gateway.find_by_email(f"{username.upper()}@example.com").id == user_id
    assert [u.id for u in gateway.find_by_attribute("phone_number", phone)] == [user_id]
    assert gateway.get_user("00000000-0000-0000-0000-000000000000") is None
    assert gateway.find_by_username(random_username()) is None


def test_duplicate_username_and_email_name_the_field(gateway, user):
    _, username, _ = user
    with pytest.raises(AlreadyExists) as by_username:
        gateway.create_user(NewUser(username=username, password=PASSWORD))
    assert by_username.value.field == "username"
    with pytest.raises(AlreadyExists) as by_email:
        gateway.create_user(NewUser(username=random_username(), email=f"{username}@example.com"))
    assert by_email.value.field == "email"


def test_token_exchange_yields_tokens_whose_subject_is_the_user(gateway, user):
    user_id = user[0]
    tokens = gateway.exchange_for_user("vcode", user_id)
    claims = gateway.verify_access_token("vcode", tokens.access_token)
    assert claims.subject == user_id
    assert claims.client_id == "facade-vcode"
    assert tokens.refresh_token
    assert tokens.expires_in == 86400
    refresh_claims = jwt.decode(tokens.refresh_token, options={"verify_signature": False})
    assert refresh_claims["sub"] == user_id
    assert refresh_claims["azp"] == "facade-vcode"


def test_refresh_returns_new_tokens_for_the_same_session(gateway, user):
    tokens = gateway.exchange_for_user("member", user[0])
    refreshed = gateway.refresh("member", tokens.refresh_token)
    assert refreshed.access_token != tokens.access_token
    claims = gateway.verify_access_token("member", refreshed.access_token)
    assert claims.subject == user[0]
    assert claims.session_id == tokens.session_id


def test_after_logout_the_refresh_token_is_refused(gateway, user):
    tokens = gateway.password_grant("customer", user[1], PASSWORD)
    gateway.logout("customer", tokens.refresh_token)
    with pytest.raises(InvalidToken):
        gateway.refresh("customer", tokens.refresh_token)


def test_a_contract_refuses_another_contracts_access_token(gateway, user):
    tokens = gateway.exchange_for_user("member", user[0])
    gateway.verify_access_token("member", tokens.access_token)
    for other in ("captcha", "vcode", "customer", "account"):
        with pytest.raises(InvalidToken):
            gateway.verify_access_token(other, tokens.access_token)


def test_a_contract_cannot_refresh_another_contracts_refresh_token(gateway, user):
    tokens = gateway.exchange_for_user("member", user[0])
    with pytest.raises(InvalidToken):
        gateway.refresh("vcode", tokens.refresh_token)


def test_tampered_and_garbage_tokens_are_refused(gateway, user):
    tokens = gateway.exchange_for_user("member", user[0])
    header, payload, signature = tokens.access_token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + "AAAA"])
    for bad in (tampered, "not-a-jwt", tokens.refresh_token):
        with pytest.raises(InvalidToken):
            gateway.verify_access_token("member", bad)


def test_unknown_key_id_is_refused_without_trusting_it(gateway, user):
    forged = jwt.encode(
        {"sub": user[0], "azp": "facade-member", "typ": "Bearer", "exp": 9999999999, "iat": 1},
        "x" * 32,
        algorithm="HS256",
        headers={"kid": "forged"},
    )
    with pytest.raises(InvalidToken):
        gateway.verify_access_token("member", forged)


def test_unreachable_keycloak_is_one_unavailable_error(settings: Settings):
    from facade.stack.processes import free_port

    gateway = KeycloakGateway(
        settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}", keycloak_timeout=2)
    )
    for call in (
        lambda: gateway.get_user("x"),
        lambda: gateway.password_grant("member", "u", "p"),
        lambda: gateway.exchange_for_user("member", "x"),
        gateway.ping,
    ):
        with pytest.raises(Unavailable) as error:
            call()
        assert error.value.part == "keycloak"


def test_a_user_read_survives_an_admin_token_that_keycloak_no_longer_accepts(gateway, user):
    """The pooled admin read renews the admin token on a 401, as python-keycloak does."""
    user_id, username, _ = user
    assert gateway.get_user(user_id).username == username  # a token is held now
    connection = gateway._admin().connection
    connection.token = {**connection.token, "access_token": "not-a-token"}
    assert gateway.get_user(user_id).username == username
    assert connection.token["access_token"] != "not-a-token"


def test_a_user_id_cannot_reach_another_admin_path(gateway, user):
    user_id, _, _ = user
    for hostile in (f"{user_id}/../{user_id}", "../users", f"{user_id}?x=1", f"{user_id}#"):
        assert gateway.get_user(hostile) is None
