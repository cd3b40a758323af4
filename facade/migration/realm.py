"""Who already holds a username, an email or a phone, as the import's plan asks.

Either one paged scan of the realm (when the export is large next to the realm) or exact
look-ups per row (when it is small), fetched a few at a time in parallel before the plan
decides, so the plan's sequential decisions read from memory. Keycloak's side is
:mod:`facade.adapters.keycloak_import`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.keycloak_import import Existing, KeycloakImportAdmin
from facade.core.identity_ledger import IdentityLedger

#: Look-ups in flight at once: Keycloak answers each in a few milliseconds of its own CPU, so
#: a few in parallel hide the round trips without crowding it.
LOOKUP_THREADS = 4


class Lookups(Protocol):
    """Who already holds a username, an email or a phone."""

    def prefetch(
        self,
        usernames: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        ids: Iterable[str] = (),
    ) -> None:
        """Fetch what the plan will ask for (a scan has it all already)."""
        ...

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

    def prefetch(
        self,
        usernames: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        ids: Iterable[str] = (),
    ) -> None:
        return None

    def by_username(self, username: str) -> Existing | None:
        return self._username.get(username.lower())

    def by_email(self, email: str) -> Existing | None:
        return self._email.get(email)

    def by_phone(self, phone: str) -> Existing | None:
        return self._phone.get(phone)

    def get(self, user_id: str) -> Existing | None:
        return self._id.get(user_id)


class LiveRealm:
    """Exact look-ups per value, remembered: for exports that are small next to the realm.
    Keycloak's unindexed attribute search for a phone is asked only while the identity store
    does not yet hold the whole realm."""

    def __init__(
        self, admin: KeycloakImportAdmin, ledger: IdentityLedger, gateway: KeycloakGateway
    ) -> None:
        self._admin = admin
        self._gateway = gateway
        self._search_phones = not ledger.complete()
        self._seen: dict[tuple[str, str], Existing | None] = {}

    def prefetch(
        self,
        usernames: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        ids: Iterable[str] = (),
    ) -> None:
        wanted = [("username", value.lower()) for value in usernames]
        wanted += [("email", value) for value in emails]
        wanted += [("id", value) for value in ids]
        if self._search_phones:
            wanted += [("phone", value) for value in phones]
        todo = [key for key in dict.fromkeys(wanted) if key not in self._seen]
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            for key, found in zip(todo, pool.map(self._fetch, todo), strict=True):
                self._seen[key] = found

    def _fetch(self, key: tuple[str, str]) -> Existing | None:
        kind, value = key
        if kind == "phone":
            found = self._gateway.find_by_attribute("phone_number", value)
            if not found:
                return None
            return self._admin.get(min(found, key=lambda user: user.created_at_ms).id)
        if kind == "id":
            return self._admin.get(value)
        return self._admin.find(kind, value)

    def _lookup(self, kind: str, value: str) -> Existing | None:
        key = (kind, value)
        if key not in self._seen:
            self._seen[key] = self._fetch(key)
        return self._seen[key]

    def by_username(self, username: str) -> Existing | None:
        return self._lookup("username", username.lower())

    def by_email(self, email: str) -> Existing | None:
        return self._lookup("email", email)

    def get(self, user_id: str) -> Existing | None:
        return self._lookup("id", user_id)

    def by_phone(self, phone: str) -> Existing | None:
        return self._lookup("phone", phone) if self._search_phones else None
