"""The ``facade_profile`` claim: the facade's whole ``User`` in a sign-in's ID token.

A code or WeChat sign-in whose user is not in the profile cache asks the token exchange for
``scope=openid``, so Keycloak's one answer carries the profile the login answer renders instead
of the facade reading the user through the admin API first (a second, costly call).

The claim comes from mappers of the five contract clients themselves, writing into the ID token
only, under one claim: access tokens go to the client apps and must not grow, and no userinfo or
introspection answer needs it. Only the facade asks these clients for an ID token. One mapper
per field of :class:`~facade.core.models.User` that is a user property, one per attribute of the
realm's declarative user profile (``keycloak-realm/user-profile.json``), which lists every
attribute the realm keeps and so every attribute the facade reads: the two cannot drift.

Why the clients' own mappers and not an optional client scope (``facade-profile``, which
earlier versions used and ``facade realm apply`` now removes): under load, an exchange that
names the scope cost Keycloak a median 19% more CPU than the plain exchange, while the same
mappers on the client cost nothing measurable (``benchmarks.bench_profile_claim``, README
"Identity store").

``facade realm apply`` writes them, like ``sso.json``'s scopes, rather than the imported realm
JSON: they are derived from the user profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keycloak import KeycloakAdmin

from facade.core.models import User
from facade.realm.mappers import client_mapper_owner, sync_mappers

#: The ID token claim holding the profile; attributes sit under its ``attributes`` member.
CLAIM = "facade_profile"
ATTRIBUTES = "attributes"
#: Every mapper of the claim is named with this prefix, so that ``realm apply`` tells them
#: from an operator's own mappers on the same client (those it leaves alone).
MAPPER_PREFIX = f"{CLAIM} "
#: The optional client scope earlier versions carried the mappers in; removed by apply.
LEGACY_SCOPE = "facade-profile"
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
    "lightweight.claim": "false",
    "userinfo.token.claim": "false",
    "introspection.token.claim": "false",
}


def profile_mappers(user_profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The claim's mappers, derived from the user profile, as the admin API takes them."""
    mappers = [
        {
            "name": f"{MAPPER_PREFIX}user {field}",
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
                "name": f"{MAPPER_PREFIX}attribute {name}",
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
    return mappers


def apply_profile_mappers(
    admin: KeycloakAdmin,
    realm: str,
    user_profile: Mapping[str, Any],
    contract_clients: Iterable[str],
) -> list[str]:
    """The claim's mappers as derived on each contract client (stale ones of the claim
    removed, an operator's own kept), and the legacy scope gone; a line per change."""
    wanted = profile_mappers(user_profile)
    wanted_names = {m["name"] for m in wanted}
    legacy = admin.get_client_scope_by_name(LEGACY_SCOPE)
    changes: list[str] = []
    for client_id in contract_clients:
        client_uuid = admin.get_client_id(client_id)
        if client_uuid is None:
            raise RuntimeError(f"realm {realm} lacks the contract client {client_id!r}")
        owner = client_mapper_owner(admin, client_id, client_uuid)
        current = admin.get_mappers_from_client(client_uuid)
        stale = [
            m["name"]
            for m in current
            if m["name"].startswith(MAPPER_PREFIX) and m["name"] not in wanted_names
        ]
        changes += sync_mappers(owner, current, wanted, stale)
    if legacy is not None:  # Keycloak detaches it from every client that has it
        admin.delete_client_scope(legacy["id"])
        changes.append(f"removed client scope {LEGACY_SCOPE} (its mappers are on the clients)")
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
