"""The facade's writes to a Keycloak user, so that none silently drops a concurrent write.

Keycloak's admin API has no version to compare on a user update, and a PUT replaces every
attribute, so the gateway reads the user fresh, changes only the fields it was asked to and
writes it back. Two writes could still overwrite each other in between:

* the facade's own, from several threads and processes: each user's writes take turns on a
  durable lock in the identity store (:meth:`IdentityStore.user_lock`);
* an operator's save (admin console or API) landing between the facade's read and write (or
  just after it, with a representation read earlier): the admin events on that user after the
  write started show it, and the operator's values are applied again beneath the facade's own
  change, until no operator write intervenes (a few tries).

The store decides ``uid`` and ``invite_code``, so an operator's values of those are not applied
again (the follower reverts them). Without an event source (in-memory tests) a write is a plain
update.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from facade.core.admin_events import AdminEvent, AdminEventSource
from facade.core.errors import Unavailable
from facade.core.models import User
from facade.core.ports import IdentityProvider

log = logging.getLogger(__name__)

#: Attributes the store decides (never taken from an operator's representation).
STORE_DECIDES = ("uid", "invite_code", "reservation_id")
#: Times an operator's intervening write is applied again before the write gives up trying.
TRIES = 3
#: Events of one user read per check (far more than one write's window can hold).
WINDOW = 100


class UserLocks(Protocol):
    def user_lock(self, keycloak_id: str) -> contextlib.AbstractContextManager[None]: ...


class ProfileWriter:
    def __init__(
        self,
        identity: IdentityProvider,
        locks: UserLocks | None = None,
        events: AdminEventSource | None = None,
    ) -> None:
        self._identity = identity
        self._locks = locks
        self._events = events

    def update(
        self,
        user_id: str,
        *,
        username: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, str | None] | None = None,
        enabled: bool | None = None,
        email_verified: bool = True,
    ) -> User:
        """Change these fields of the user (as ``IdentityProvider.update_user``), keeping
        whatever an operator wrote meanwhile."""
        ours: dict[str, Any] = {
            "username": username,
            "email": email,
            "attributes": dict(attributes or {}),
            "enabled": enabled,
            "email_verified": email_verified,
        }
        if self._events is None:
            return self._write(user_id, ours)
        lock = self._locks.user_lock(user_id) if self._locks else contextlib.nullcontext()
        with lock:
            return self._guarded(self._events, user_id, ours)

    def _guarded(self, events: AdminEventSource, user_id: str, ours: dict[str, Any]) -> User:
        try:
            own = events.own_author_id()
            marker = events.latest_user_event(user_id)
        except Unavailable as exc:
            # A realm without ``view-events`` for the service account (``facade realm apply``
            # not run yet): the write still happens, serialised, unchecked.
            log.warning("admin events unreadable (%s); profile write not checked", exc)
            return self._write(user_id, ours)
        since = marker.time_ms if marker else 0
        seen = {marker.id} if marker else set()
        updated = self._write(user_id, ours)
        for _ in range(TRIES):
            later = events.user_events(since, 0, WINDOW, user_id=user_id)
            seen_now = {event.id for event in later}
            theirs = [
                event
                for event in later
                if event.id not in seen
                and event.author_id != own
                and event.operation == "UPDATE"
                and event.user_id == user_id
                and event.representation is not None
            ]
            seen |= seen_now
            if later:
                since = max(event.time_ms for event in later)
            if not theirs:
                return updated
            log.warning(
                "an operator wrote keycloak user %s while the facade did; applying both",
                user_id,
            )
            updated = self._write(user_id, _beneath(theirs, ours))
        log.error("keycloak user %s kept changing during a facade write; left as is", user_id)
        return updated

    def _write(self, user_id: str, change: Mapping[str, Any]) -> User:
        return self._identity.update_user(
            user_id,
            username=change["username"],
            email=change["email"],
            attributes=change["attributes"],
            enabled=change["enabled"],
            email_verified=change["email_verified"],
        )


def _beneath(theirs: list[AdminEvent], ours: Mapping[str, Any]) -> dict[str, Any]:
    """The operators' writes (in order) with the facade's own change on top."""
    change: dict[str, Any] = {
        "username": None,
        "email": None,
        "attributes": {},
        "enabled": None,
        "email_verified": True,
    }
    for event in theirs:
        rep = event.representation or {}
        if isinstance(rep.get("username"), str):
            change["username"] = rep["username"]
        if isinstance(rep.get("email"), str):
            change["email"] = rep["email"]
            change["email_verified"] = bool(rep.get("emailVerified", False))
        if isinstance(rep.get("enabled"), bool):
            change["enabled"] = rep["enabled"]
        for key, values in (rep.get("attributes") or {}).items():
            if key in STORE_DECIDES or not isinstance(values, list):
                continue
            change["attributes"][key] = str(values[0]) if values else None
    for key in ("username", "email", "enabled"):
        if ours[key] is not None:
            change[key] = ours[key]
    if ours["email"] is not None:
        change["email_verified"] = ours["email_verified"]
    change["attributes"].update(ours["attributes"])
    return change
