"""Account changes; every write drops the cached profile so all contracts see it at once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from facade.core.delivery import Channel
from facade.core.errors import AlreadyExists, Unavailable
from facade.core.models import User
from facade.core.ports import IdentityProvider, UniqueClaims
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory


class Accounts:
    def __init__(
        self,
        identity: IdentityProvider,
        directory: UserDirectory,
        sessions: Sessions,
        claims: UniqueClaims,
        claim_wait_seconds: float = 10.0,
    ) -> None:
        self._identity = identity
        self._directory = directory
        self._sessions = sessions
        self._claims = claims
        self._claim_wait = claim_wait_seconds

    def accept_proof(self, user: User, channel: Channel) -> User:
        """``user`` holds the phone (``sms``) or email just proven by a code.

        When it was stored without proof (``account``'s ``/register``, say), the proof wins
        (contracts README): it becomes verified, a password set before the proof is removed
        and every session ends, so whoever typed someone else's phone keeps no way in. Only an
        explicit ``phone_number_verified=false`` marks an unproven phone, so users an operator
        made with a phone keep their password.
        """
        if channel == "sms":
            if user.attr("phone_number_verified") != "false":
                return user
            updated = self._identity.update_user(
                user.id, attributes={"phone_number_verified": "true"}
            )
        else:
            if user.email_verified or not user.email:
                return user
            updated = self._identity.update_user(user.id, email=user.email)
        self._identity.remove_password(user.id)
        self._sessions.forget_legacy_password(user.id)
        self._sessions.revoke_all(user.id)
        self._identity.logout_all_sessions(user.id)
        self._directory.forget(user.id)
        return updated

    def has_password(self, user: User) -> bool:
        return self._identity.has_password(user.id)

    def change_password(self, contract: str, user: User, old: str, new: str) -> None:
        """Checks the old password with Keycloak itself, without leaving that session behind."""
        proof = self._identity.password_grant(contract, user.username, old)
        self._identity.logout(contract, proof.refresh_token)
        self._identity.set_password(user.id, new)

    def set_initial_password(self, user: User, new: str) -> None:
        if self._identity.has_password(user.id):
            raise AlreadyExists("password")
        self._identity.set_password(user.id, new)

    def reset_password(self, user: User, new: str) -> None:
        """After a verified code: new password, and every earlier session refused."""
        self._identity.set_password(user.id, new)
        self._sessions.forget_legacy_password(user.id)
        self._sessions.revoke_all(user.id)
        self._identity.logout_all_sessions(user.id)
        self._directory.forget(user.id)

    def change_username(self, user: User, username: str) -> User:
        updated = self._identity.update_user(user.id, username=username)
        self._directory.forget(user.id)
        return updated

    def set_phone(self, user: User, phone: str) -> User:
        """Bind or change the phone after a verified code; another user's phone is a conflict."""
        name = f"phone_number:{phone}"
        owner = uuid.uuid4().hex
        if not self._claims.acquire([name], owner, self._claim_wait):
            raise Unavailable("redis", "phone change is busy; retry")
        try:
            holder = self._directory.find_by_phone(phone)
            if holder is not None and holder.id != user.id:
                raise AlreadyExists("phone")
            current = self._directory.get(user.id, fresh=True) or user
            updated = self._identity.update_user(
                user.id, attributes={"phone_number": phone, "phone_number_verified": "true"}
            )
            self._directory.reindex("phone_number", current.attr("phone_number"), phone, user.id)
            self._directory.forget(user.id)
            return updated
        finally:
            self._claims.release([name], owner)

    def update_profile(self, user: User, attributes: Mapping[str, str | None]) -> User:
        updated = self._identity.update_user(user.id, attributes=attributes)
        self._directory.forget(user.id)
        return updated
