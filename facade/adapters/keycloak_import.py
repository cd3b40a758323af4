"""The Keycloak side of ``facade import``: who exists already, and the bulk writes.

An operator's login, not the running facade's service account: partial import needs
``manage-realm``, which the service account rightly lacks (``facade realm apply`` signs in the
same way). Errors are translated like the gateway's (:func:`facade.adapters.keycloak._translated`).

New users go in through the partial import endpoint with their credentials, ids and attributes
(``ifResourceExists: SKIP``: a user that exists is never overwritten, and the answer names its
id, so a resumed batch recognises the users it made). The calls are safe from several threads
at once (the importer keeps a few in flight).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from keycloak import KeycloakAdmin

from facade.adapters.keycloak import _translated
from facade.core.errors import NotFound
from facade.core.identities import LEGACY_IDS_ATTRIBUTE
from facade.settings import Settings

#: Users per page of a realm scan.
PAGE = 1000
#: Fields of a user representation an update must send back unchanged.
_KEPT = ("username", "email", "emailVerified", "firstName", "lastName", "enabled")


@dataclass(frozen=True)
class Existing:
    """A realm user as the import's plan needs it."""

    id: str
    username: str
    email: str | None = None
    email_verified: bool = False
    enabled: bool = True
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def phone(self) -> str | None:
        return self.attributes.get("phone_number")

    @property
    def phone_verified(self) -> bool:
        return self.attributes.get("phone_number_verified") == "true"


def existing_from(raw: Mapping[str, Any]) -> Existing:
    attributes = {
        key: str(values[0])
        for key, values in (raw.get("attributes") or {}).items()
        if isinstance(values, list) and values
    }
    email = raw.get("email")
    return Existing(
        id=str(raw["id"]),
        username=str(raw.get("username", "")),
        email=str(email).lower() if email else None,
        email_verified=bool(raw.get("emailVerified", False)),
        enabled=bool(raw.get("enabled", True)),
        attributes=attributes,
    )


def operator_login(settings: Settings, username: str, password: str) -> KeycloakAdmin:
    """A master-realm administrator working on the facade realm (as ``facade realm apply``)."""
    return KeycloakAdmin(
        server_url=settings.keycloak_url.rstrip("/") + "/",
        username=username,
        password=password,
        realm_name=settings.keycloak_realm,
        user_realm_name="master",
        timeout=120,
    )


class KeycloakImportAdmin:
    """An operator's admin calls on one realm, for the importer."""

    def __init__(self, admin: KeycloakAdmin, realm: str) -> None:
        self._operator = admin
        self._realm = realm

    def _path(self, tail: str) -> str:
        return f"admin/realms/{self._realm}/{tail}"

    def default_role(self) -> str:
        """The realm's default role (``default-roles-<realm>`` unless the realm was made from
        another's export): new users get it, as users Keycloak creates itself do."""
        with _translated("read realm"):
            realm = self._operator.get_realm(self._realm)
        return str((realm.get("defaultRole") or {}).get("name") or f"default-roles-{self._realm}")

    def count(self) -> int:
        with _translated("count users"):
            return int(self._operator.users_count())

    def scan(self) -> Iterator[Existing]:
        first = 0
        while True:
            with _translated("scan users"):
                page = self._operator.get_users(
                    {"first": first, "max": PAGE, "briefRepresentation": "false"}
                )
            yield from (existing_from(raw) for raw in page)
            if len(page) < PAGE:
                return
            first += PAGE

    def find(self, field_name: str, value: str) -> Existing | None:
        """The user whose ``username`` or ``email`` is exactly ``value``."""
        with _translated("search users"):
            found = self._operator.get_users({field_name: value, "exact": "true", "max": 2})
        for raw in found:
            if str(raw.get(field_name, "")).lower() == value.lower():
                return existing_from(raw)
        return None

    def get(self, user_id: str) -> Existing | None:
        try:
            with _translated("get user"):
                return existing_from(self._operator.get_user(user_id))
        except NotFound:
            return None

    def has_password(self, user_id: str) -> bool:
        with _translated("read credentials"):
            credentials = self._operator.get_credentials(user_id)
        return any(c.get("type") == "password" for c in credentials)

    def partial_import(self, users: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        """Create the users Keycloak does not have: username -> (ADDED|SKIPPED, user id)."""
        body = {"ifResourceExists": "SKIP", "users": users}
        with _translated("partial import"):
            response = self._operator.connection.raw_post(
                self._path("partialImport"), data=json.dumps(body, ensure_ascii=False)
            )
        if response.status_code != 200:
            raise RuntimeError(f"partial import answered {response.status_code}: {response.text}")
        results = response.json().get("results") or []
        return {
            str(item["resourceName"]).lower(): (str(item["action"]), str(item.get("id", "")))
            for item in results
            if item.get("resourceType") == "USER"
        }

    def merge(self, user_id: str, legacy_ids: str, credential: dict[str, Any] | None) -> None:
        """Mirror the legacy ids onto an existing user (and add an imported password
        credential, which Keycloak accepts on update too): read, merge, write back."""
        admin = self._operator
        with _translated("merge user"):
            current = admin.get_user(user_id)
            attributes = dict(current.get("attributes") or {})
            attributes[LEGACY_IDS_ATTRIBUTE] = [legacy_ids]
            payload: dict[str, Any] = {key: current[key] for key in _KEPT if key in current}
            payload["attributes"] = attributes
            if credential is not None:
                payload["credentials"] = [credential]
            admin.update_user(user_id, payload)
