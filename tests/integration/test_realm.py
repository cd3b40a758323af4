"""The realm as imported from keycloak-realm/ and completed by ``facade realm apply``."""

from __future__ import annotations

import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.core.models import NewUser
from facade.realm.apply import (
    CONTRACT_SLUGS,
    AdminLogin,
    apply_realm,
    load_realm,
    load_user_profile,
)
from tests.conftest import random_phone, random_username, realm_operator

CONTRACT_ATTRIBUTES = {
    "phone_number": "13800138000",
    "phone_number_verified": "true",
    "nickname": "用户138****8000",
    "avatar": "https://example.com/avatar.jpg",
    "gender": "female",
    "member_level_id": "3",
    "points": "1500",
    "is_verified": "true",
    "uid": "424242",
    "invite_code": "ABC123",
    "invited_by": "8d1c1f0e-0000-4000-8000-000000000000",
    "wechat_openid": "oAbCdEfGh123",
    "wechat_unionid": "uAbCdEfGh456",
}


def test_realm_has_zh_cn_default_and_brute_force_detection(operator):
    realm = operator.get_realm("facade")
    assert realm["internationalizationEnabled"] is True
    assert realm["defaultLocale"] == "zh-CN"
    assert set(realm["supportedLocales"]) == {"zh-CN", "en"}
    assert realm["bruteForceProtected"] is True


def test_user_profile_declares_every_contract_attribute(operator):
    profile = operator.connection.raw_get("admin/realms/facade/users/profile").json()
    declared = {attribute["name"] for attribute in profile["attributes"]}
    assert set(CONTRACT_ATTRIBUTES) <= declared
    assert profile.get("unmanagedAttributePolicy") in (None, "DISABLED")


def test_every_declared_attribute_round_trips_through_keycloak(gateway: KeycloakGateway):
    attributes = {**CONTRACT_ATTRIBUTES, "phone_number": random_phone()}
    user_id = gateway.create_user(
        NewUser(username=random_username(), password="Secret123", attributes=attributes)
    )
    stored = gateway.get_user(user_id)
    assert stored is not None
    assert dict(stored.attributes) == attributes


def test_undeclared_attribute_is_dropped_by_keycloak(gateway: KeycloakGateway):
    user_id = gateway.create_user(
        NewUser(username=random_username(), attributes={"not_declared": "x", "nickname": "n"})
    )
    stored = gateway.get_user(user_id)
    assert stored is not None
    assert "not_declared" not in stored.attributes
    assert stored.attr("nickname") == "n"


def test_users_cannot_edit_admin_only_attributes():
    profile = load_user_profile()
    by_name = {attribute["name"]: attribute for attribute in profile["attributes"]}
    for name in (
        "phone_number",
        "member_level_id",
        "points",
        "uid",
        "invite_code",
        "wechat_openid",
    ):
        assert by_name[name]["permissions"]["edit"] == ["admin"], name
    for name in ("nickname", "avatar", "gender"):
        assert "user" in by_name[name]["permissions"]["edit"], name


def test_profile_validation_rejects_a_malformed_phone(gateway: KeycloakGateway):
    from facade.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        gateway.create_user(
            NewUser(username=random_username(), attributes={"phone_number": "12345"})
        )


def test_roles_and_contract_clients(operator):
    roles = {role["name"] for role in operator.get_realm_roles()}
    assert {"user", "admin"} <= roles
    default_role = operator.get_realm_role("default-roles-facade")
    composites = operator.connection.raw_get(
        f"admin/realms/facade/roles-by-id/{default_role['id']}/composites"
    ).json()
    assert "user" in {role["name"] for role in composites}
    lifespans = {}
    for slug in ("captcha", "vcode", "member", "customer", "account"):
        (client,) = [c for c in operator.get_clients() if c["clientId"] == f"facade-{slug}"]
        assert client["directAccessGrantsEnabled"] is True
        assert client["publicClient"] is False
        lifespans[slug] = int(client["attributes"]["access.token.lifespan"])
        assert int(client["attributes"]["client.session.idle.timeout"]) >= 30 * 24 * 3600
    assert lifespans["vcode"] == 86400
    assert lifespans["member"] == 7200
    assert lifespans["customer"] == 86400


def test_no_contract_client_takes_a_built_in_client_id(operator):
    client_ids = {c["clientId"] for c in operator.get_clients()}
    assert {"account", "account-console", "admin-cli", "broker"} <= client_ids
    assert not {"captcha", "vcode", "member", "customer"} & client_ids
    account = next(c for c in operator.get_clients() if c["clientId"] == "account")
    assert account.get("name") != "account contract (facade)"


def test_realm_password_policy_is_no_stricter_than_the_loosest_contract(operator):
    assert operator.get_realm("facade")["passwordPolicy"] == "length(6) and maxLength(128)"


def test_realm_apply_repairs_a_realm_imported_with_the_old_client_ids(keycloak, operator):
    """Early realm JSON named contract clients by bare slug; ``account`` displaced Keycloak's
    own account console on import. Apply moves them to ``facade-<slug>`` and restores it."""
    old = load_realm()
    name = f"old{random_username()}"
    old["realm"] = name
    for client in old["clients"]:
        if client["clientId"].startswith("facade-"):
            client["clientId"] = client["clientId"].removeprefix("facade-")
    old["roles"]["realm"][-1]["composites"]["client"] = {"account": []}
    operator.create_realm(old)
    try:
        admin = realm_operator(keycloak, name)
        before = {c["clientId"] for c in admin.get_clients()}
        assert "account-console" not in before and "account" in before

        changes = apply_realm(
            AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password, realm=name)
        )

        after = {c["clientId"]: c for c in admin.get_clients()}
        assert {"account", "account-console"} <= set(after)
        assert after["account"].get("name") != "account contract (facade)"
        assert {f"facade-{slug}" for slug in CONTRACT_SLUGS} <= set(after)
        assert not {"captcha", "vcode", "member", "customer"} & set(after)
        assert any("account-console" in change for change in changes)
        assert (
            apply_realm(
                AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password, realm=name)
            )
            == []
        )
    finally:
        operator.delete_realm(name)


def test_realm_apply_is_idempotent(keycloak):
    # Applied once already by the session; once more here in case another test applied it with
    # other settings (the browser tests point identity provider ``phone`` at their own facade).
    login = AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    apply_realm(login)
    assert apply_realm(login) == []


def test_realm_apply_turns_on_admin_events_with_an_expiry(keycloak, operator):
    """`facade identities follow` reads admin events with representation; a realm imported
    before it existed gets them, and an expiry so the event table cannot grow without end."""
    old = load_realm()
    name = f"ev{random_username()}"
    old["realm"] = name
    old["adminEventsEnabled"] = old["adminEventsDetailsEnabled"] = False
    old.pop("attributes", None)
    operator.create_realm(old)
    try:
        login = AdminLogin(keycloak.url, keycloak.admin_user, keycloak.admin_password, realm=name)
        changes = apply_realm(login)
        realm = operator.get_realm(name)
        assert realm["adminEventsEnabled"] is True
        assert realm["adminEventsDetailsEnabled"] is True
        assert realm["attributes"]["adminEventsExpiration"] == "2592000"
        assert any("realm settings" in change for change in changes)
        assert apply_realm(login) == []
    finally:
        operator.delete_realm(name)
