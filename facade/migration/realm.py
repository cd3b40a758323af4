"""The Keycloak side of an import: who exists already, and the bulk writes.

New users go in through the partial import endpoint, hundreds per call with their credentials,
ids and attributes (``ifResourceExists: SKIP``: a user that exists is never overwritten, and the
answer names its id, so a resumed batch recognises the users it made). Existing users are read
either by one paged scan of the realm (when the export is large next to the realm) or by exact
look-ups per row (when it is small).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from keycloak import KeycloakAdmin

from facade.adapters.keycloak import KeycloakGateway, _translated
from facade.core.errors import NotFound
from facade.core.identities import LEGACY_IDS_ATTRIBUTE
from facade.core.identity_ledger import IdentityLedger

PAGE = 1000


@dataclass(frozen=True)
class Existing:
    """A realm user as the plan needs it."""

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


class RealmAdmin:
    """An operator's admin calls (partial import needs ``manage-realm``, which the running
    facade's service account rightly lacks), as ``facade realm apply`` makes them."""

    def __init__(self, admin: KeycloakAdmin, realm: str) -> None:
        self._operator = admin
        self._realm = realm

    def _path(self, tail: str) -> str:
        return f"admin/realms/{self._realm}/{tail}"

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
                self._path("partialImport"), data=_json(body)
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
            payload: dict[str, Any] = {
                key: current[key]
                for key in (
                    "username",
                    "email",
                    "emailVerified",
                    "firstName",
                    "lastName",
                    "enabled",
                )
                if key in current
            }
            payload["attributes"] = attributes
            if credential is not None:
                payload["credentials"] = [credential]
            admin.update_user(user_id, payload)


def _json(body: Any) -> str:
    import json

    return json.dumps(body, ensure_ascii=False)


class Lookups(Protocol):
    """Who already holds a username, an email or a phone."""

    def by_username(self, username: str) -> Existing | None: ...

    def by_email(self, email: str) -> Existing | None: ...

    def by_phone(self, phone: str) -> Existing | None:
        """A holder the identity store does not know (a realm not fully backfilled)."""
        ...

    def get(self, user_id: str) -> Existing | None: ...


class ScannedRealm:
    """The whole realm read once: for exports that are large next to the realm."""

    def __init__(self, users: Iterator[Existing]) -> None:
        self._username: dict[str, Existing] = {}
        self._email: dict[str, Existing] = {}
        self._phone: dict[str, Existing] = {}
        self._id: dict[str, Existing] = {}
        for user in users:
            self._id[user.id] = user
            self._username[user.username.lower()] = user
            if user.email:
                self._email[user.email] = user
            if user.phone:
                self._phone.setdefault(user.phone, user)

    def by_username(self, username: str) -> Existing | None:
        return self._username.get(username.lower())

    def by_email(self, email: str) -> Existing | None:
        return self._email.get(email)

    def by_phone(self, phone: str) -> Existing | None:
        return self._phone.get(phone)

    def get(self, user_id: str) -> Existing | None:
        return self._id.get(user_id)


class LiveRealm:
    """Exact look-ups per row: for exports that are small next to the realm. Keycloak's
    unindexed attribute search for a phone is asked only while the identity store does not yet
    hold the whole realm."""

    def __init__(self, admin: RealmAdmin, ledger: IdentityLedger, gateway: KeycloakGateway) -> None:
        self._admin = admin
        self._ledger = ledger
        self._gateway = gateway

    def by_username(self, username: str) -> Existing | None:
        return self._admin.find("username", username)

    def by_email(self, email: str) -> Existing | None:
        return self._admin.find("email", email)

    def get(self, user_id: str) -> Existing | None:
        return self._admin.get(user_id)

    def by_phone(self, phone: str) -> Existing | None:
        if not self._ledger.complete():
            found = self._gateway.find_by_attribute("phone_number", phone)
            if found:
                oldest = min(found, key=lambda user: user.created_at_ms)
                return self._admin.get(oldest.id)
        return None
