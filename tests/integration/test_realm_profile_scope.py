"""The ``facade-profile`` client scope as ``facade realm apply`` keeps it: ID-token-only mappers
derived from the user profile, optional on exactly the five contract clients, and no claim of it
in any access token."""

from __future__ import annotations

import jwt
import pytest
from keycloak import KeycloakAdmin

from facade.core.models import NewUser
from facade.realm.apply import (
    CONTRACT_CLIENTS,
    AdminLogin,
    apply_realm,
    load_realm,
    load_user_profile,
)
from facade.realm.profile_scope import CLAIM, PROPERTY_FIELDS, SCOPE
from tests.conftest import random_phone, random_username, realm_operator

PASSWORD = "Secret123"


def _scope(admin: KeycloakAdmin) -> dict:
    scope = admin.get_client_scope_by_name(SCOPE)
    assert scope is not None
    return scope


def test_the_scope_maps_every_user_field_and_profile_attribute_into_the_id_token_only(operator):
    scope = _scope(operator)
    mappers = scope["protocolMappers"]

    properties = {prop for prop, _ in PROPERTY_FIELDS.values()}
    attributes = {a["name"] for a in load_user_profile()["attributes"]} - properties
    read = {m["config"]["user.attribute"] for m in mappers}
    assert read == properties | attributes
    assert len(mappers) == len(read)
    for mapper in mappers:
        config = mapper["config"]
        assert config["id.token.claim"] == "true"
        assert config["access.token.claim"] == "false"
        assert config["userinfo.token.claim"] == "false"
        assert config["introspection.token.claim"] == "false"
        assert config["claim.name"].startswith(f"{CLAIM}.")
    assert scope["attributes"]["include.in.token.scope"] == "false"


def test_the_scope_is_optional_on_exactly_the_five_contract_clients(operator):
    holders = set()
    for client in operator.get_clients():
        defaults = {s["name"] for s in operator.get_client_default_client_scopes(client["id"])}
        optional = {s["name"] for s in operator.get_client_optional_client_scopes(client["id"])}
        assert SCOPE not in defaults, client["clientId"]
        if SCOPE in optional:
            holders.add(client["clientId"])
    assert holders == set(CONTRACT_CLIENTS)
    assert SCOPE not in {s["name"] for s in operator.get_default_default_client_scopes()}
    assert SCOPE not in {s["name"] for s in operator.get_default_optional_client_scopes()}


@pytest.mark.parametrize("contract", ["member", "customer"])
def test_access_tokens_carry_none_of_the_profile(gateway, contract):
    username = random_username()
    user_id = gateway.create_user(
        NewUser(
            username=username,
            password=PASSWORD,
            attributes={"phone_number": random_phone(), "nickname": "n", "points": "1"},
        )
    )
    by_password = gateway.password_grant(contract, username, PASSWORD)
    plain = gateway.exchange_for_user(contract, user_id)
    with_profile = gateway.exchange_with_profile(contract, user_id).tokens
    claims = {
        name: jwt.decode(tokens.access_token, options={"verify_signature": False})
        for name, tokens in [("password", by_password), ("plain", plain), ("profile", with_profile)]
    }
    for token in claims.values():
        assert CLAIM not in token
        assert SCOPE not in token.get("scope", "").split()
    # Asking for the profile adds nothing to the access token but "openid" to its scope.
    assert set(claims["profile"]) == set(claims["plain"])
    assert set(claims["profile"]["scope"].split()) - set(claims["plain"]["scope"].split()) == {
        "openid"
    }


def test_realm_apply_restores_the_scope_and_id_token_signing_an_operator_changed(
    keycloak, operator
):
    realm = load_realm()
    name = f"ps{random_username()}"
    realm["realm"] = name
    operator.create_realm(realm)
    try:
        login = AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password, realm=name)
        apply_realm(login)
        admin = realm_operator(keycloak, name)
        scope = _scope(admin)
        by_name = {m["name"]: m for m in scope["protocolMappers"]}
        admin.delete_mapper_from_client_scope(scope["id"], by_name["attribute uid"]["id"])
        leaky = by_name["attribute points"]
        leaky["config"]["access.token.claim"] = "true"
        admin.update_mapper_in_client_scope(scope["id"], leaky["id"], leaky)
        admin.add_mapper_to_client_scope(
            scope["id"],
            {**by_name["attribute nickname"], "name": "an operator's extra", "id": None},
        )
        member = admin.get_client_id("facade-member")
        admin.delete_client_optional_client_scope(member, scope["id"])
        customer = admin.get_client(admin.get_client_id("facade-customer"))
        assert customer["attributes"]["id.token.signed.response.alg"] == "HS512"
        customer["attributes"]["id.token.signed.response.alg"] = "RS256"
        admin.update_client(customer["id"], customer)

        changes = apply_realm(login)

        assert sorted(changes) == sorted(
            [
                f"added mapper {SCOPE}/attribute uid",
                f"updated mapper {SCOPE}/attribute points",
                f"removed mapper {SCOPE}/an operator's extra",
                f"made {SCOPE} an optional scope of 'facade-member'",
                "updated contract client 'facade-customer' ['id.token.signed.response.alg']",
            ]
        )
        restored = admin.get_client(customer["id"])
        assert restored["attributes"]["id.token.signed.response.alg"] == "HS512"
        # The rest of the client is kept, its secret included.
        assert restored["attributes"]["access.token.lifespan"] == "86400"
        wanted = next(c for c in realm["clients"] if c["clientId"] == "facade-customer")
        assert restored["secret"] == wanted["secret"]  # not a masked one written back
        assert apply_realm(login) == []
    finally:
        operator.delete_realm(name)
