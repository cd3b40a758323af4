"""Legacy password hashes kept in the identity store, checked by passlib at sign-in."""

from __future__ import annotations

from facade.adapters.identity_store import SqlIdentityStore
from facade.migration.hashes import verify_legacy


class StoredLegacyPasswords:
    """:class:`facade.core.sessions.LegacyPasswords` over the identity store. Asked only
    after Keycloak refused a password or has none, so ordinary sign-ins never touch it."""

    def __init__(self, store: SqlIdentityStore) -> None:
        self._store = store

    def check(self, user_id: str, password: str) -> bool | None:
        legacy = self._store.legacy_password(user_id)
        if legacy is None:
            return None
        return verify_legacy(password, legacy)

    def pending(self, user_id: str) -> bool:
        return self._store.legacy_password(user_id) is not None

    def forget(self, user_id: str) -> None:
        self._store.drop_legacy_password(user_id)
