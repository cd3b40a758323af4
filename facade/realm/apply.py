"""``facade realm apply``: bring a Keycloak realm in line with ``keycloak-realm/``, idempotently.

A realm import creates the realm, its roles, clients and service account. It cannot carry what
lives in the realm-management authorization server (fine-grained admin permissions v1), and it
only ever runs once per realm, so this step:

* creates the realm from the JSON when it does not exist (deployments without ``--import-realm``);
* writes the declarative user profile (so attribute changes reach existing realms), and the
  ID-token mappers derived from it on the five contract clients
  (:mod:`facade.realm.profile_claim`);
* lets the facade's service client impersonate users and exchange tokens only for the five
  contract clients (users ``impersonate`` permission plus each contract client's
  ``token-exchange`` permission, both granted to one client policy naming the facade client).

It runs with an administrator of the master realm and can run any number of times.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin
from keycloak.exceptions import raise_error_from_response

from facade.realm.profile_claim import apply_profile_mappers
from facade.realm.sso import DEV_FACADE_URL, apply_localization, apply_sso

log = logging.getLogger(__name__)

REALM_DIR = Path(__file__).resolve().parents[2] / "keycloak-realm"
POLICY_NAME = "facade-contract-clients"
#: The policy of earlier versions, where the ``facade`` service client impersonated users.
LEGACY_POLICY_NAME = "facade-service-client"
CONTRACT_SLUGS = ("captcha", "vcode", "member", "customer", "account")
CONTRACT_CLIENTS = tuple(f"facade-{slug}" for slug in CONTRACT_SLUGS)
#: Keycloak's own clients that an early realm JSON displaced (a contract client named ``account``
#: made the import skip them), recreated by :func:`_repair_builtin_clients`.
BUILTIN_CLIENTS = ("account", "account-console")
#: Account roles every user needs for the account console.
ACCOUNT_ROLES = ("view-profile", "manage-account")
#: Realm settings an import sets once and this step keeps up to date.
REALM_SETTINGS = (
    "passwordPolicy",
    "displayName",
    "supportedLocales",
    "defaultLocale",
    "loginTheme",
    "accountTheme",
    "emailTheme",
    # Admin events with representation: `facade identities follow` reads operators' changes.
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
    # User events of the types in which users change themselves (no sign-ins: those would be
    # a database write per sign-in), kept 30 days: `facade identities follow` reads them too.
    "eventsEnabled",
    "enabledEventTypes",
    "eventsExpiration",
)
#: Realm attributes kept up to date the same way. Admin events expire after 30 days: far beyond
#: any lag of `facade identities follow`, and the event table does not grow without end.
REALM_ATTRIBUTES = ("adminEventsExpiration",)
#: Contract-client attributes kept up to date the same way. ID tokens are HMAC-signed (HS512, the
#: realm's key that already signs refresh tokens): the facade alone reads them, straight from the
#: token endpoint, and an RSA signature cost Keycloak 0.6-1.4 ms per sign-in and per refresh of
#: a sign-in that carried the profile, where HMAC's cost was not measurable (README, "Identity
#: store").
CONTRACT_CLIENT_ATTRIBUTES = ("id.token.signed.response.alg",)
#: realm-management roles of the ``facade`` service account (``view-events``: the follower).
SERVICE_ROLES = ("view-users", "query-users", "manage-users", "view-events")


@dataclass(frozen=True)
class AdminLogin:
    """Master-realm administrator used only by this step, never by the running facade."""

    server_url: str
    username: str
    password: str
    realm: str = "facade"
    service_client_id: str = "facade"
    #: The facade's public base URL: where the ``phone`` identity provider sends browsers.
    facade_url: str = DEV_FACADE_URL


def load_realm(realm_dir: Path = REALM_DIR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((realm_dir / "facade-realm.json").read_text("utf-8"))
    return data


def load_user_profile(realm_dir: Path = REALM_DIR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((realm_dir / "user-profile.json").read_text("utf-8"))
    return data


def apply_realm(login: AdminLogin, realm_dir: Path = REALM_DIR) -> list[str]:
    """Apply the realm; returns a line per change made, empty when nothing had to change."""
    admin = KeycloakAdmin(
        server_url=login.server_url.rstrip("/") + "/",
        username=login.username,
        password=login.password,
        realm_name="master",
        user_realm_name="master",
    )
    changes: list[str] = []
    realm = load_realm(realm_dir)
    realm["realm"] = login.realm
    existing = {r["realm"] for r in admin.get_realms()}
    if login.realm not in existing:
        admin.create_realm(realm)
        changes.append(f"created realm {login.realm}")
    admin.change_current_realm(login.realm)

    # Written every time: Keycloak adds defaults on read, so a comparison would never settle.
    user_profile = load_user_profile(realm_dir)
    _put(admin, f"admin/realms/{login.realm}/users/profile", user_profile)
    changes += _update_realm_settings(admin, login.realm, realm)
    changes += _repair_contract_clients(admin, login.realm, realm)
    changes += _repair_builtin_clients(admin, login.realm)
    apply_localization(admin, login.realm, realm.get("localizationTexts", {}))
    changes += apply_sso(admin, login.realm, login.facade_url, realm_dir)
    changes += apply_profile_mappers(admin, login.realm, user_profile, CONTRACT_CLIENTS)
    changes += _grant_impersonation(admin, login)
    changes += _grant_service_roles(admin, login)
    return changes


def _update_realm_settings(admin: KeycloakAdmin, realm: str, wanted: dict[str, Any]) -> list[str]:
    current = admin.get_realm(realm)
    update = {
        key: wanted[key]
        for key in REALM_SETTINGS
        if key in wanted and _comparable(current.get(key)) != _comparable(wanted[key])
    }
    attributes = _stale_attributes(wanted, current, REALM_ATTRIBUTES)
    if attributes:
        update["attributes"] = attributes  # Keycloak merges these into the realm's attributes
    if not update:
        return []
    admin.update_realm(realm, update)
    return [f"updated realm settings {sorted(update)}"]


def _stale_attributes(
    wanted: dict[str, Any], current: dict[str, Any], keys: tuple[str, ...]
) -> dict[str, str]:
    """Of ``keys``, the ``attributes`` the JSON gives ``wanted`` that Keycloak's ``current``
    representation (a realm's or a client's) does not hold: what an update must write."""
    given = wanted.get("attributes", {})
    held = current.get("attributes") or {}
    return {key: given[key] for key in keys if key in given and held.get(key) != given[key]}


def _repair_contract_clients(admin: KeycloakAdmin, realm: str, wanted: dict[str, Any]) -> list[str]:
    """Contract clients under today's ids, their :data:`CONTRACT_CLIENT_ATTRIBUTES` as the JSON
    says; those under the bare slugs of early versions go."""
    changes: list[str] = []
    by_id = {c["clientId"]: c for c in admin.get_clients()}
    for slug in CONTRACT_SLUGS:
        old = by_id.get(slug)
        if slug not in BUILTIN_CLIENTS and old is not None and _displaced(old):
            admin.delete_client(old["id"])
            changes.append(f"removed old contract client {slug!r}")
    for client in wanted.get("clients", []):
        if client["clientId"] not in CONTRACT_CLIENTS:
            continue
        current = by_id.get(client["clientId"])
        if current is None:
            admin.create_client(client)
            changes.append(f"created contract client {client['clientId']!r}")
            continue
        stale = _stale_attributes(client, current, CONTRACT_CLIENT_ATTRIBUTES)
        if stale:
            current["attributes"] = {**(current.get("attributes") or {}), **stale}
            admin.update_client(current["id"], current)
            changes.append(f"updated contract client {client['clientId']!r} {sorted(stale)}")
    return changes


def _repair_builtin_clients(admin: KeycloakAdmin, realm: str) -> list[str]:
    """Recreate Keycloak's account clients where an old realm lost them.

    Their exact representation belongs to the Keycloak version at hand, so it is read from a
    scratch realm that this Keycloak creates with its defaults, then removed.
    """
    existing = {c["clientId"]: c for c in admin.get_clients()}
    missing = [
        client_id
        for client_id in BUILTIN_CLIENTS
        if client_id not in existing or _displaced(existing[client_id])
    ]
    if not missing:
        return []
    scratch = f"{realm}-scratch-defaults"
    admin.create_realm({"realm": scratch, "enabled": False}, skip_exists=True)
    try:
        admin.change_current_realm(scratch)
        templates = {c["clientId"]: c for c in admin.get_clients() if c["clientId"] in missing}
        for client in templates.values():
            client_uuid = admin.get_client_id(client["clientId"])
            client["_roles"] = admin.get_client_roles(client_uuid) if client_uuid else []
    finally:
        admin.change_current_realm(realm)
        admin.delete_realm(scratch)
    changes: list[str] = []
    for client_id in missing:
        template = templates[client_id]
        roles = template.pop("_roles")
        template.pop("id", None)
        template.pop("protocolMappers", None)
        if client_id in existing:
            # Keycloak refuses to delete a client named ``account``: turn ours back into its own.
            admin.update_client(existing[client_id]["id"], {**template, "secret": None})
        else:
            admin.create_client(template)
        new_uuid = _client_uuid(admin, client_id)
        for role in roles:
            admin.create_client_role(
                new_uuid,
                {k: role[k] for k in ("name", "description") if k in role},
                skip_exists=True,
            )
        changes.append(f"recreated Keycloak's {client_id!r} client")
    account_uuid = _client_uuid(admin, "account")
    default_role = admin.get_realm(realm)["defaultRole"]["name"]
    composites = admin.connection.raw_get(
        f"admin/realms/{realm}/roles/{default_role}/composites/clients/{account_uuid}"
    ).json()
    present = {r["name"] for r in composites}
    grant = [
        admin.get_client_role(account_uuid, name) for name in ACCOUNT_ROLES if name not in present
    ]
    if grant:
        admin.add_composite_realm_roles_to_role(default_role, grant)
        changes.append("gave every user the account console roles")
    return changes


def _grant_impersonation(admin: KeycloakAdmin, login: AdminLogin) -> list[str]:
    """Exactly the five contract clients may impersonate users, each only for itself.

    ``users.impersonate`` is a UNANIMOUS permission: it carries one client policy naming all
    five. No client gets a ``token-exchange`` permission on another, so a contract's secret
    cannot mint tokens for a different contract, and the ``facade`` service client keeps only
    its user-management roles. Policies of earlier versions (the service client impersonating
    with an audience) are detached and deleted.
    """
    changes: list[str] = []
    realm = login.realm
    management_id = admin.get_client_id("realm-management")
    if management_id is None:
        raise RuntimeError("realm lacks realm-management")
    # Enabling permissions creates realm-management's authorization server: do it first.
    users_perms = _put(
        admin, f"admin/realms/{realm}/users-management-permissions", {"enabled": True}
    )
    contract_ids = [_client_uuid(admin, client_id) for client_id in CONTRACT_CLIENTS]
    policy_id = _ensure_client_policy(admin, realm, management_id, contract_ids, changes)
    impersonate = users_perms["scopePermissions"]["impersonate"]
    _set_policies(admin, management_id, impersonate, [policy_id], "users.impersonate", changes)

    legacy = next(
        (
            p
            for p in admin.get_client_authz_client_policies(management_id)
            if p.get("name") == LEGACY_POLICY_NAME
        ),
        None,
    )
    if legacy is not None:
        # Deleting a policy detaches it from every permission that named it.
        admin.delete_client_authz_policy(management_id, legacy["id"])
        changes.append(f"removed the legacy policy {LEGACY_POLICY_NAME}")
    return changes


def _grant_service_roles(admin: KeycloakAdmin, login: AdminLogin) -> list[str]:
    """The service account's realm-management roles, on realms imported before one was added."""
    account = admin.get_client_service_account_user(_client_uuid(admin, login.service_client_id))
    management_id = admin.get_client_id("realm-management")
    if management_id is None:
        raise RuntimeError("realm lacks realm-management")
    held = {r["name"] for r in admin.get_client_roles_of_user(account["id"], management_id)}
    missing = [name for name in SERVICE_ROLES if name not in held]
    if not missing:
        return []
    roles = [admin.get_client_role(management_id, name) for name in missing]
    admin.assign_client_role(account["id"], management_id, roles)
    return [f"granted {login.service_client_id!r} the roles {missing}"]


def _ensure_client_policy(
    admin: KeycloakAdmin,
    realm: str,
    management_id: str,
    client_ids: list[str],
    changes: list[str],
) -> str:
    for policy in admin.get_client_authz_client_policies(management_id):
        if policy.get("name") == POLICY_NAME:
            named = policy.get("clients") or json.loads(
                (policy.get("config") or {}).get("clients", "[]")
            )
            if sorted(named) != sorted(client_ids):
                admin.connection.raw_put(
                    f"admin/realms/{realm}/clients/{management_id}"
                    f"/authz/resource-server/policy/client/{policy['id']}",
                    data=json.dumps({**_policy_body(client_ids), "id": policy["id"]}),
                )
                changes.append(f"updated client policy {POLICY_NAME}")
            return str(policy["id"])
    created = admin.create_client_authz_client_policy(_policy_body(client_ids), management_id)
    changes.append(f"created client policy {POLICY_NAME}")
    return str(created["id"])


def _policy_body(client_ids: list[str]) -> dict[str, Any]:
    return {
        "name": POLICY_NAME,
        "description": "The five contract clients of keycloak-facade",
        "type": "client",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "clients": client_ids,
    }


def _set_policies(
    admin: KeycloakAdmin,
    management_id: str,
    permission_id: str,
    policy_ids: list[str],
    label: str,
    changes: list[str],
) -> None:
    associated = admin.get_client_authz_permission_associated_policies(management_id, permission_id)
    if sorted(p["id"] for p in associated) == sorted(policy_ids):
        return
    permission = admin.get_client_authz_scope_permission(management_id, permission_id)
    resources = admin.get_client_authz_policy_resources(management_id, permission_id)
    scopes = admin.get_client_authz_policy_scopes(management_id, permission_id)
    payload = {
        **permission,
        "resources": [r["_id"] for r in resources],
        "scopes": [s["id"] for s in scopes],
        "policies": policy_ids,
    }
    admin.update_client_authz_scope_permission(payload, management_id, permission_id)
    changes.append(f"granted {label} to {POLICY_NAME} only")


def _displaced(client: dict[str, Any]) -> bool:
    """A contract client of an early realm JSON, named by the bare slug."""
    return client.get("name") == f"{client['clientId']} contract (facade)"


def _comparable(value: Any) -> Any:
    """Lists Keycloak may reorder (``supportedLocales``) compare as sets."""
    return sorted(value) if isinstance(value, list) else value


def _client_uuid(admin: KeycloakAdmin, client_id: str) -> str:
    found = admin.get_client_id(client_id)
    if found is None:
        raise RuntimeError(f"client {client_id!r} is missing after it was created")
    return found


def _put(admin: KeycloakAdmin, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = admin.connection.raw_put(path, data=json.dumps(payload))
    result = raise_error_from_response(response, RuntimeError)  # type: ignore[arg-type]
    return result if isinstance(result, dict) else {}
