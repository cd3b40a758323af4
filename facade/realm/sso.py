"""The realm's single sign-on for internal apps, applied by ``facade realm apply``.

Kept out of the imported realm JSON on purpose: an import that carries ``clientScopes`` or
``authenticationFlows`` replaces Keycloak's default scopes and flows instead of adding to them.
So ``keycloak-realm/sso.json`` lists only what the facade adds or changes, and this step brings
any realm, new or years old, to it idempotently:

* standard claims by mappers (``phone_number`` from the profile's ``phone_number``, ``picture``
  from ``avatar``, ``nickname``, ``gender`` as OIDC defines it, ``uid`` in a realm-default
  scope ``uid``); the realm stores OIDC's ``female``/``male`` (absent = unknown) and member
  renders its 0/1/2 at its edge, so users stored with the old codes are rewritten here;
* the first-broker-login flow "Detect existing broker user" then "Automatically set existing
  user", both REQUIRED: a phone sign-in only ever links to the user the facade found or
  registered for that phone, it never creates, reviews or merges one in Keycloak;
* the identity provider ``phone``: the facade as a small OpenID provider (``facade/oidc``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin

from facade.realm.mappers import scope_mapper_owner, sync_mappers

REALM_DIR = Path(__file__).resolve().parents[2] / "keycloak-realm"
#: Where the development stack serves the facade; deployments pass their public URL.
DEV_FACADE_URL = "http://127.0.0.1:8000"
#: IdP settings Keycloak returns masked or adds itself: never compared, set on creation only.
_UNCOMPARED = frozenset({"clientSecret"})


def load_sso(realm_dir: Path = REALM_DIR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((realm_dir / "sso.json").read_text("utf-8"))
    return data


def apply_sso(
    admin: KeycloakAdmin,
    realm: str,
    facade_url: str = DEV_FACADE_URL,
    realm_dir: Path = REALM_DIR,
) -> list[str]:
    """Bring scopes, mappers, the flow and the ``phone`` provider in line; a line per change."""
    wanted = load_sso(realm_dir)
    changes: list[str] = []
    for scope in wanted["clientScopes"]:
        changes += apply_scope(admin, realm, scope)
    changes += _migrate_gender_codes(admin)
    changes += _apply_flow(admin, realm, wanted["firstBrokerLoginFlow"])
    changes += _apply_identity_provider(
        admin, realm, _with_url(wanted["identityProvider"], facade_url)
    )
    return changes


def apply_localization(admin: KeycloakAdmin, realm: str, texts: dict[str, dict[str, str]]) -> None:
    """Realm localization texts (admin console labels of the user profile), written every time:
    one bulk call per locale, and an import sets them only once."""
    for locale, messages in texts.items():
        _call(admin, "POST", f"admin/realms/{realm}/localization/{locale}", messages)


def ensure_demo_client(
    admin: KeycloakAdmin, realm: str, redirect_uris: list[str], realm_dir: Path = REALM_DIR
) -> str:
    """Create or update the development-only demo client ``facade-demo`` (never applied by
    ``facade realm apply``: its secret is a development value); returns its client id."""
    client = dict(load_sso(realm_dir)["demoClient"])
    client["redirectUris"] = redirect_uris
    existing = admin.get_client_id(client["clientId"])
    if existing is None:
        admin.create_client(client)
    else:
        admin.update_client(existing, client)
    return str(client["clientId"])


def _with_url(provider: dict[str, Any], facade_url: str) -> dict[str, Any]:
    base = facade_url.rstrip("/")
    config = {k: v.replace("{facade_url}", base) for k, v in provider["config"].items()}
    return {**provider, "config": config}


def apply_scope(admin: KeycloakAdmin, realm: str, wanted: dict[str, Any]) -> list[str]:
    """One client scope and its mappers as ``wanted`` (``sso.json``'s form) says; the mappers
    named in ``removeMappers`` are removed."""
    changes: list[str] = []
    scopes = {s["name"]: s for s in admin.get_client_scopes()}
    scope = scopes.get(wanted["name"])
    if scope is None:
        if "create" not in wanted:
            raise RuntimeError(f"realm {realm} lacks Keycloak's client scope {wanted['name']!r}")
        scope_id = admin.create_client_scope({"name": wanted["name"], **wanted["create"]})
        changes.append(f"created client scope {wanted['name']}")
        scope = {"id": scope_id, "protocolMappers": []}
    scope_id = str(scope["id"])
    if wanted.get("realmDefault"):
        defaults = {s["id"] for s in admin.get_default_default_client_scopes()}
        if scope_id not in defaults:
            admin.add_default_default_client_scope(scope_id)
            changes.append(f"made {wanted['name']} a default scope of new clients")
    owner = scope_mapper_owner(admin, wanted["name"], scope_id)
    current = scope.get("protocolMappers", [])
    removed = wanted.get("removeMappers", [])
    return changes + sync_mappers(owner, current, wanted["mappers"], removed)


#: What realms before OIDC's gender stored: member's codes (0 = unknown, so no value).
_OLD_GENDER_CODES = {"0": None, "1": "male", "2": "female"}


def _migrate_gender_codes(admin: KeycloakAdmin) -> list[str]:
    """Rewrite every user still holding a 0/1/2 gender code (idempotent: none are left)."""
    rewritten = 0
    for code, value in _OLD_GENDER_CODES.items():
        for found in admin.get_users({"q": f"gender:{code}", "briefRepresentation": False}):
            user = admin.get_user(found["id"])
            attributes = dict(user.get("attributes") or {})
            if attributes.get("gender") != [code]:
                continue  # the search matches substrings
            if value is None:
                attributes.pop("gender")
            else:
                attributes["gender"] = [value]
            admin.update_user(user["id"], {**user, "attributes": attributes})
            rewritten += 1
    return [f"rewrote the 0/1/2 gender code of {rewritten} users"] if rewritten else []


def _apply_flow(admin: KeycloakAdmin, realm: str, wanted: dict[str, Any]) -> list[str]:
    changes: list[str] = []
    alias = wanted["alias"]
    base = f"admin/realms/{realm}/authentication/flows"
    if not any(f["alias"] == alias for f in admin.get_authentication_flows()):
        _call(
            admin,
            "POST",
            base,
            {
                "alias": alias,
                "description": wanted["description"],
                "providerId": "basic-flow",
                "topLevel": True,
                "builtIn": False,
            },
        )
        for provider in wanted["executions"]:
            _call(admin, "POST", f"{base}/{alias}/executions/execution", {"provider": provider})
        changes.append(f"created authentication flow {alias!r}")
    executions = _call(admin, "GET", f"{base}/{alias}/executions")
    providers = [e.get("providerId") for e in executions]
    if providers != wanted["executions"]:
        raise RuntimeError(
            f"flow {alias!r} has executions {providers}, expected {wanted['executions']}: "
            "fix or delete it in the admin console, then apply again"
        )
    for execution in executions:
        if execution["requirement"] != "REQUIRED":
            _call(
                admin, "PUT", f"{base}/{alias}/executions", {**execution, "requirement": "REQUIRED"}
            )
            changes.append(f"made {execution['providerId']} REQUIRED in {alias!r}")
    return changes


def _apply_identity_provider(admin: KeycloakAdmin, realm: str, wanted: dict[str, Any]) -> list[str]:
    alias = wanted["alias"]
    current = next((p for p in admin.get_idps() if p["alias"] == alias), None)
    if current is None:
        admin.create_idp(wanted)
        return [f"created identity provider {alias!r}"]
    differs = [k for k, v in wanted.items() if k != "config" and current.get(k) != v]
    config = current.get("config", {})
    differs += [
        f"config.{k}"
        for k, v in wanted["config"].items()
        if k not in _UNCOMPARED and config.get(k) != v
    ]
    if not differs:
        return []
    update = {**current, **{k: v for k, v in wanted.items() if k != "config"}}
    update["config"] = {
        **config,
        **{k: v for k, v in wanted["config"].items() if k not in _UNCOMPARED},
    }
    admin.update_idp(alias, update)
    return [f"updated identity provider {alias!r} ({', '.join(sorted(differs))})"]


def _call(admin: KeycloakAdmin, method: str, path: str, payload: Any = None) -> Any:
    """One admin REST call; raises with Keycloak's answer on anything but 2xx."""
    connection = admin.connection
    if method == "GET":
        response = connection.raw_get(path)
    elif method == "POST":
        response = connection.raw_post(path, data=json.dumps(payload))
    else:
        response = connection.raw_put(path, data=json.dumps(payload))
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None
