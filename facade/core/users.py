"""Finding users fast while Keycloak stays the source of truth.

With the identity store, lookups by phone, uid, WeChat id or invite code are one indexed query
there, then the user by primary key from Keycloak: fresh, because callers act on ``enabled``
(a disabled user must not reset a password) and on the identifier itself.

Sign-in by a verified code or WeChat (:meth:`UserDirectory.signing_in`) trades that
freshness for one Keycloak call: it trusts the store's binding, takes the user from the
profile cache when there and else from the token exchange's ID token (checked against the
binding afterwards, :meth:`UserDirectory.accept`), and lets Keycloak's refusal of the exchange
stand in for the enabled check (:meth:`facade.core.sessions.Sessions.sign_in_verified`). The
trade: an operator's console edit of a phone or WeChat id reaches sign-in within the admin-event
follower's interval (``FACADE_FOLLOW_INTERVAL``, default 2 s), while a disable or a delete acts
at once, because Keycloak refuses those users' exchange.

Without the store (the fast tests' fakes), a Redis index plays its part, every hit checked
against Keycloak.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facade.core.errors import AlreadyExists, InvalidInput
from facade.core.identities import (
    LOOKUP_ATTRIBUTES,
    UNIQUE_ATTRIBUTES,
    IdentityConflict,
    IdentityRecord,
)
from facade.core.identity_ledger import IdentityLedger
from facade.core.models import User
from facade.core.ports import IdentityProvider, ProfileCache, UserIndex
from facade.core.targets import canonical_phone

log = logging.getLogger(__name__)

#: Users whose identifiers a process remembers as matched against the store.
CONFIRMED_LIMIT = 50_000
#: Attributes that identify one user, kept in the index.
INDEXED_ATTRIBUTES = ("phone_number", "uid", "wechat_openid", "wechat_unionid", "invite_code")


@dataclass(frozen=True)
class Binding:
    """An identity store record binding an identifier to a Keycloak user not read yet."""

    ledger: IdentityLedger
    record: IdentityRecord
    attribute: str
    value: str

    @property
    def user_id(self) -> str:
        assert self.record.keycloak_id is not None  # only bound records make a Binding
        return self.record.keycloak_id

    def agrees(self, user: User) -> bool:
        """The user holds the identifier (a uid is the record's own key, never contradicted)."""
        return self.attribute == "uid" or user.attr(self.attribute) == self.value

    def matches(self, user: User) -> bool:
        """The user's uid and invite code are the record's (see :meth:`UserDirectory.confirm`)."""
        return (user.attr("uid"), user.attr("invite_code")) == (
            str(self.record.uid),
            self.record.invite_code,
        )


class UserDirectory:
    def __init__(
        self,
        identity: IdentityProvider,
        index: UserIndex,
        cache: ProfileCache,
        ledger: IdentityLedger | None = None,
    ) -> None:
        self._identity = identity
        self._index = index
        self._cache = cache
        self._ledger = ledger
        #: Keycloak id -> (uid, invite code) this process matched against the store.
        self._confirmed: dict[str, tuple[str | None, str | None]] = {}

    def confirmed(self, user: User) -> bool:
        """Whether this process has matched the user's uid and invite code against the
        store: both never change for an identity, and an operator's change no longer matches."""
        seen = (user.attr("uid"), user.attr("invite_code"))
        return bool(seen[0]) and self._confirmed.get(user.id) == seen

    def confirm(self, user: User) -> None:
        """The user's uid and invite code are the store's (see :meth:`confirmed`)."""
        self._confirmed[user.id] = (user.attr("uid"), user.attr("invite_code"))
        while len(self._confirmed) > CONFIRMED_LIMIT:
            self._confirmed.pop(next(iter(self._confirmed)))

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
        if self._ledger is not None and attribute in LOOKUP_ATTRIBUTES:
            return self._find_in_store(self._ledger, attribute, value)
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

    def _find_in_store(self, ledger: IdentityLedger, attribute: str, value: str) -> User | None:
        """One indexed query, then the user by primary key (fresh: callers check ``enabled``).

        A hit Keycloak contradicts (an operator changed the phone, or deleted the user) is
        repaired from Keycloak and is a miss. A miss is final once the store holds the whole
        realm (``facade identities backfill``); before that Keycloak's search is asked and what
        it finds is adopted, so the store fills up as users come by.
        """
        record = ledger.store.find(attribute, value)
        if record is not None and record.state == "reserved":
            # A registration in flight (not yet anyone's), or one whose answer was lost.
            reserved = ledger.recover(record) if ledger.is_stale(record) else ledger.resolve(record)
            if reserved is not None:
                self._cache.put(reserved)
            return reserved
        if record is None or record.keycloak_id is None:
            return None if ledger.complete() else self._adopt_found(ledger, attribute, value)
        return self._bound_user(ledger, record, attribute, value)

    def _bound_user(
        self, ledger: IdentityLedger, record: IdentityRecord, attribute: str, value: str
    ) -> User | None:
        """The user a record binds, fresh from Keycloak; a contradiction is repaired, a miss."""
        assert record.keycloak_id is not None
        user = self._identity.get_user(record.keycloak_id)
        if user is None:
            ledger.store.retire(record.keycloak_id)  # deleted in Keycloak: its uid is retired
            return None
        if attribute != "uid" and user.attr(attribute) != value:
            ledger.follow(user, record)
            return None
        self._cache.put(user)
        return user

    def find_signing_in(self, attribute: str, value: str) -> User | None:
        """The holder of an identifier about to be signed in by a Keycloak token exchange.

        The store's binding is trusted and the user comes from the profile cache when it holds
        one that agrees: ``enabled`` may be stale, which the exchange judges (module
        docstring). A cache miss, or a cached user whose identifier disagrees, is read from
        Keycloak as :meth:`find_by` would (:meth:`signing_in` leaves that to the exchange).
        """
        found = self.signing_in(attribute, value)
        if not isinstance(found, Binding):
            return found
        user = self._bound_user(found.ledger, found.record, attribute, value)
        if user is not None and found.matches(user):
            self.confirm(user)  # the row just read: the sign-in needs no second look
        return user

    def signing_in(self, attribute: str, value: str) -> User | Binding | None:
        """:meth:`find_signing_in` without the read: a store binding whose user the profile
        cache lacks (or holds disagreeing) is returned as the :class:`Binding`, for the
        sign-in's token exchange to bring the user (its ID token), checked by :meth:`accept`.
        """
        ledger = self._ledger
        if ledger is None or attribute not in LOOKUP_ATTRIBUTES:
            return self.find_by(attribute, value)
        record = ledger.store.find(attribute, value)
        if record is None or record.state != "active" or record.keycloak_id is None:
            return self._find_in_store(ledger, attribute, value)
        binding = Binding(ledger, record, attribute, value)
        user = self._cache.get(record.keycloak_id)
        if user is None or not binding.agrees(user):
            return binding
        if binding.matches(user):
            self.confirm(user)
        return user

    def accept(self, binding: Binding, user: User) -> bool:
        """Whether ``user``, as a token exchange for the binding's user returned it, is what
        :meth:`find_signing_in`'s read would have accepted: it still holds the identifier, and
        its uid and invite code are the store's. An accepted user is confirmed and cached;
        the caller ends the exchange's session on a refusal and finds the holder afresh."""
        if not binding.agrees(user) or not binding.matches(user):
            return False
        self.confirm(user)
        self._cache.put(user)
        return True

    def recheck(self, user_id: str) -> User | None:
        """The user fresh from Keycloak after it refused to sign them in; one deleted there is
        retired from the store (its uid never reused) and None."""
        self._cache.drop(user_id)
        user = self._identity.get_user(user_id)
        if user is None:
            if self._ledger is not None:
                self._ledger.store.retire(user_id)
            return None
        self._cache.put(user)
        return user

    def _adopt_found(self, ledger: IdentityLedger, attribute: str, value: str) -> User | None:
        found = self._identity.find_by_attribute(attribute, value)
        if not found:
            return None
        if len(found) > 1:
            log.warning("%d users share one %s; using the oldest", len(found), attribute)
        record, user = ledger.adopt(min(found, key=lambda candidate: candidate.created_at_ms))
        ledger.follow(user, record)
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

    def find_target_signing_in(self, channel: str, target: str) -> User | None:
        """:meth:`find_by_target` for a sign-in (:meth:`find_signing_in`)."""
        if channel == "sms":
            return self.find_signing_in("phone_number", target)
        return self.find_by_email(target)

    def target_signing_in(self, channel: str, target: str) -> User | Binding | None:
        """:meth:`find_target_signing_in`, a store binding left to the exchange
        (:meth:`signing_in`)."""
        if channel == "sms":
            return self.signing_in("phone_number", target)
        return self.find_by_email(target)

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

    def _move_in_store(
        self, ledger: IdentityLedger, attribute: str, old: str | None, new: str | None, user_id: str
    ) -> None:
        if ledger.store.by_keycloak_id(user_id) is None:
            current = self._identity.get_user(user_id)
            if current is not None:
                ledger.adopt(current)
            return
        try:
            ledger.store.set_identifier(user_id, attribute, new)
        except IdentityConflict as exc:
            self._identity.update_user(user_id, attributes={attribute: old})
            self._cache.drop(user_id)
            raise AlreadyExists(_field_of(attribute)) from exc

    def remember(self, user: User) -> None:
        """Index a user the facade just wrote, so the next lookup needs no search."""
        if self._ledger is not None:
            self._cache.replace(user)  # the identity store is the index
            return
        for attribute in INDEXED_ATTRIBUTES:
            value = user.attr(attribute)
            if value:
                self._index.put(attribute, value, user.id)
        self._cache.replace(user)

    def forget(self, user_id: str) -> None:
        self._cache.drop(user_id)

    def reindex(self, attribute: str, old: str | None, new: str | None, user_id: str) -> None:
        """The facade changed a user's identifier in Keycloak: move it in the index.

        With the identity store the move is checked by its unique index; should another
        identity hold the value after all (a race the caller's check could not see), the
        Keycloak write is undone and the change refused.
        """
        if self._ledger is not None and attribute in UNIQUE_ATTRIBUTES:
            self._move_in_store(self._ledger, attribute, old, new, user_id)
            return
        if old and old != new:
            self._index.drop(attribute, old)
        if new:
            self._index.put(attribute, new, user_id)


def phone_or_none(login: str) -> str | None:
    try:
        return canonical_phone(login)
    except InvalidInput:
        return None


def _field_of(attribute: str) -> str:
    """The field an AlreadyExists names for an identifier (as registration reports it)."""
    return {"phone_number": "phone", "wechat_openid": "wechat", "wechat_unionid": "wechat"}.get(
        attribute, attribute
    )
