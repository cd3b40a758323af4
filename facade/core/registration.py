"""Registration: one Keycloak call per user, unique phones and WeChat ids, numeric uids.

Keycloak enforces unique usernames and emails, not attributes. Phone numbers and WeChat ids
are made unique here: a short Redis claim on each value serialises the check-then-create of
concurrent registrations, so that 30 parallel registrations of one phone create one user.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable

from facade.core.errors import AlreadyExists, Unavailable
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
    ) -> None:
        self._identity = identity
        self._directory = directory
        self._claims = claims
        self._uids = uids
        self._claim_wait = claim_wait_seconds
        self._invite_codes = invite_codes

    def register(self, registration: Registration) -> User:
        """Create the user with password and attributes at once; typed error on a conflict."""
        attributes = dict(registration.attributes)
        if registration.phone:
            attributes["phone_number"] = registration.phone
            attributes["phone_number_verified"] = str(registration.phone_verified).lower()
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

    def ensure_identifiers(self, user: User) -> User:
        """Give a user made elsewhere (the admin console, say) its uid and invite code once."""
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
