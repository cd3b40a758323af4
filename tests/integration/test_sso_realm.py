"""What internal apps get from the realm: standard claims by mappers, the ``phone`` broker setup,
themes and an admin console in the operators' language (``facade realm apply`` + sso.json)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import jwt
import pytest
import requests

from facade.adapters.keycloak import KeycloakGateway
from facade.core.models import NewUser
from facade.realm.apply import load_realm, load_user_profile
from tests.conftest import random_phone, random_username


@pytest.fixture
def claims_client(operator, keycloak) -> Iterator[tuple[str, str]]:
    """A throwaway confidential client with the realm's default scopes and direct grants."""
    client_id = f"test-claims-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(16)
    operator.create_client(
        {
            "clientId": client_id,
            "secret": secret,
            "publicClient": False,
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False,
        }
    )
    yield client_id, secret
    operator.delete_client(operator.get_client_id(client_id))


def id_token_claims(keycloak, client: tuple[str, str], username: str, scope: str) -> dict:
    """An ID token from Keycloak for ``username``, verified with the realm's published keys."""
    base = f"{keycloak.url}/realms/facade/protocol/openid-connect"
    response = requests.post(
        f"{base}/token",
        data={
            "grant_type": "password",
            "client_id": client[0],
            "client_secret": client[1],
            "username": username,
            "password": "Secret123",
            "scope": scope,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token = response.json()["id_token"]
    key = jwt.PyJWKClient(f"{base}/certs").get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=client[0])


def test_id_token_carries_the_standard_claims_of_a_facade_user(
    gateway: KeycloakGateway, keycloak, claims_client
):
    phone = random_phone()
    username = random_username()
    gateway.create_user(
        NewUser(
            username=username,
            password="Secret123",
            attributes={
                "phone_number": phone,
                "phone_number_verified": "true",
                "nickname": "小明",
                "avatar": "https://example.com/a.png",
                "gender": "female",
                "uid": "4242",
            },
        )
    )
    claims = id_token_claims(keycloak, claims_client, username, "openid phone")
    assert claims["phone_number"] == phone
    assert claims["phone_number_verified"] is True
    assert claims["picture"] == "https://example.com/a.png"
    assert claims["nickname"] == "小明"
    assert claims["gender"] == "female"  # OIDC's value, as the realm stores it
    assert "gender_code" not in claims
    assert claims["uid"] == 4242
    assert claims["preferred_username"] == username


def test_phone_claims_need_the_phone_scope(gateway: KeycloakGateway, keycloak, claims_client):
    username = random_username()
    gateway.create_user(
        NewUser(
            username=username,
            password="Secret123",
            attributes={"phone_number": random_phone(), "uid": "7"},
        )
    )
    claims = id_token_claims(keycloak, claims_client, username, "openid")
    assert "phone_number" not in claims
    assert claims["uid"] == 7


def test_phone_provider_links_only_through_detect_then_auto_link(operator):
    (provider,) = [p for p in operator.get_idps() if p["alias"] == "phone"]
    assert provider["trustEmail"] is False
    assert provider["config"]["pkceEnabled"] == "true"
    assert provider["config"]["validateSignature"] == "true"
    flow = provider["firstBrokerLoginFlowAlias"]
    executions = operator.get_authentication_flow_executions(flow)
    assert [(e["providerId"], e["requirement"]) for e in executions] == [
        ("idp-detect-existing-broker-user", "REQUIRED"),
        ("idp-auto-link", "REQUIRED"),
    ]


def test_realm_uses_the_facade_themes(operator):
    realm = operator.get_realm("facade")
    assert (realm["loginTheme"], realm["accountTheme"], realm["emailTheme"]) == (
        "facade",
        "facade",
        "facade",
    )


def test_every_profile_label_is_localised_in_both_locales(operator):
    """Labels are ``${key}`` references the admin console resolves in the realm's texts."""
    keys = set()
    profile = load_user_profile()
    for attribute in profile["attributes"]:
        keys.add(attribute["displayName"])
        for label in attribute.get("annotations", {}).get("inputOptionLabels", {}).values():
            keys.add(label)
    for group in profile["groups"]:
        keys |= {group["displayHeader"], group["displayDescription"]}
    wanted = {k[2:-1] for k in keys if k.startswith("${")} - {"username", "email"}
    for locale in ("zh-CN", "en"):
        texts = operator.connection.raw_get(f"admin/realms/facade/localization/{locale}").json()
        assert wanted <= set(texts), (locale, wanted - set(texts))
    assert load_realm()["localizationTexts"]["zh-CN"]["profile.group.wechat"] == "微信"


def test_profile_groups_and_selects_reach_keycloak(operator):
    profile = operator.connection.raw_get("admin/realms/facade/users/profile").json()
    by_name = {a["name"]: a for a in profile["attributes"]}
    assert {"firstName", "lastName"}.isdisjoint(by_name)
    assert {g["name"] for g in profile["groups"]} >= {"account", "member", "wechat"}
    assert by_name["wechat_openid"]["group"] == "wechat"
    assert by_name["gender"]["annotations"]["inputType"] == "select"
    assert by_name["gender"]["validations"]["options"]["options"] == ["female", "male"]
    assert by_name["member_level_id"]["annotations"]["inputType"] == "select"


def test_admin_console_refuses_a_gender_outside_the_select(gateway: KeycloakGateway):
    from facade.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        gateway.create_user(NewUser(username=random_username(), attributes={"gender": "2"}))


def test_realm_apply_rewrites_gender_codes_of_existing_users_as_oidc_values(keycloak):
    """Realms from before OIDC's gender stored member's 0/1/2: apply rewrites them once (a
    throwaway realm whose profile still takes the old codes stands for such a realm)."""
    from keycloak import KeycloakAdmin

    from facade.realm.sso import _migrate_gender_codes

    name = f"gender-{secrets.token_hex(4)}"
    admin = KeycloakAdmin(
        server_url=keycloak.url + "/",
        username=keycloak.admin_user,
        password=keycloak.admin_password,
        realm_name="master",
    )
    admin.create_realm({"realm": name, "enabled": True})
    try:
        admin.change_current_realm(name)
        profile = admin.connection.raw_get(f"admin/realms/{name}/users/profile").json()
        options = {"options": ["0", "1", "2", "female", "male"]}
        profile["attributes"].append(
            {
                "name": "gender",
                "validations": {"options": options},
                "permissions": {"edit": ["admin"]},
            }
        )
        admin.connection.raw_put(f"admin/realms/{name}/users/profile", data=json.dumps(profile))
        ids = {}
        for code in ("0", "1", "2", "female"):
            ids[code] = admin.create_user(
                {"username": f"gender-{code}", "enabled": True, "attributes": {"gender": [code]}}
            )
        admin.create_user({"username": "no-gender", "enabled": True, "email": "n@example.com"})

        assert _migrate_gender_codes(admin) == ["rewrote the 0/1/2 gender code of 3 users"]
        assert _migrate_gender_codes(admin) == []  # idempotent
        stored = {
            code: admin.get_user(user_id).get("attributes", {}).get("gender")
            for code, user_id in ids.items()
        }
        assert stored == {"0": None, "1": ["male"], "2": ["female"], "female": ["female"]}
        (untouched,) = admin.get_users({"username": "no-gender", "exact": True})
        assert untouched["email"] == "n@example.com"
    finally:
        admin.change_current_realm("master")
        admin.delete_realm(name)
