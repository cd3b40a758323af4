"""Finding users fast while Keycloak stays the source of truth.

Keycloak 26 searches custom attributes without an index, so lookups by phone, uid, WeChat id or
invite code go through a Redis index first. An index hit is always checked against Keycloak (one
read by primary key); a miss or a mismatch falls back to Keycloak's search and repairs the
entry. Operator edits in the admin console therefore show up on the next lookup.
"""

from __future__ import annotations

import logging

from facade.core.errors import InvalidInput
from facade.core.models import User
from facade.core.ports import IdentityProvider, ProfileCache, UserIndex
from facade.core.targets import canonical_phone

log = logging.getLogger(__name__)

#: Attributes that identify one user, kept in the index.
INDEXED_ATTRIBUTES = ("phone_number", "uid", "wechat_openid", "wechat_unionid", "invite_code")


class UserDirectory:
    def __init__(self, identity: IdentityProvider, index: UserIndex, cache: ProfileCache) -> None:
        self._identity = identity
        self._index = index
        self._cache = cache

    def get(self, user_id: str, *, fresh: bool = False) -> User | None:
        """A user by Keycloak id; briefly cached unless ``fresh``."""
        if not fresh:
            cached = self._cache.get(user_id)
            if cached is not None:
                return cached
        user = self._identity.get_user(user_id)
        if user is not None:
            self._cache.put(user)
        return user

    def find_by(self, attribute: str, value: str) -> User | None:
        user_id = self._index.get(attribute, value)
        if user_id is not None:
            user = self._identity.get_user(user_id)
            if user is not None and user.attr(attribute) == value:
                self._cache.put(user)
                return user
            self._index.drop(attribute, value)
        found = self._identity.find_by_attribute(attribute, value)
        if not found:
            return None
        if len(found) > 1:
            log.warning("%d users share one %s; using the oldest", len(found), attribute)
        user = min(found, key=lambda candidate: candidate.created_at_ms)
        self._index.put(attribute, value, user.id)
        self._cache.put(user)
        return user

    def find_by_phone(self, phone: str) -> User | None:
        return self.find_by("phone_number", phone)

    def find_by_uid(self, uid: int) -> User | None:
        return self.find_by("uid", str(uid))

    def find_by_email(self, email: str) -> User | None:
        """``email`` is canonical (lower case); Keycloak keeps emails unique."""
        return self._identity.find_by_email(email)

    def find_by_target(self, channel: str, target: str) -> User | None:
        """The holder of a canonical phone (``sms``) or email (``email``)."""
        return self.find_by_phone(target) if channel == "sms" else self.find_by_email(target)

    def find_by_login(self, login: str) -> User | None:
        """A phone number (any form a client types), an email, or a username.

        A phone-shaped login is tried as a phone first and then as a username, since a
        user may have chosen digits as a name; an email is tried as email, then username.
        """
        phone = phone_or_none(login)
        if phone is not None:
            by_phone = self.find_by_phone(phone)
            if by_phone is not None:
                return by_phone
        if "@" in login:
            by_email = self._identity.find_by_email(login.strip().lower())
            if by_email is not None:
                return by_email
        return self._identity.find_by_username(login)

    def remember(self, user: User) -> None:
        """Index a user the facade just wrote, so the next lookup needs no search."""
        for attribute in INDEXED_ATTRIBUTES:
            value = user.attr(attribute)
            if value:
                self._index.put(attribute, value, user.id)
        self._cache.put(user)

    def forget(self, user_id: str) -> None:
        self._cache.drop(user_id)

    def reindex(self, attribute: str, old: str | None, new: str | None, user_id: str) -> None:
        if old and old != new:
            self._index.drop(attribute, old)
        if new:
            self._index.put(attribute, new, user_id)


def phone_or_none(login: str) -> str | None:
    try:
        return canonical_phone(login)
    except InvalidInput:
        return None
