"""The ``facade_profile`` claim's mappers as ``facade realm apply`` keeps them: ID-token-only,
derived from the user profile, on exactly the five contract clients, no claim of them in any
access token, and the optional scope earlier versions used gone."""

from __future__ import annotations

from collections.abc import Iterator

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
from facade.realm.profile_claim import CLAIM, LEGACY_SCOPE, MAPPER_PREFIX, PROPERTY_FIELDS
from tests.conftest import random_phone, random_username, realm_operator

PASSWORD = "Secret123"


@pytest.fixture
def scratch_realm(keycloak, operator) -> Iterator[tuple[AdminLogin, KeycloakAdmin]]:
    """A realm of its own made from the realm JSON and applied once: its login and an
    operator of it."""
    realm = load_realm()
    name = f"ps{random_username()}"
    realm["realm"] = name
    operator.create_realm(realm)
    try:
        login = AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password, realm=name)
        apply_realm(login)
        yield login, realm_operator(keycloak, name)
    finally:
        operator.delete_realm(name)


def _claim_mappers(admin: KeycloakAdmin, client_id: str) -> list[dict]:
    client_uuid = admin.get_client_id(client_id)
    assert client_uuid is not None
    return [m for m in admin.get_mappers_from_client(client_uuid) if CLAIM in m["name"]]


@pytest.mark.parametrize("client_id", CONTRACT_CLIENTS)
def test_each_contract_client_maps_every_user_field_and_attribute_into_its_id_token_only(
    operator, client_id
):
    mappers = _claim_mappers(operator, client_id)

    properties = {prop for prop, _ in PROPERTY_FIELDS.values()}
    attributes = {a["name"] for a in load_user_profile()["attributes"]} - properties
    read = {m["config"]["user.attribute"] for m in mappers}
    assert read == properties | attributes
    assert len(mappers) == len(read)
    for mapper in mappers:
        assert mapper["name"].startswith(MAPPER_PREFIX)
        config = mapper["config"]
        assert config["id.token.claim"] == "true"
        assert config["access.token.claim"] == "false"
        assert config["lightweight.claim"] == "false"
        assert config["userinfo.token.claim"] == "false"
        assert config["introspection.token.claim"] == "false"
        assert config["claim.name"].startswith(f"{CLAIM}.")


def test_no_other_client_and_no_client_scope_maps_the_claim(operator):
    for client in operator.get_clients():
        if client["clientId"] not in CONTRACT_CLIENTS:
            assert _claim_mappers(operator, client["clientId"]) == [], client["clientId"]
    for scope in operator.get_client_scopes():
        assert scope["name"] != LEGACY_SCOPE
        for mapper in scope.get("protocolMappers", []):
            assert not mapper["config"].get("claim.name", "").startswith(CLAIM), scope["name"]


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
    # Asking for the profile adds nothing to the access token but "openid" to its scope.
    assert set(claims["profile"]) == set(claims["plain"])
    assert set(claims["profile"]["scope"].split()) - set(claims["plain"]["scope"].split()) == {
        "openid"
    }


def test_realm_apply_restores_the_mappers_and_id_token_signing_an_operator_changed(
    scratch_realm,
):
    login, admin = scratch_realm
    member = admin.get_client_id("facade-member")
    by_name = {m["name"]: m for m in admin.get_mappers_from_client(member)}
    admin.remove_client_mapper(member, by_name[f"{MAPPER_PREFIX}attribute uid"]["id"])
    leaky = by_name[f"{MAPPER_PREFIX}attribute points"]
    leaky["config"]["access.token.claim"] = "true"
    admin.update_client_mapper(member, leaky["id"], leaky)
    nickname = by_name[f"{MAPPER_PREFIX}attribute nickname"]
    # A stale mapper of the claim (an attribute the profile no longer has) goes; an
    # operator's own mapper on the client stays.
    admin.add_mapper_to_client(
        member, {**nickname, "name": f"{MAPPER_PREFIX}attribute retired", "id": None}
    )
    admin.add_mapper_to_client(
        member,
        {
            **nickname,
            "name": "an operator's own",
            "id": None,
            "config": {**nickname["config"], "claim.name": "operator_nickname"},
        },
    )
    customer = admin.get_client(admin.get_client_id("facade-customer"))
    assert customer["attributes"]["id.token.signed.response.alg"] == "HS512"
    customer["attributes"]["id.token.signed.response.alg"] = "RS256"
    admin.update_client(customer["id"], customer)

    changes = apply_realm(login)

    assert sorted(changes) == sorted(
        [
            f"added mapper facade-member/{MAPPER_PREFIX}attribute uid",
            f"updated mapper facade-member/{MAPPER_PREFIX}attribute points",
            f"removed mapper facade-member/{MAPPER_PREFIX}attribute retired",
            "updated contract client 'facade-customer' ['id.token.signed.response.alg']",
        ]
    )
    names = {m["name"] for m in admin.get_mappers_from_client(member)}
    assert "an operator's own" in names
    assert f"{MAPPER_PREFIX}attribute retired" not in names
    restored = admin.get_client(customer["id"])
    assert restored["attributes"]["id.token.signed.response.alg"] == "HS512"
    # The rest of the client is kept, its secret included.
    assert restored["attributes"]["access.token.lifespan"] == "86400"
    wanted = next(c for c in load_realm()["clients"] if c["clientId"] == "facade-customer")
    assert restored["secret"] == wanted["secret"]  # not a masked one written back
    assert apply_realm(login) == []


def test_realm_apply_moves_a_realm_off_the_legacy_scope(scratch_realm):
    """A realm applied by an earlier version carries the mappers in the optional scope
    ``facade-profile``: apply removes it from the clients and the realm."""
    login, admin = scratch_realm
    scope_id = admin.create_client_scope(
        {"name": LEGACY_SCOPE, "protocol": "openid-connect"}, skip_exists=True
    )
    for client_id in CONTRACT_CLIENTS:
        admin.add_client_optional_client_scope(admin.get_client_id(client_id), scope_id, {})

    changes = apply_realm(login)

    assert changes == [f"removed client scope {LEGACY_SCOPE} (its mappers are on the clients)"]
    assert admin.get_client_scope_by_name(LEGACY_SCOPE) is None
    for client_id in CONTRACT_CLIENTS:
        optional = admin.get_client_optional_client_scopes(admin.get_client_id(client_id))
        assert LEGACY_SCOPE not in {s["name"] for s in optional}
    assert apply_realm(login) == []


def test_a_facade_of_an_earlier_version_still_gets_the_profile_after_apply(gateway):
    """A rolling upgrade may run realm apply while earlier facades still ask for the removed
    scope by name: Keycloak ignores the unknown scope and the clients' own mappers answer."""
    user_id = gateway.create_user(
        NewUser(
            username=random_username(),
            attributes={"phone_number": random_phone(), "nickname": "earlier"},
        )
    )
    raw = gateway._exchange("member", user_id, {"scope": f"openid {LEGACY_SCOPE}"})
    claims = jwt.decode(raw["id_token"], options={"verify_signature": False})
    assert claims[CLAIM]["attributes"]["nickname"] == "earlier"
    gateway.logout("member", raw["refresh_token"])
