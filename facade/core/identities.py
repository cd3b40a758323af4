"""Durable identity records: the integer uid and the unique identifiers the facade guarantees.

Keycloak stays the source of truth for people, credentials, sessions and profiles, but it
cannot make an attribute unique and searches attributes without an index. So each identity
the facade hands out (uid, phone, WeChat openid and unionid, invite code) lives in a
relational store where uniqueness is a constraint and the uid comes from a sequence that never
goes back. A row is ``reserved`` before its Keycloak user exists, ``active`` once it is bound to
one, and ``retired`` when the user is gone or the reservation was undone: a retired row keeps
its uid forever (it is the primary key and rows are never deleted), so no uid is reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from facade.core.models import User

State = Literal["reserved", "active", "retired"]

#: Keycloak attribute -> the store's column, for every identifier the store keeps unique.
UNIQUE_ATTRIBUTES: dict[str, str] = {
    "phone_number": "phone",
    "wechat_openid": "wechat_openid",
    "wechat_unionid": "wechat_unionid",
    "invite_code": "invite_code",
}
#: Attributes a lookup may use: the unique ones and the uid itself.
LOOKUP_ATTRIBUTES: tuple[str, ...] = ("uid", *UNIQUE_ATTRIBUTES)
#: The Keycloak attribute that carries a user's reservation (kept only where the realm's user
#: profile declares it; the uid attribute, allocated with the reservation, identifies it too).
RESERVATION_ATTRIBUTE = "reservation_id"
#: The Keycloak attribute mirroring a migrated user's legacy ids, ``customer:500,member:7``
#: (admin-only in the user profile). The store's ``legacy_ids`` table is the authority.
LEGACY_IDS_ATTRIBUTE = "legacy_ids"


def parse_legacy_ids(value: str | None) -> dict[str, int]:
    """``customer:500,member:7`` -> ``{"customer": 500, "member": 7}`` (bad entries ignored)."""
    found: dict[str, int] = {}
    for entry in (value or "").split(","):
        contract, _, legacy_id = entry.strip().partition(":")
        if contract and legacy_id.isdigit():
            found[contract] = int(legacy_id)
    return found


def format_legacy_ids(ids: Mapping[str, int]) -> str:
    return ",".join(f"{contract}:{ids[contract]}" for contract in sorted(ids))


def public_id(user: User, contract: str) -> int:
    """The integer id a contract shows for a user: the id the contract's own app gave a
    migrated user (its business data points at it), else the shared uid."""
    legacy = parse_legacy_ids(user.attr(LEGACY_IDS_ATTRIBUTE)).get(contract)
    if legacy is not None:
        return legacy
    return int(user.attr("uid") or 0)


@dataclass(frozen=True)
class IdentityRecord:
    """One row of the store."""

    uid: int
    reservation_id: str
    state: State
    keycloak_id: str | None = None
    #: The username the Keycloak user is (to be) created with: how a reservation is found again.
    username: str | None = None
    phone: str | None = None
    wechat_openid: str | None = None
    wechat_unionid: str | None = None
    invite_code: str | None = None
    #: Seconds since the epoch when the row was reserved (stale reservations are recovered).
    reserved_at: float = 0.0
    #: For a reserved row holding a changed identifier: the Keycloak user it moves to.
    change_of: str | None = None

    def value(self, attribute: str) -> str | None:
        """The value this row holds for a Keycloak attribute name (``uid`` included)."""
        if attribute == "uid":
            return str(self.uid)
        column = UNIQUE_ATTRIBUTES.get(attribute)
        return getattr(self, column) if column else None

    def identifiers(self) -> dict[str, str]:
        """The Keycloak attributes this row guarantees, as the user should carry them."""
        found = {"uid": str(self.uid)}
        for attribute in UNIQUE_ATTRIBUTES:
            value = self.value(attribute)
            if value:
                found[attribute] = value
        return found


@dataclass(frozen=True)
class LegacyEntry:
    """A legacy id of one contract bound to an identity; ``pending`` until Keycloak carries it."""

    contract: str
    legacy_id: int
    uid: int
    state: Literal["pending", "done"]
    identity: IdentityRecord


class IdentityConflict(Exception):
    """A unique identifier is held by another row (``attribute`` is the Keycloak name)."""

    def __init__(self, attribute: str, holder: IdentityRecord) -> None:
        super().__init__(f"{attribute} is held by uid {holder.uid} ({holder.state})")
        self.attribute = attribute
        self.holder = holder


@dataclass(frozen=True)
class RedisState:
    """What the store remembers of Redis, so that a Redis that lost data is noticed even by a
    process that starts after the loss (see :mod:`facade.core.generations`)."""

    generation: str | None = None
    epoch: int = 0
    lost_at: float | None = None


class IdentityStore(Protocol):
    """The durable store of identity records; every method is one short transaction."""

    def reserve(
        self,
        identifiers: Mapping[str, str],
        username: str,
        invite_codes: Callable[[], str],
        *,
        change_of: str | None = None,
    ) -> IdentityRecord:
        """Insert a ``reserved`` row with a new uid, the identifiers and a fresh invite code
        (``change_of``: the row only holds identifiers moving to that existing user).

        Raises IdentityConflict when another row (reserved or active) holds one of them.
        """
        ...

    def transfer(self, reservation_id: str) -> IdentityRecord | None:
        """Move a change reservation's identifiers to its user (the reservation retires)."""
        ...

    def user_lock(self, keycloak_id: str) -> AbstractContextManager[None]:
        """Held while the facade writes one Keycloak user: its writes to a user take turns."""
        ...

    def activate(self, reservation_id: str, keycloak_id: str, username: str) -> IdentityRecord:
        """Bind a reservation to its Keycloak user (idempotent for the same user)."""
        ...

    def release(self, reservation_id: str) -> None:
        """Undo a reservation whose user was never created: retired, identifiers freed."""
        ...

    def rename(self, reservation_id: str, username: str) -> None:
        """Record the username a reservation's user is about to be created with."""
        ...

    def reservation(self, reservation_id: str) -> IdentityRecord | None: ...

    def find(self, attribute: str, value: str) -> IdentityRecord | None:
        """The reserved or active row holding ``value`` (one indexed query)."""
        ...

    def by_keycloak_id(self, keycloak_id: str) -> IdentityRecord | None: ...

    def adopt(
        self,
        keycloak_id: str,
        username: str,
        identifiers: Mapping[str, str],
        invite_codes: Callable[[], str],
    ) -> tuple[IdentityRecord, list[str]]:
        """An active row for a user made elsewhere (console, an older facade), or its row.

        Keeps the user's own ``uid`` when no other row has it, else allocates one; an
        identifier another row holds is left out and named in the returned list.
        """
        ...

    def set_identifier(self, keycloak_id: str, attribute: str, value: str | None) -> None:
        """Change one identifier of an active row; IdentityConflict if another row holds it."""
        ...

    def retire(self, keycloak_id: str) -> None:
        """The user is gone: its row keeps the uid, frees its identifiers."""
        ...

    def raise_uid_floor(self, at_least: int) -> None:
        """New uids start above ``at_least`` (imported ids); never lowers the sequence."""
        ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def redis_state(self) -> RedisState: ...

    def record_redis_state(
        self, generation: str, epoch: int, lost_at: float | None = None
    ) -> RedisState:
        """Remember Redis's generation, raise the epoch, and move ``lost_at`` forward."""
        ...

    def records(self, batch: int = 1000) -> Iterator[IdentityRecord]:
        """Every row, in uid order (for the consistency check)."""
        ...

    def stale_reservations(self, before: float, limit: int = 100) -> list[IdentityRecord]:
        """Reservations made before ``before`` and still neither active nor retired, oldest
        first (one indexed range, however many rows the store holds)."""
        ...

    def count(self) -> int: ...
