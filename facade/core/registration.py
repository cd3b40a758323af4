"""Registration: one Keycloak call per user, unique phones and WeChat ids, numeric uids.

Keycloak enforces unique usernames and emails, not attributes. With an identity store (the
production shape) phone numbers, WeChat ids, invite codes and the uid are reserved in one
transaction first, where uniqueness is a constraint, and the Keycloak user is created second,
carrying its uid (and reservation id); a timeout, a retry or a crash between the two converges
on exactly one user (:mod:`facade.core.identity_ledger`). Without a store, short Redis claims
serialise the check-then-create and a Redis counter hands out uids (kept for in-memory use).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from facade.core.errors import AlreadyExists, InvalidInput, Unavailable
from facade.core.identities import (
    RESERVATION_ATTRIBUTE,
    UNIQUE_ATTRIBUTES,
    IdentityConflict,
    IdentityRecord,
)
from facade.core.identity_ledger import IdentityLedger
from facade.core.models import NewUser, Registration, User
from facade.core.ports import IdentityProvider, UidCounter, UniqueClaims
from facade.core.users import UserDirectory

log = logging.getLogger(__name__)

#: Unique attributes the facade guards, and the field name its errors report.
GUARDED = {"phone_number": "phone", "wechat_unionid": "wechat", "wechat_openid": "wechat"}
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed
INVITE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


class Registrar:
    def __init__(
        self,
        identity: IdentityProvider,
        directory: UserDirectory,
        claims: UniqueClaims,
        uids: UidCounter,
        claim_wait_seconds: float = 10.0,
        invite_codes: Callable[[], str] = new_invite_code,
        ledger: IdentityLedger | None = None,
    ) -> None:
        self._identity = identity
        self._directory = directory
        self._claims = claims
        self._uids = uids
        self._claim_wait = claim_wait_seconds
        self._invite_codes = invite_codes
        self._ledger = ledger

    def register(self, registration: Registration) -> User:
        """Create the user with password and attributes at once; typed error on a conflict."""
        attributes = dict(registration.attributes)
        if registration.phone:
            attributes["phone_number"] = registration.phone
            attributes["phone_number_verified"] = str(registration.phone_verified).lower()
        if self._ledger is not None:
            return self._register_reserved(self._ledger, registration, attributes)
        guarded = {a: attributes[a] for a in GUARDED if attributes.get(a)}
        names = [f"{attribute}:{value}" for attribute, value in guarded.items()]
        owner = uuid.uuid4().hex
        if not self._claims.acquire(names, owner, self._claim_wait):
            raise Unavailable("redis", "registration of this identity is busy; retry")
        try:
            for attribute, value in guarded.items():
                if self._directory.find_by(attribute, value) is not None:
                    raise AlreadyExists(GUARDED[attribute])
            attributes["uid"] = str(self.next_uid())
            attributes["invite_code"] = self._invite_codes()
            return self._create(registration, attributes)
        finally:
            self._claims.release(names, owner)

    def _create(self, registration: Registration, attributes: dict[str, str]) -> User:
        generated = registration.username is None
        username = registration.username or _generated_username(registration, attributes)
        for attempt in range(3):
            new_user = NewUser(
                username=username,
                password=registration.password,
                email=registration.email,
                email_verified=registration.email_verified,
                attributes=attributes,
            )
            try:
                user_id = self._identity.create_user(new_user)
            except AlreadyExists as exc:
                # A generated username may collide (say, someone took the phone as a name).
                if not generated or exc.field != "username" or attempt == 2:
                    raise
                username = f"{_generated_username(registration, attributes)}-{secrets.token_hex(2)}"
                continue
            user = User(
                id=user_id,
                username=username.lower(),
                email=registration.email,
                email_verified=registration.email_verified,
                attributes=attributes,
            )
            self._directory.remember(user)
            return user
        raise AssertionError("unreachable")  # pragma: no cover

    def _register_reserved(
        self, ledger: IdentityLedger, registration: Registration, attributes: dict[str, str]
    ) -> User:
        """Reserve, then create: the store's constraints decide who gets a phone or WeChat id."""
        ledger.ensure_seeded()
        identifiers = {
            a: attributes[a] for a in UNIQUE_ATTRIBUTES if a != "invite_code" and attributes.get(a)
        }
        username = (registration.username or _generated_username(registration, attributes)).lower()
        record = self._reserve(ledger, identifiers, username)
        attributes["uid"] = str(record.uid)
        attributes["invite_code"] = record.invite_code or self._invite_codes()
        attributes[RESERVATION_ATTRIBUTE] = record.reservation_id
        try:
            user = self._create_reserved(ledger, registration, attributes, record)
        except (AlreadyExists, InvalidInput):
            # Keycloak refused the user outright (name, email, password policy): nothing made.
            ledger.store.release(record.reservation_id)
            raise
        except Unavailable:
            # The create may have landed although its answer did not (a timeout): look for it.
            # If Keycloak cannot say, the reservation stays until ``stale_after`` has passed
            # and the next registration of these identifiers (or the check command) settles it.
            found = _quietly(
                lambda: ledger.resolve(ledger.store.reservation(record.reservation_id) or record)
            )
            if found is None:
                raise
            user = found
        self._directory.remember(user)
        return user

    def _reserve(
        self, ledger: IdentityLedger, identifiers: dict[str, str], username: str
    ) -> IdentityRecord:
        """A reservation, waiting (up to the claim wait) for a registration of the same
        identifiers that is in flight: it ends as a user (AlreadyExists) or is undone."""
        deadline = time.monotonic() + self._claim_wait
        while True:
            try:
                return ledger.store.reserve(identifiers, username, self._invite_codes)
            except IdentityConflict as conflict:
                field = GUARDED.get(conflict.attribute, conflict.attribute)
                holder: IdentityRecord | None = conflict.holder
                if holder is not None and holder.state == "reserved" and ledger.resolve(holder):
                    raise AlreadyExists(field) from None  # its user exists: bound just now
                while holder is not None and holder.state == "reserved":
                    if ledger.is_stale(holder):
                        if ledger.recover(holder) is not None:
                            raise AlreadyExists(field) from None
                        holder = None
                    elif time.monotonic() >= deadline:
                        raise Unavailable(
                            "database", "registration of this identity is busy; retry"
                        ) from None
                    else:
                        time.sleep(0.05)
                        holder = ledger.store.reservation(holder.reservation_id)
                if holder is not None and holder.state == "active":
                    raise AlreadyExists(field) from None

    def _create_reserved(
        self,
        ledger: IdentityLedger,
        registration: Registration,
        attributes: dict[str, str],
        record: IdentityRecord,
    ) -> User:
        """One POST per name tried, never retried blindly: a 409 on the name is checked for
        being our own user (a create whose answer was lost) before another name is tried."""
        username = record.username or ""
        generated = registration.username is None
        for attempt in range(3):
            try:
                user_id = self._identity.create_user(
                    NewUser(
                        username=username,
                        password=registration.password,
                        email=registration.email,
                        email_verified=registration.email_verified,
                        attributes=attributes,
                    )
                )
            except AlreadyExists as exc:
                if exc.field == "username":
                    mine = ledger.resolve(_renamed(record, username))
                    if mine is not None:
                        return mine
                if not generated or exc.field != "username" or attempt == 2:
                    raise
                username = f"{_generated_username(registration, attributes)}-{secrets.token_hex(2)}"
                ledger.store.rename(record.reservation_id, username)
                continue
            ledger.store.activate(record.reservation_id, user_id, username)
            return User(
                id=user_id,
                username=username,
                email=registration.email,
                email_verified=registration.email_verified,
                attributes={k: v for k, v in attributes.items() if k != RESERVATION_ATTRIBUTE},
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def ensure_identifiers(self, user: User) -> User:
        """Give a user made elsewhere (the admin console, say) its uid and invite code once.

        Every bearer request passes here, so a user whose uid and invite code this process has
        already matched against the store skips the store: both never change for an identity,
        and a Keycloak attribute an operator changed no longer matches and is repaired.
        """
        if self._ledger is not None:
            if self._directory.confirmed(user):
                return user
            adopted = self._ledger.adopt(user)[1]
            self._directory.confirm(adopted)
            return adopted
        if user.attr("uid") and user.attr("invite_code"):
            return user
        owner = uuid.uuid4().hex
        name = f"identifiers:{user.id}"
        if not self._claims.acquire([name], owner, self._claim_wait):
            raise Unavailable("redis", "user is busy; retry")
        try:
            current = self._identity.get_user(user.id) or user
            missing: dict[str, str | None] = {}
            if not current.attr("uid"):
                missing["uid"] = str(self.next_uid())
            if not current.attr("invite_code"):
                missing["invite_code"] = self._invite_codes()
            if not missing:
                return current
            updated = self._identity.update_user(user.id, attributes=missing)
            self._directory.remember(updated)
            return updated
        finally:
            self._claims.release([name], owner)

    def next_uid(self) -> int:
        """Never reused; after Redis lost its counter, resume above Keycloak's highest uid."""
        if self._ledger is not None:
            # A uid of the store's sequence, burned: a reservation undone at once.
            self._ledger.ensure_seeded()
            record = self._ledger.store.reserve({}, "", self._invite_codes)
            self._ledger.store.release(record.reservation_id)
            return record.uid
        uid = self._uids.next()
        if uid is not None:
            return uid
        owner = uuid.uuid4().hex
        if not self._claims.acquire(["uid-seed"], owner, self._claim_wait):
            raise Unavailable("redis", "uid allocation is busy; retry")
        try:
            uid = self._uids.next()
            if uid is None:
                values = self._identity.all_attribute_values("uid")
                highest = max((int(v) for v in values if v.isdigit()), default=0)
                log.warning("uid counter missing in Redis; reseeded from Keycloak at %d", highest)
                self._uids.seed(highest)
                uid = self._uids.next()
        finally:
            self._claims.release(["uid-seed"], owner)
        if uid is None:
            raise Unavailable("redis", "uid counter could not be seeded")
        return uid


def _generated_username(registration: Registration, attributes: dict[str, str]) -> str:
    """A name Keycloak's own login page accepts: the phone, the email, or a WeChat handle."""
    if registration.phone:
        return registration.phone
    if registration.email:
        return registration.email
    return f"wx_{secrets.token_hex(6)}"


def _renamed(record: IdentityRecord, username: str) -> IdentityRecord:
    """The reservation as it stands after a rename (the store was told; this copy was not)."""
    return replace(record, username=username)


def _quietly(lookup: Callable[[], User | None]) -> User | None:
    """A lookup after a failure; a Keycloak that still cannot answer means "do not know"."""
    try:
        return lookup()
    except Unavailable:
        return None
