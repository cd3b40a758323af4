"""Who may mint tokens for a user: each contract client for itself, in one call, and nobody else.

The realm (``facade realm apply``) lets exactly the five contract clients impersonate; none has
a token-exchange permission on another, and the ``facade`` service client has neither.
"""

from __future__ import annotations

import jwt
import pytest
import requests

from facade.core.models import NewUser
from tests.conftest import random_username

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
REFRESH_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"


@pytest.fixture
def user_id(gateway) -> str:
    return gateway.create_user(NewUser(username=random_username(), password="Secret123"))


def impersonate(keycloak, client_id: str, secret: str, subject: str, **extra: str):
    return requests.post(
        f"{keycloak.url}/realms/facade/protocol/openid-connect/token",
        data={
            "grant_type": EXCHANGE,
            "client_id": client_id,
            "client_secret": secret,
            "requested_subject": subject,
            "requested_token_type": REFRESH_TYPE,
            **extra,
        },
        timeout=10,
    )


def test_a_contract_client_impersonates_for_itself_in_one_call(keycloak, user_id):
    answer = impersonate(keycloak, "facade-member", "dev-member-secret", user_id)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert access["azp"] == "facade-member" and access["sub"] == user_id
    assert access["exp"] - access["iat"] == 7200  # the member client's own lifespan
    refresh = jwt.decode(tokens["refresh_token"], options={"verify_signature": False})
    assert refresh["azp"] == "facade-member"


@pytest.mark.parametrize("audience", ["facade-vcode", "facade-account", "admin-cli", "facade"])
def test_a_contract_secret_cannot_mint_tokens_for_another_client(keycloak, user_id, audience):
    answer = impersonate(keycloak, "facade-member", "dev-member-secret", user_id, audience=audience)
    assert answer.status_code in (400, 403), answer.text
    assert "access_token" not in answer.json()


def test_the_facade_service_client_cannot_impersonate_any_more(keycloak, user_id):
    for extra in ({}, {"audience": "facade-member"}):
        answer = impersonate(keycloak, "facade", "dev-facade-secret", user_id, **extra)
        assert answer.status_code in (400, 403), answer.text
        assert "access_token" not in answer.json()


def test_the_gateway_signs_in_a_verified_user_with_one_exchange(gateway, user_id):
    tokens = gateway.exchange_for_user("customer", user_id)
    claims = gateway.verify_access_token("customer", tokens.access_token)
    assert claims.subject == user_id and claims.client_id == "facade-customer"
    assert tokens.expires_in == 86400
    refreshed = gateway.refresh("customer", tokens.refresh_token)
    assert gateway.verify_access_token("customer", refreshed.access_token).session_id == (
        claims.session_id
    )
    gateway.logout("customer", refreshed.refresh_token)


def device_of_session(keycloak, access_token: str, session_id: str) -> dict[str, object]:
    """The account API's view of one session (its ``browser`` comes from the device note)."""
    answer = requests.get(
        f"{keycloak.url}/realms/facade/account/sessions/devices",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    found = [s for device in answer.json() for s in device["sessions"] if s["id"] == session_id]
    assert len(found) == 1
    return dict(found[0])


def test_a_session_the_gateway_opens_carries_no_device_of_the_facades_own(
    keycloak, gateway, user_id
):
    """Keycloak files the User-Agent of the request that opens a session as its device; the
    facade's own would name no person's device, so the gateway sends none."""
    tokens = gateway.exchange_for_user("member", user_id)
    session_id = gateway.verify_access_token("member", tokens.access_token).session_id
    assert session_id
    assert device_of_session(keycloak, tokens.access_token, session_id).get("browser") is None
    # The same call with a User-Agent does get one: the check above can fail.
    answer = impersonate(keycloak, "facade-member", "dev-member-secret", user_id)
    assert answer.status_code == 200, answer.text
    named = answer.json()["access_token"]
    named_session = jwt.decode(named, options={"verify_signature": False})["sid"]
    assert device_of_session(keycloak, named, named_session).get("browser")
    gateway.logout("member", tokens.refresh_token)
    gateway.logout("member", answer.json()["refresh_token"])
