"""Operators' changes reach the facade: Keycloak's admin events on users, followed durably.

An operator creates, edits and deletes users in the admin console, which the facade never
sees through its own calls. Keycloak records each change as an admin event (the realm keeps
them with their representation); :class:`AdminEventFollower` polls them in time order and
settles the identity store against the user as Keycloak has it now, so handling an event twice
changes nothing (delivery is at least once):

* a user made elsewhere gets its uid and invite code from the store (adoption);
* a phone or WeChat id set or changed follows into the store; one another identity holds is
  reported and not bound (the store keeps its first holder);
* a deleted user's uid is retired (never handed out again), its phone and WeChat ids freed;
* an operator's edit of ``uid`` or ``invite_code`` is reverted to the store's value;
* the user's cached profile is dropped, so a disable or an edit reaches every bearer check at
  the next poll rather than when the cache would have expired;
* a user's own change to themselves (the account console: a nickname, a username, an email,
  or deleting the account) is settled and dropped the same way, from Keycloak's user events
  (only the types that change a user are stored; they carry no representation, and none is
  needed: the user is read as it is now);
* an operator's sign-out (of one session, or of all the user's) is recorded as the facade's
  own logout is, so the tokens it checks itself are refused from the next poll on.

Between polls it also settles reservations a crash or a lost answer left behind, so the store
converges without waiting for a lookup of their identifiers.

The cursor (the newest event time handled, plus the ids seen in the last few seconds) lives in
the store, so a restart resumes there. Events are read from a few seconds before the cursor,
since an event may become visible after a later one (its transaction committed later).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from facade.core.admin_events import AdminEvent, AdminEventSource
from facade.core.errors import FacadeError, InvalidInput
from facade.core.identity_ledger import IdentityLedger
from facade.core.ports import ProfileCache, Revocations

log = logging.getLogger(__name__)

#: Where the follower's cursors are kept (the store's key/values): operators' changes, and
#: users' own.
CURSOR_KEY = "admin_events.cursor"
ACCOUNT_CURSOR_KEY = "account_events.cursor"
#: How far before its cursor the follower reads again (late-committed events), in ms.
OVERLAP_MS = 5_000
#: Seconds of failing polls after which the follower reports itself stalled (as an error).
STALLED_AFTER = 60.0


@dataclass
class Cursor:
    """The newest event time handled, and the ids of events seen since ``time_ms - OVERLAP_MS``."""

    time_ms: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def passed(self, event: AdminEvent) -> None:
        self.seen[event.id] = event.time_ms
        self.time_ms = max(self.time_ms, event.time_ms)

    def dump(self) -> str:
        horizon = self.time_ms - OVERLAP_MS
        seen = {key: at for key, at in self.seen.items() if at >= horizon}
        return json.dumps({"time": self.time_ms, "seen": seen}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(int(data["time"]), {str(k): int(v) for k, v in data["seen"].items()})


class AdminEventFollower:
    def __init__(
        self,
        ledger: IdentityLedger,
        source: AdminEventSource,
        *,
        page_size: int = 100,
        profiles: ProfileCache | None = None,
        revocations: Revocations | None = None,
        revocation_ttl: int = 86400 + 300,
    ) -> None:
        self._ledger = ledger
        #: Dropped for every user an operator changed, so bearer checks read it afresh.
        self._profiles = profiles
        #: Where an operator's sign-out reaches every bearer check (Keycloak ends its own
        #: sessions; tokens the facade checks itself would otherwise live until they expire).
        self._revocations = revocations
        self._revocation_ttl = revocation_ttl
        self._source = source
        self._page_size = max(1, page_size)
        self._own: str | None = None

    @property
    def cursor(self) -> Cursor:
        """Where the next poll resumes; a store without one starts at Keycloak's oldest event
        (handling is idempotent, and ``facade identities backfill`` covers older changes)."""
        return Cursor.load(self._ledger.store.meta(CURSOR_KEY)) or Cursor()

    def start_at(self, time_ms: int) -> None:
        """Begin following at ``time_ms`` unless a cursor exists (a new deployment whose store
        was just backfilled need not replay the realm's history)."""
        for key in (CURSOR_KEY, ACCOUNT_CURSOR_KEY):
            if self._ledger.store.meta(key) is None:
                self._ledger.store.set_meta(key, Cursor(time_ms).dump())

    def poll(self) -> int:
        """Read every event after the cursors, page by page: operators' (admin events), then
        users' own changes to themselves (user events, their own cursor); returns how many
        were handled. Each cursor is saved after each page and when a handler fails, so a
        failed event is the first one read again."""
        own = self._own or self._source.own_author_id()
        self._own = own
        operators = self.cursor
        # A store without the second cursor (it came later) follows users' own changes from
        # where it follows operators'.
        users = Cursor.load(self._ledger.store.meta(ACCOUNT_CURSOR_KEY)) or Cursor(
            operators.time_ms
        )
        handled = self._follow(CURSOR_KEY, operators, self._source.user_events, own)
        return handled + self._follow(ACCOUNT_CURSOR_KEY, users, self._source.account_events, own)

    def _follow(
        self,
        key: str,
        cursor: Cursor,
        read: Callable[[int, int, int], list[AdminEvent]],
        own: str,
    ) -> int:
        """Handle the events ``read`` gives after ``cursor``, saved under ``key``."""
        since = max(0, cursor.time_ms - OVERLAP_MS)
        first = handled = 0
        try:
            while True:
                page = read(since, first, self._page_size)
                for event in page:
                    if event.id in cursor.seen:
                        continue
                    if event.author_id != own and event.user_id is not None:
                        self._handle_or_report(event)
                        if self._profiles is not None:
                            # After handling: a repair written back is part of the change.
                            self._profiles.drop(event.user_id)
                        handled += 1
                    elif event.author_id != own and self._revoke(event):
                        handled += 1
                    cursor.passed(event)
                self._ledger.store.set_meta(key, cursor.dump())
                if len(page) < self._page_size:
                    return handled
                # The next page starts at the newest event read (its own ms again: those
                # already seen are skipped), so a long backlog is not re-sorted from its start
                # for every page; only a page that all shares one ms moves on by offset.
                if cursor.time_ms > since:
                    since, first = cursor.time_ms, 0
                else:
                    first += len(page)
        finally:
            self._ledger.store.set_meta(key, cursor.dump())

    def _revoke(self, event: AdminEvent) -> bool:
        """An operator's sign-out, refused by every bearer check from now on: one session by
        its id, or every token the user was issued up to the event's second."""
        if self._revocations is None:
            return False
        if event.ended_session is not None:
            self._revocations.revoke_session(event.ended_session, self._revocation_ttl)
            log.info("operator ended session %s: its tokens are refused", event.ended_session)
            return True
        if event.signed_out_user is not None:
            not_before = -(-event.time_ms // 1000)  # the next second: iat is rounded down
            self._revocations.set_not_before(
                event.signed_out_user, not_before, self._revocation_ttl
            )
            log.info("operator signed out user %s: its tokens are refused", event.signed_out_user)
            return True
        return False

    def _handle_or_report(self, event: AdminEvent) -> None:
        """:meth:`handle`, except that a user Keycloak refuses to have written back (it holds
        a value its own user profile forbids) is reported and passed: retried on every poll,
        it would stop the follower for everyone. The operator's fix of that user is a new
        event, handled then."""
        try:
            self.handle(event)
        except InvalidInput as refused:
            log.error(
                "keycloak user %s could not be settled (keycloak refused the write: %s); "
                "fix the user in the admin console (see `facade identities check`)",
                event.user_id,
                refused,
            )

    def handle(self, event: AdminEvent) -> None:
        """Settle the store against the user as Keycloak has it now (not as the event says:
        a later event may have changed it again, and replaying must change nothing)."""
        user_id = event.user_id
        if user_id is None:
            return
        ledger = self._ledger
        user = ledger.identity.get_user(user_id)
        if user is None:
            record = ledger.store.by_keycloak_id(user_id)
            if record is not None and record.state != "retired":
                ledger.store.retire(user_id)
                log.info(
                    "keycloak user %s was deleted: uid %d retired, its phone and WeChat ids freed",
                    user_id,
                    record.uid,
                )
            return
        record, user = ledger.adopt(user)
        for attribute, holder in ledger.follow(user, record).items():
            log.error(
                "duplicate %s: an operator gave keycloak user %s (uid %d) the %s of uid %d; "
                "it is not bound to the new user (see `facade identities check`)",
                attribute,
                user_id,
                record.uid,
                attribute,
                holder,
            )

    def run(
        self,
        interval: float,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set; an unreachable Keycloak or
        database is logged and tried again at the next poll. Failing for longer than
        :data:`STALLED_AFTER` seconds is an error, repeated each such period: operators' edits
        are then not reaching the store (a warning per poll went unnoticed for hours once)."""
        failing_since: float | None = None
        reported_at = 0.0
        while not stop.is_set():
            try:
                handled = self.poll()
                if handled:
                    log.info("followed %d admin event(s) of operators", handled)
                # A new store's uid floor is found here, ahead of the first registration,
                # which would otherwise page every realm user while its client waits.
                self._ledger.ensure_seeded()
                settled = self._ledger.settle_stale()
                if settled:
                    log.info("settled %d stale reservation(s)", settled)
                failing_since = None
            except FacadeError as exc:
                now = clock()
                failing_since = now if failing_since is None else failing_since
                if now - failing_since >= STALLED_AFTER and now - reported_at >= STALLED_AFTER:
                    reported_at = now
                    log.error(
                        "admin events not followed for %.0f s: operators' edits are not "
                        "reaching the identity store (%s)",
                        now - failing_since,
                        exc,
                    )
                else:
                    log.warning("admin events not followed this time: %s", exc)
            stop.wait(interval)
