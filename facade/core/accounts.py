"""Account changes; every write drops the cached profile so all contracts see it at once.

Writes go through the ledger's :class:`ProfileWriter` (one at a time per user, keeping an
operator's concurrent write). With the identity store a phone change reserves the new phone
there before Keycloak is written, like a registration: the store's unique index decides who
gets it, and a timeout or a crash in between converges (:meth:`IdentityLedger.resolve`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from facade.core.delivery import Channel
from facade.core.errors import AlreadyExists, InvalidInput, NotFound, Unavailable
from facade.core.identities import IdentityConflict, IdentityRecord
from facade.core.identity_ledger import IdentityLedger
from facade.core.models import User
from facade.core.ports import IdentityProvider, UniqueClaims
from facade.core.profile_writes import ProfileWriter
from facade.core.registration import _quietly
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
        ledger: IdentityLedger | None = None,
    ) -> None:
        self._identity = identity
        self._directory = directory
        self._sessions = sessions
        self._claims = claims
        self._claim_wait = claim_wait_seconds
        self._ledger = ledger
        self._writer = ledger.writer if ledger is not None else ProfileWriter(identity)

    def accept_proof(self, user: User, channel: Channel) -> User:
        """``user`` holds the phone (``sms``) or email just proven by a code.

        When it was stored without proof (``account``'s ``/register``, say), the proof wins
        (contracts README): it becomes verified, a password set before the proof is removed
        and every session ends, so whoever typed someone else's phone keeps no way in. Only an
        explicit ``phone_number_verified=false`` marks an unproven phone, so users an operator
        made with a phone keep their password.
        """
        if not proof_changes(user, channel):
            return user
        if channel == "sms":
            updated = self._writer.update(user.id, attributes={"phone_number_verified": "true"})
        else:
            assert user.email is not None
            updated = self._writer.update(user.id, email=user.email)
        self._identity.remove_password(user.id)
        self._sessions.forget_legacy_password(user.id)
        self._sessions.revoke_all(user.id)
        self._identity.logout_all_sessions(user.id)
        self._directory.forget(user.id)
        return updated

    def has_password(self, user: User) -> bool:
        return self._sessions.has_password(user.id)

    def change_password(self, contract: str, user: User, old: str, new: str) -> None:
        """Checks the old password as a sign-in would (a migrated user's kept hash counts),
        without leaving that session behind."""
        self._sessions.verify_password(contract, user, old)
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
        updated = self._writer.update(user.id, username=username)
        self._directory.forget(user.id)
        return updated

    def set_phone(self, user: User, phone: str) -> User:
        """Bind or change the phone after a verified code; another user's phone is a conflict."""
        if self._ledger is not None:
            return self._set_phone_reserved(self._ledger, user, phone)
        name = f"phone_number:{phone}"
        owner = uuid.uuid4().hex
        if not self._claims.acquire([name], owner, self._claim_wait):
            raise Unavailable("redis", "phone change is busy; retry")
        try:
            holder = self._directory.find_by_phone(phone)
            if holder is not None and holder.id != user.id:
                raise AlreadyExists("phone")
            current = self._directory.get(user.id, fresh=True) or user
            updated = self._writer.update(
                user.id, attributes={"phone_number": phone, "phone_number_verified": "true"}
            )
            self._directory.reindex("phone_number", current.attr("phone_number"), phone, user.id)
            self._directory.forget(user.id)
            return updated
        finally:
            self._claims.release([name], owner)

    def update_profile(self, user: User, attributes: Mapping[str, str | None]) -> User:
        updated = self._writer.update(user.id, attributes=attributes)
        self._directory.forget(user.id)
        return updated

    def _set_phone_reserved(self, ledger: IdentityLedger, user: User, phone: str) -> User:
        """Reserve the phone for the user, write Keycloak, then move it onto the user's row.

        Keycloak refusing the write undoes the reservation. A write whose answer is lost is
        looked for; if Keycloak cannot say, the reservation stays and whoever meets it next
        settles it (moved if Keycloak has the phone on the user, else released).
        """
        holder = self._directory.find_by_phone(phone)
        if holder is not None and holder.id != user.id:
            raise AlreadyExists("phone")
        current = self._directory.get(user.id, fresh=True) or user
        record = ledger.store.by_keycloak_id(current.id)
        if record is None or record.state != "active":
            record, current = ledger.adopt(current)
        change = None if record.phone == phone else self._reserve_phone(ledger, current, phone)
        try:
            updated = self._writer.update(
                current.id, attributes={"phone_number": phone, "phone_number_verified": "true"}
            )
        except (AlreadyExists, InvalidInput, NotFound):
            if change is not None:
                ledger.store.release(change.reservation_id)
            raise
        except Unavailable:
            if change is None:
                raise
            found = _quietly(lambda: ledger.resolve(change))
            if found is None:
                raise
            updated = found
        else:
            if change is not None:
                ledger.store.transfer(change.reservation_id)
        self._directory.forget(current.id)
        return updated

    def _reserve_phone(self, ledger: IdentityLedger, user: User, phone: str) -> IdentityRecord:
        try:
            return ledger.reserve_change(user, {"phone_number": phone})
        except IdentityConflict as conflict:
            holder = conflict.holder
            if holder.state != "reserved" or ledger.resolve(holder) is not None:
                raise AlreadyExists("phone") from None
            if not ledger.is_stale(holder) or ledger.recover(holder) is not None:
                # Another registration or change of this phone is in flight (or just landed).
                raise Unavailable("database", "this phone is being bound; retry") from None
        return ledger.reserve_change(user, {"phone_number": phone})


def proof_changes(user: User, channel: Channel) -> bool:
    """Whether :meth:`Accounts.accept_proof` would change ``user``: its phone (``sms``) or
    email is stored unproven."""
    if channel == "sms":
        return user.attr("phone_number_verified") == "false"
    return bool(user.email) and not user.email_verified
