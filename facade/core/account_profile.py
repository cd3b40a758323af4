"""The ``account`` contract's own account calls: registration without proof, the profile it
shows, and completing a phone user's registration.

``account``'s ``/register`` takes a phone without a code, so that phone is stored unverified
until someone proves it (then the proof wins: :meth:`Accounts.accept_proof`). Its profile says
whether phone and email are verified and whether a password is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from facade.core.errors import AlreadyExists, InvalidInput
from facade.core.identity_ledger import IdentityLedger
from facade.core.models import Registration, User
from facade.core.ports import IdentityProvider
from facade.core.profile_writes import ProfileWriter
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory

#: The rule name (InvalidInput ``field``) when a caller names a phone that is not its own.
OWN_PHONE = "own_phone"


def phone_verified(user: User) -> bool:
    """A phone counts as proven unless it was stored explicitly unverified (accept_proof)."""
    return bool(user.attr("phone_number")) and user.attr("phone_number_verified") != "false"


@dataclass(frozen=True)
class Profile:
    """A user as ``account`` shows it, with the one fact Keycloak keeps apart: a password."""

    user: User
    has_password: bool

    @property
    def phone_verified(self) -> bool:
        return phone_verified(self.user)


class AccountProfiles:
    def __init__(
        self,
        identity: IdentityProvider,
        directory: UserDirectory,
        registrar: Registrar,
        sessions: Sessions,
        ledger: IdentityLedger | None = None,
    ) -> None:
        self._identity = identity
        self._writer = ledger.writer if ledger is not None else ProfileWriter(identity)
        self._directory = directory
        self._registrar = registrar
        self._sessions = sessions

    def register_unproven(
        self,
        contract: str,
        username: str,
        phone: str,
        password: str,
        *,
        client_ip: str | None = None,
    ) -> Profile:
        """A user with a password and a phone nobody proved (stored ``phone_number_verified``
        false); a username or phone that exists is AlreadyExists. Counts as a sign-in attempt."""
        self._sessions.limit_attempt(contract, client_ip)
        user = self._registrar.register(
            Registration(username=username, phone=phone, password=password, phone_verified=False)
        )
        return Profile(user, has_password=True)

    def profile(self, user: User) -> Profile:
        return Profile(user, self._sessions.has_password(user.id))

    def username_exists(self, username: str) -> bool:
        """Asked of Keycloak, which keeps usernames lower-cased: ``Alice`` is ``alice``."""
        return self._identity.find_by_username(username) is not None

    def complete_registration(
        self, user: User, *, username: str, phone: str, email: str | None = None
    ) -> Profile:
        """Name the caller and give it an email, written unverified, in one Keycloak update.

        ``phone`` must be the caller's own: another user's is AlreadyExists, any other
        InvalidInput(``own_phone``) (a phone changes only with proof). A username or email that
        another user holds is AlreadyExists from Keycloak, and then nothing was written.
        """
        current = self._directory.get(user.id, fresh=True) or user
        if phone != current.attr("phone_number"):
            holder = self._directory.find_by_phone(phone)
            if holder is not None and holder.id != current.id:
                raise AlreadyExists("phone")
            reason = "must be the phone number of the signed-in user"
            raise InvalidInput(
                OWN_PHONE, reason, ({"loc": ["phone"], "msg": reason, "type": OWN_PHONE},)
            )
        # Keycloak stores usernames lower-cased (and its update answers what it was sent).
        new_username = username.lower() if username.lower() != current.username else None
        new_email = email if email is not None and email != current.email else None
        if new_username is None and new_email is None:
            return self.profile(current)
        updated = self._writer.update(
            current.id, username=new_username, email=new_email, email_verified=False
        )
        self._directory.forget(current.id)
        return self.profile(updated)
