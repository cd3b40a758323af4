"""Keeping the identity store and Keycloak in step: reservations, adoption, uid mirroring.

Registration writes the store first (a reservation) and Keycloak second; this module is what
turns any state in between into exactly one user. A reservation's Keycloak user is recognised
by the username the reservation recorded and by the uid allocated with it (plus the
``reservation_id`` attribute where the realm's user profile declares it), so a create that
answered too late, was retried, or whose process died converges on the user it made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from facade.core.errors import NotFound
from facade.core.identities import (
    RESERVATION_ATTRIBUTE,
    UNIQUE_ATTRIBUTES,
    IdentityConflict,
    IdentityRecord,
    IdentityStore,
)
from facade.core.models import User
from facade.core.ports import IdentityProvider
from facade.core.profile_writes import ProfileWriter

log = logging.getLogger(__name__)

#: Set once the uid sequence stands above every uid Keycloak's users already carry.
SEEDED_KEY = "uid.seeded"
#: Set by ``facade identities backfill`` when every realm user has a row: from then on a
#: lookup the store cannot answer has no answer (no fallback search in Keycloak).
COMPLETE_KEY = "backfill.complete"
#: Identifiers the facade assigns itself and mirrors onto the Keycloak user.
MIRRORED = ("uid", "invite_code")


class IdentityLedger:
    def __init__(
        self,
        store: IdentityStore,
        identity: IdentityProvider,
        invite_codes: Callable[[], str],
        *,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.time,
        writer: ProfileWriter | None = None,
    ) -> None:
        self.store = store
        self._identity = identity
        self._writer = writer or ProfileWriter(identity)
        self._invite_codes = invite_codes
        self._stale_after = stale_after
        self._clock = clock
        self._seeded = False
        self._complete = False
        self._seed_lock = threading.Lock()

    @property
    def identity(self) -> IdentityProvider:
        return self._identity

    # --- uids ----------------------------------------------------------------------------------

    def ensure_seeded(self) -> None:
        """Once per store: new uids start above every uid Keycloak's users carry today (users
        made by an older facade, or imported with the ids their app gave them)."""
        if self._seeded:
            return
        with self._seed_lock:
            if self._seeded or self.store.meta(SEEDED_KEY):
                self._seeded = True
                return
            values = self._identity.all_attribute_values("uid")
            highest = max((int(v) for v in values if v.isdigit()), default=0)
            self.store.raise_uid_floor(highest)
            self.store.set_meta(SEEDED_KEY, str(highest))
            log.info("identity store: uids start above %d, the highest in Keycloak", highest)
            self._seeded = True

    def complete(self) -> bool:
        """Whether the store holds every realm user (then a store miss is a definite miss)."""
        if not self._complete:
            self._complete = self.store.meta(COMPLETE_KEY) == "1"
        return self._complete

    # --- reservations --------------------------------------------------------------------------

    def is_stale(self, record: IdentityRecord) -> bool:
        """A reservation older than any create call can take: its owner is gone."""
        return self._clock() - record.reserved_at > self._stale_after

    def resolve(self, record: IdentityRecord) -> User | None:
        """The Keycloak user made for a reservation, bound to it now; None if there is none."""
        if record.state == "active" and record.keycloak_id:
            return self._identity.get_user(record.keycloak_id)
        if record.state == "reserved" and record.change_of:
            return self._settle_change(record)
        if record.state != "reserved" or not record.username:
            return None
        user = self._identity.find_by_username(record.username)
        if user is None or not is_made_for(user, record):
            return None
        self.store.activate(record.reservation_id, user.id, user.username)
        log.warning("reservation of uid %d converged on keycloak user %s", record.uid, user.id)
        return user

    def _settle_change(self, record: IdentityRecord) -> User | None:
        """An identifier change in flight: moved to its user if Keycloak has it there."""
        user = self._identity.get_user(record.change_of or "")
        if user is None or any(
            user.attr(attribute) != value
            for attribute, value in record.identifiers().items()
            if attribute not in MIRRORED
        ):
            return None
        self.store.transfer(record.reservation_id)
        log.warning("identifier change of keycloak user %s converged", user.id)
        return user

    @property
    def writer(self) -> ProfileWriter:
        """How the facade writes users: serialised per user, keeping operators' writes."""
        return self._writer

    def reserve_change(self, user: User, identifiers: Mapping[str, str]) -> IdentityRecord:
        """Hold new identifiers for an existing user before Keycloak is written (the old
        ones stay bound until :meth:`IdentityStore.transfer`); IdentityConflict if taken."""
        return self.store.reserve(identifiers, user.username, self._invite_codes, change_of=user.id)

    def recover(self, record: IdentityRecord) -> User | None:
        """A stale reservation: bind it to its user if one was made, else undo it."""
        user = self.resolve(record)
        if user is None:
            self.store.release(record.reservation_id)
            log.warning("released stale reservation of uid %d (no user was made)", record.uid)
        return user

    def settle_stale(self, limit: int = 100) -> int:
        """Settle reservations whose owner is gone (a crash, or an answer lost to a timeout)
        without waiting for someone to look their identifiers up; returns how many."""
        stale = self.store.stale_reservations(self._clock() - self._stale_after, limit)
        for record in stale:
            self.recover(record)
        return len(stale)

    # --- users made elsewhere ------------------------------------------------------------------

    def adopt(self, user: User) -> tuple[IdentityRecord, User]:
        """The user's row (made now if the user came from the console or an older facade), and
        the user with the store's uid and invite code mirrored onto it.

        The store decides: an operator's stale save that dropped or changed the mirrored uid
        is repaired with the same uid, so the id a client sees never changes.
        """
        record = self.store.by_keycloak_id(user.id)
        if record is None or record.state != "active":
            self.ensure_seeded()
            identifiers = {a: v for a in (*UNIQUE_ATTRIBUTES, "uid") if (v := user.attr(a))}
            record, conflicts = self.store.adopt(
                user.id, user.username, identifiers, self._invite_codes
            )
            if conflicts:
                log.warning(
                    "keycloak user %s shares %s with another identity; the store keeps the "
                    "first holder (see `facade identities check`)",
                    user.id,
                    ", ".join(conflicts),
                )
        missing: dict[str, str | None] = {
            attribute: value
            for attribute in MIRRORED
            if (value := record.value(attribute)) and user.attr(attribute) != value
        }
        for attribute in missing:
            if user.attr(attribute):
                # Keycloak 26.5 cannot keep these read-only for admins while the service
                # account writes them: an operator's edit is undone here.
                log.warning(
                    "keycloak user %s had %s %r; restored the store's %r",
                    user.id,
                    attribute,
                    user.attr(attribute),
                    missing[attribute],
                )
        if missing:
            try:
                user = self._writer.update(user.id, attributes=missing)
            except NotFound:
                self.store.retire(user.id)
                raise
        return record, user

    def follow(self, user: User, record: IdentityRecord) -> dict[str, int]:
        """Keycloak says the user's identifiers changed (an operator's edit): the store follows
        where no other identity holds the new value. Returns the identifiers another identity
        holds, with its uid (reported, not bound)."""
        refused: dict[str, int] = {}
        for attribute in UNIQUE_ATTRIBUTES:
            if attribute == "invite_code":
                continue
            value = user.attr(attribute) or None
            if value == record.value(attribute):
                continue
            try:
                self.store.set_identifier(user.id, attribute, value)
            except IdentityConflict as conflict:
                holder = conflict.holder
                if holder.state == "reserved" and holder.change_of == user.id:
                    self.store.transfer(holder.reservation_id)  # the user's own change landed
                    continue
                log.warning(
                    "keycloak user %s now has %s of uid %d; the store keeps it there",
                    user.id,
                    attribute,
                    holder.uid,
                )
                refused[attribute] = holder.uid
        return refused


def is_made_for(user: User, record: IdentityRecord) -> bool:
    """Whether a Keycloak user is the one a reservation was made for."""
    marker = user.attr(RESERVATION_ATTRIBUTE)
    if marker:
        return marker == record.reservation_id
    return user.attr("uid") == str(record.uid)
