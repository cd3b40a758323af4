"""The ``facade-profile`` client scope: the facade's whole ``User`` in a sign-in's ID token.

A code or WeChat sign-in whose user is not in the profile cache asks the token exchange for this
scope (with ``openid``), so Keycloak's one answer carries the profile the login answer renders
instead of the facade reading the user through the admin API first (a second, costly call).

Its mappers write into the ID token only, under one claim (``facade_profile``): access tokens go
to the client apps and must not grow, and no userinfo or introspection answer needs it. One
mapper per field of :class:`~facade.core.models.User` that is a user property, one per attribute
of the realm's declarative user profile (``keycloak-realm/user-profile.json``), which lists every
attribute the realm keeps and so every attribute the facade reads: the two cannot drift.

``facade realm apply`` writes it and makes it an optional scope of exactly the five contract
clients (like ``sso.json``'s scopes it is kept out of the imported realm JSON: an import that
carries ``clientScopes`` replaces Keycloak's default scopes instead of adding to them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keycloak import KeycloakAdmin

from facade.core.models import User
from facade.realm.sso import apply_scope

#: The optional client scope a sign-in's token exchange asks for.
SCOPE = "facade-profile"
#: The ID token claim holding the profile; attributes sit under its ``attributes`` member.
CLAIM = "facade_profile"
ATTRIBUTES = "attributes"
#: Each :class:`User` field kept as a Keycloak user property: the property, the claim's type.
PROPERTY_FIELDS: dict[str, tuple[str, str]] = {
    "username": ("username", "String"),
    "email": ("email", "String"),
    "email_verified": ("emailVerified", "boolean"),
    "first_name": ("firstName", "String"),
    "last_name": ("lastName", "String"),
    "created_at_ms": ("createdTimestamp", "long"),
}
_PROPERTIES = frozenset(prop for prop, _ in PROPERTY_FIELDS.values())
_ID_TOKEN_ONLY = {
    "id.token.claim": "true",
    "access.token.claim": "false",
    "userinfo.token.claim": "false",
    "introspection.token.claim": "false",
}


def scope_definition(user_profile: Mapping[str, Any]) -> dict[str, Any]:
    """The scope as :func:`facade.realm.sso.apply_scope` takes it, mappers derived."""
    mappers = [
        {
            "name": f"user {field}",
            "protocolMapper": "oidc-usermodel-property-mapper",
            "config": {
                "user.attribute": prop,
                "claim.name": f"{CLAIM}.{field}",
                "jsonType.label": json_type,
                **_ID_TOKEN_ONLY,
            },
        }
        for field, (prop, json_type) in PROPERTY_FIELDS.items()
    ]
    for attribute in user_profile["attributes"]:
        name = str(attribute["name"])
        if name in _PROPERTIES:
            continue
        mappers.append(
            {
                "name": f"attribute {name}",
                "protocolMapper": "oidc-usermodel-attribute-mapper",
                "config": {
                    "user.attribute": name,
                    # A dot would nest the claim one level deeper: Keycloak's escape keeps it.
                    "claim.name": f"{CLAIM}.{ATTRIBUTES}.{name.replace('.', chr(92) + '.')}",
                    "jsonType.label": "String",
                    "multivalued": "true" if attribute.get("multivalued") else "false",
                    "aggregate.attrs": "false",
                    **_ID_TOKEN_ONLY,
                },
            }
        )
    return {
        "name": SCOPE,
        "create": {
            "description": "The facade's user profile in the ID token of a code sign-in",
            "protocol": "openid-connect",
            "attributes": {
                "include.in.token.scope": "false",
                "display.on.consent.screen": "false",
            },
        },
        "mappers": mappers,
        "pruneMappers": True,
    }


def apply_profile_scope(
    admin: KeycloakAdmin,
    realm: str,
    user_profile: Mapping[str, Any],
    contract_clients: Iterable[str],
) -> list[str]:
    """The scope and its mappers as derived, optional on each contract client; a line per
    change (none when the realm already matches)."""
    changes = apply_scope(admin, realm, scope_definition(user_profile))
    scope = admin.get_client_scope_by_name(SCOPE)
    if scope is None:
        raise RuntimeError(f"client scope {SCOPE!r} is missing after it was applied")
    for client_id in contract_clients:
        client_uuid = admin.get_client_id(client_id)
        if client_uuid is None:
            raise RuntimeError(f"realm {realm} lacks the contract client {client_id!r}")
        optional = {s["name"] for s in admin.get_client_optional_client_scopes(client_uuid)}
        if SCOPE not in optional:
            admin.add_client_optional_client_scope(client_uuid, scope["id"], {})
            changes.append(f"made {SCOPE} an optional scope of {client_id!r}")
    return changes


def user_from_claim(user_id: str, profile: Mapping[str, Any]) -> User:
    """The :class:`User` an ID token's ``facade_profile`` claim describes, read as the admin
    API's representation is (first value of an attribute). Keycloak issued the token, so the
    user is enabled."""
    values = dict.fromkeys(PROPERTY_FIELDS)
    values.update({k: v for k, v in profile.items() if k in PROPERTY_FIELDS})
    attributes: dict[str, str] = {}
    for name, value in (profile.get(ATTRIBUTES) or {}).items():
        first = value[0] if isinstance(value, list) and value else value
        if first is not None and not isinstance(first, list):
            attributes[str(name)] = str(first)
    return User(
        id=user_id,
        username=str(values["username"] or ""),
        enabled=True,
        email=values["email"],
        email_verified=bool(values["email_verified"]),
        first_name=values["first_name"],
        last_name=values["last_name"],
        created_at_ms=int(values["created_at_ms"] or 0),
        attributes=attributes,
    )
