"""Plan, then run, the import of one app's export into the realm.

The plan decides every row from what exists now (the identity store and Keycloak) and from the
rows before it in the file: ``create``, ``merge`` into the person who already holds the row's
verified phone or email, ``unchanged`` (imported by an earlier run), or ``reject`` with the
reason. The dry run prints the plan; the real run carries out the same plan, so the two agree.

The run is idempotent and resumable. A new user is reserved in the identity store together with
its legacy id (one transaction per batch; uniqueness stays the store's constraints), then created
in Keycloak in bulk with the reservation's id as the Keycloak id, then marked done. A crash in
between leaves ``pending`` legacy ids that the next run completes: Keycloak skips users it has
and names their id, so a user the crashed run made is recognised as ours.

Where the time goes: Keycloak's partial import costs a few milliseconds of its CPU per user,
and more per user as a call grows (250 users a call cost twice what 50 do), so batches are
small and two are in flight while the next one is reserved. The plan asks Keycloak only what
the store and a scan cannot answer, a few look-ups at a time.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from facade.adapters.identity_store import ImportedIdentity, SqlIdentityStore
from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.keycloak_import import Existing, KeycloakImportAdmin
from facade.core.identities import (
    LEGACY_IDS_ATTRIBUTE,
    RESERVATION_ATTRIBUTE,
    IdentityRecord,
    LegacyEntry,
    format_legacy_ids,
    parse_legacy_ids,
)
from facade.core.identity_ledger import IdentityLedger
from facade.migration.hashes import Password, convert
from facade.migration.realm import LOOKUP_THREADS, LiveRealm, Lookups, ScannedRealm
from facade.migration.rows import BadRow, ExportRow, RowError

log = logging.getLogger(__name__)

Action = Literal["create", "merge", "unchanged", "reject"]
ACTIONS: tuple[Action, ...] = ("create", "merge", "unchanged", "reject")
#: Users per partial-import call (measured: 25-100 cost the least per user).
BATCH = 50
#: Partial imports in flight at once (the next batch is reserved meanwhile).
IMPORTS_IN_FLIGHT = 2
#: Merges (a read and a write of one user each) in flight at once.
MERGES_IN_FLIGHT = 4
#: Scan the whole realm once when it has at most this many users per row to look up.
SCAN_RATIO = 10


@dataclass
class Step:
    """What happens to one row (``note`` says what a create or merge leaves out)."""

    line: int
    legacy_id: int | None
    action: Action
    reason: str = ""
    row: ExportRow | None = None
    raw: Any = None
    username: str | None = None
    password: Password | None = None
    target: Existing | None = None
    target_has_password: bool = False
    entry: LegacyEntry | None = None
    #: Whether the merge target's own password decides if the row's is imported.
    check_password: bool = False

    def report(self) -> dict[str, Any]:
        found: dict[str, Any] = {"line": self.line, "legacy_id": self.legacy_id}
        found["action"] = self.action
        if self.reason:
            found["reason"] = self.reason
        if self.target is not None:
            found["user_id"] = self.target.id
        return found


@dataclass
class Plan:
    contract: str
    steps: list[Step] = field(default_factory=list)
    uid_floor: int = 0

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        for step in self.steps:
            counts[step.action] += 1
        return counts


#: A batch on its way: its steps, their reservations, and Keycloak's answer to come.
Batch = tuple[list[Step], dict[int, IdentityRecord], Future[dict[str, tuple[str, str]]] | None]


class Importer:
    def __init__(
        self,
        contract: str,
        ledger: IdentityLedger,
        store: SqlIdentityStore,
        gateway: KeycloakGateway,
        admin: KeycloakImportAdmin,
        realm: str,
        invite_codes: Callable[[], str],
        *,
        hash_scheme: str | None = None,
        uid_floor: int = 0,
        batch: int = BATCH,
    ) -> None:
        self.contract = contract
        self._ledger = ledger
        self._store = store
        self._gateway = gateway
        self._admin = admin
        self._realm = realm
        self._default_role = f"default-roles-{realm}"
        self._invite_codes = invite_codes
        self._hash_scheme = hash_scheme
        self._uid_floor = uid_floor
        self._batch = batch

    # --- the plan ----------------------------------------------------------------------------

    def plan(self, rows: Iterable[ExportRow | BadRow]) -> Plan:
        plan = Plan(self.contract)
        good: list[Step] = []
        first_line: dict[int, int] = {}
        for row in rows:
            if isinstance(row, BadRow):
                plan.steps.append(_reject(row.line, None, row.reason, row.raw))
                continue
            step = Step(row.line, row.legacy_id, "create", row=row, raw=row.raw)
            plan.steps.append(step)
            if row.legacy_id in first_line:
                _set_reject(
                    step, f"duplicate legacy_id (first on line {first_line[row.legacy_id]})"
                )
                continue
            first_line[row.legacy_id] = row.line
            good.append(step)
        entries = self._store.legacy_entries(self.contract, [s.legacy_id or 0 for s in good])
        fresh: list[Step] = []
        for step in good:
            entry = entries.get(step.legacy_id or 0)
            if entry is not None and entry.identity.state != "retired":
                step.entry = entry
                if entry.state == "done":
                    step.action = "unchanged"
                    continue
            if self._password(step):
                fresh.append(step)
        new = [s for s in fresh if s.entry is None]
        lookups = self._lookups(len(new))
        in_use = self._store.uids_in_use([s.legacy_id or 0 for s in new])
        phones = [s.row.phone for s in new if s.row is not None and s.row.phone]
        holders = self._store.find_many("phone_number", phones)
        self._prefetch(lookups, new, fresh, holders)
        seen: dict[str, int] = {}
        for step in fresh:
            if step.entry is None:
                self._decide(step, lookups, in_use, seen, holders)
            else:
                self._resume(step, lookups)
        self._check_passwords([s for s in fresh if s.check_password])
        wanted = [s.legacy_id or 0 for s in plan.steps if s.action in ("create", "merge")]
        plan.uid_floor = max([self._uid_floor, *wanted])
        return plan

    def _password(self, step: Step) -> bool:
        row = step.row
        assert row is not None
        if row.password_hash:
            try:
                scheme = row.hash_scheme or self._hash_scheme
                step.password = convert(row.password_hash, scheme, row.password_salt)
            except RowError as exc:
                _set_reject(step, str(exc))
                return False
        return True

    def _lookups(self, pending: int) -> Lookups:
        if pending and self._admin.count() <= SCAN_RATIO * pending:
            return ScannedRealm(self._admin.scan())
        return LiveRealm(self._admin, self._ledger, self._gateway)

    def _prefetch(
        self,
        lookups: Lookups,
        new: Sequence[Step],
        fresh: Sequence[Step],
        holders: dict[str, IdentityRecord],
    ) -> None:
        """Ask Keycloak, a few at a time, what the decisions will read (a scan has it)."""
        rows = [s.row for s in new if s.row is not None]
        usernames = [
            row.username or row.phone or row.email or f"{self.contract}-{row.legacy_id}"
            for row in rows
        ]
        ids = [r.keycloak_id for r in holders.values() if r.keycloak_id]
        ids += [s.entry.identity.keycloak_id or "" for s in fresh if s.entry is not None]
        lookups.prefetch(
            usernames=usernames,
            emails=[row.email for row in rows if row.email],
            phones=[row.phone for row in rows if row.phone and row.phone not in holders],
            ids=[i for i in ids if i],
        )

    def _check_passwords(self, steps: Sequence[Step]) -> None:
        """A merge target with a password of its own keeps it (asked a few at a time)."""
        steps = [s for s in steps if s.action == "merge" and s.target is not None]
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            found = list(pool.map(self._admin.has_password, [_target_id(s) for s in steps]))
        for step, has_password in zip(steps, found, strict=True):
            step.target_has_password = has_password
            if has_password:
                step.password = None
                if step.entry is None:
                    note = "password not imported: the user has one"
                    step.reason = "; ".join(filter(None, [step.reason, note]))

    def _phone_holder(
        self, phone: str, lookups: Lookups, holders: dict[str, IdentityRecord]
    ) -> Existing | str | None:
        record = holders.get(phone)
        if record is not None and record.state == "reserved":
            return "phone is being registered right now; run the import again"
        if record is not None and record.keycloak_id:
            return lookups.get(record.keycloak_id)
        return lookups.by_phone(phone)

    def _decide(
        self,
        step: Step,
        lookups: Lookups,
        in_use: dict[int, IdentityRecord],
        seen: dict[str, int],
        holders: dict[str, IdentityRecord],
    ) -> None:
        row = step.row
        assert row is not None
        keys = [("phone", row.phone), ("email", row.email), ("username", row.username)]
        for name, value in keys:
            if value and f"{name}:{value}" in seen:
                earlier = seen[f"{name}:{value}"]
                _set_reject(step, f"{name} {value} is also on legacy_id {earlier} of this export")
                return
        by_phone = self._phone_holder(row.phone, lookups, holders) if row.phone else None
        if isinstance(by_phone, str):
            _set_reject(step, by_phone)
            return
        by_email = lookups.by_email(row.email) if row.email else None
        if by_phone and by_email and by_phone.id != by_email.id:
            _set_reject(
                step,
                f"phone belongs to user {by_phone.username}, email to user {by_email.username}",
            )
            return
        target = by_phone or by_email
        if target is not None and f"target:{target.id}" in seen:
            earlier = seen[f"target:{target.id}"]
            _set_reject(
                step, f"user {target.username} also takes legacy_id {earlier} of this export"
            )
            return
        if target is not None:
            self._decide_merge(step, target, by_phone is not None, by_email is not None, lookups)
        else:
            self._decide_create(step, lookups, seen)
        if step.action == "reject":
            return
        holder = in_use.get(row.legacy_id)
        if holder is not None and (target is None or holder.keycloak_id != target.id):
            _set_reject(
                step,
                f"legacy_id {row.legacy_id} is already the id of another user (uid "
                f"{holder.uid}); ids must stay unique per contract: import before users "
                "register, or raise --uid-floor above every app's ids before the first import",
            )
            return
        for name, value in keys:
            if value:
                seen[f"{name}:{value}"] = row.legacy_id
        if step.username:
            seen[f"username:{step.username}"] = row.legacy_id
        if target is not None:
            seen[f"target:{target.id}"] = row.legacy_id

    def _decide_merge(
        self, step: Step, target: Existing, by_phone: bool, by_email: bool, lookups: Lookups
    ) -> None:
        row = step.row
        assert row is not None
        verified = (by_phone and row.phone_verified and target.phone_verified) or (
            by_email and row.email_verified and target.email_verified
        )
        if not verified:
            what = "phone" if by_phone else "email"
            _set_reject(
                step,
                f"{what} matches user {target.username} but is not verified on both sides; "
                "merge by hand or import with a different phone/email",
            )
            return
        if row.email and target.email and row.email != target.email:
            _set_reject(step, f"same phone as user {target.username} but a different email")
            return
        if row.phone and target.phone and row.phone != target.phone:
            _set_reject(step, f"same email as user {target.username} but a different phone")
            return
        held = parse_legacy_ids(target.attributes.get(LEGACY_IDS_ATTRIBUTE)).get(self.contract)
        if held is not None:
            _set_reject(
                step, f"user {target.username} already has legacy_id {held} of {self.contract}"
            )
            return
        notes: list[str] = []
        if row.username and row.username != target.username.lower():
            other = lookups.by_username(row.username)
            if other is not None and other.id != target.id:
                _set_reject(step, f"username {row.username} is taken by another user")
                return
            notes.append(f"username {row.username} not kept (user is {target.username})")
        step.action, step.target = "merge", target
        step.check_password = step.password is not None
        if row.disabled and target.enabled:
            notes.append("disabled in the app; the user stays enabled")
        step.reason = "; ".join(notes)

    def _decide_create(self, step: Step, lookups: Lookups, seen: dict[str, int]) -> None:
        row = step.row
        assert row is not None
        if row.username:
            if lookups.by_username(row.username) is not None:
                _set_reject(
                    step,
                    f"username {row.username} is taken by another user (no phone or email "
                    "in common); rename it in the export or merge by hand",
                )
                return
            step.username = row.username
            return
        for candidate in (row.phone, row.email, f"{self.contract}-{row.legacy_id}"):
            if (
                candidate
                and f"username:{candidate}" not in seen
                and lookups.by_username(candidate) is None
            ):
                step.username = candidate
                return
        _set_reject(step, "no free username (phone, email and contract-id are taken)")

    def _resume(self, step: Step, lookups: Lookups) -> None:
        """A legacy id an earlier run left pending: finish what it started."""
        entry = step.entry
        assert entry is not None and step.row is not None
        identity = entry.identity
        if identity.state == "reserved":
            step.action, step.username = "create", identity.username
            return
        target = lookups.get(identity.keycloak_id or "")
        if target is None:
            _set_reject(step, "the user of an earlier run is gone from Keycloak")
            return
        step.action, step.target = "merge", target
        step.check_password = step.password is not None and step.password.credential is not None

    # --- the run -----------------------------------------------------------------------------

    def run(self, plan: Plan, progress: Callable[[int], object] = lambda _n: None) -> Plan:
        """Carry out a plan; a row that changed under the import becomes a reject.

        Each batch is reserved in the store (one transaction), handed to Keycloak on a worker
        thread, and marked done when Keycloak answers; meanwhile the next one is reserved. A
        failure stops the run after the calls in flight end; what they left pending the next
        run completes."""
        self._ledger.ensure_seeded()
        self._default_role = self._admin.default_role()
        creates = [s for s in plan.steps if s.action == "create"]
        merges = [s for s in plan.steps if s.action == "merge"]
        with ThreadPoolExecutor(IMPORTS_IN_FLIGHT) as pool:
            in_flight: deque[Batch] = deque()
            for start in range(0, len(creates), self._batch):
                batch = creates[start : start + self._batch]
                in_flight.append(self._send(batch, plan.uid_floor, pool))
                if len(in_flight) >= IMPORTS_IN_FLIGHT:
                    progress(self._finish(*in_flight.popleft()))
            while in_flight:
                progress(self._finish(*in_flight.popleft()))
        with ThreadPoolExecutor(MERGES_IN_FLIGHT) as pool:
            for start in range(0, len(merges), self._batch):
                batch = merges[start : start + self._batch]
                self._merge(batch, plan.uid_floor, pool)
                progress(len(batch))
        return plan

    def _send(self, batch: list[Step], uid_floor: int, pool: ThreadPoolExecutor) -> Batch:
        """Reserve a batch (a pending one keeps its reservation) and start its import."""
        records: dict[int, IdentityRecord] = {}
        fresh = [s for s in batch if s.entry is None]
        for step in batch:
            if step.entry is not None:
                records[step.legacy_id or 0] = step.entry.identity
        records.update(self._reserve(fresh, uid_floor))
        users = []
        for step in batch:
            record = records.get(step.legacy_id or 0)
            if record is not None:
                users.append(self._representation(step, record))
        future = pool.submit(self._admin.partial_import, users) if users else None
        return batch, records, future

    def _finish(
        self,
        batch: list[Step],
        records: dict[int, IdentityRecord],
        future: Future[dict[str, tuple[str, str]]] | None,
    ) -> int:
        """Mark done what Keycloak made with our id; returns the batch's size."""
        results = future.result() if future is not None else {}
        done: list[int] = []
        activated: list[str] = []
        for step in batch:
            record = records.get(step.legacy_id or 0)
            if record is None:
                continue
            _action, user_id = results.get((record.username or "").lower(), ("", ""))
            if user_id == record.reservation_id:
                done.append(step.legacy_id or 0)
                activated.append(record.reservation_id)
            else:
                # Someone took the username or email in Keycloak after the plan was made.
                self._store.release(record.reservation_id)
                _set_reject(step, "username or email was taken in Keycloak during the import")
        if done:
            self._store.finish_import(self.contract, done, activated)
        return len(batch)

    def _reserve(self, steps: Sequence[Step], uid_floor: int) -> dict[int, IdentityRecord]:
        """Reserve the batch in one transaction; if a row collides (a phone someone registered
        after the plan), reserve row by row and reject the ones that collide."""
        if not steps:
            return {}
        items = [self._identity(step) for step in steps]
        try:
            reserved = self._store.import_new(self.contract, items, self._invite_codes, uid_floor)
            return {item.legacy_id: record for item, record in zip(items, reserved, strict=True)}
        except IntegrityError:
            pass
        records: dict[int, IdentityRecord] = {}
        for step, item in zip(steps, items, strict=True):
            for _attempt in range(3):  # a fresh invite code may collide too
                try:
                    record = self._store.import_new(
                        self.contract, [item], self._invite_codes, uid_floor
                    )[0]
                except IntegrityError:
                    continue
                records[item.legacy_id] = record
                break
            else:
                _set_reject(step, "phone or legacy_id was taken during the import")
        return records

    def _identity(self, step: Step) -> ImportedIdentity:
        row = step.row
        assert row is not None and step.username is not None
        legacy = step.password.legacy if step.password is not None else None
        return ImportedIdentity(
            legacy_id=row.legacy_id,
            username=step.username,
            reservation_id=str(uuid.uuid4()),
            phone=row.phone,
            legacy_hash=legacy,
        )

    def _representation(self, step: Step, record: IdentityRecord) -> dict[str, Any]:
        row = step.row
        assert row is not None
        attributes: dict[str, str] = {
            **row.attributes,
            "uid": str(record.uid),
            "invite_code": record.invite_code or self._invite_codes(),
            RESERVATION_ATTRIBUTE: record.reservation_id,
            LEGACY_IDS_ATTRIBUTE: format_legacy_ids({self.contract: row.legacy_id}),
        }
        if row.phone:
            attributes["phone_number"] = row.phone
            attributes["phone_number_verified"] = str(row.phone_verified).lower()
        user: dict[str, Any] = {
            "id": record.reservation_id,
            "username": record.username,
            "enabled": not row.disabled,
            "attributes": {key: [value] for key, value in attributes.items()},
            "realmRoles": [self._default_role],
        }
        if row.email:
            user["email"] = row.email
            user["emailVerified"] = row.email_verified
        if row.created_ms:
            user["createdTimestamp"] = row.created_ms
        if step.password is not None and step.password.credential is not None:
            user["credentials"] = [step.password.credential]
        return user

    def _merge(self, batch: Sequence[Step], uid_floor: int, pool: ThreadPoolExecutor) -> None:
        """Record the legacy ids (store), mirror them onto the users (Keycloak, a few at a
        time), then mark them done together."""
        calls: list[tuple[Step, Future[None]]] = []
        for step in batch:
            uid = self._record_merge(step, uid_floor)
            if uid is None:
                continue
            target = step.target
            assert target is not None
            credential = step.password.credential if step.password is not None else None
            ids = format_legacy_ids(self._store.legacy_ids_of(uid))
            calls.append((step, pool.submit(self._admin.merge, target.id, ids, credential)))
        done: list[int] = []
        for step, call in calls:
            call.result()
            done.append(step.legacy_id or 0)
        if done:
            self._store.finish_import(self.contract, done, [])

    def _record_merge(self, step: Step, uid_floor: int) -> int | None:
        """The uid the row's legacy id now points at (pending), or None for a reject."""
        target, row = step.target, step.row
        assert target is not None and row is not None
        if step.entry is not None:
            return step.entry.uid
        record = self._store.by_keycloak_id(target.id)
        if record is None or record.state != "active":
            user = self._gateway.get_user(target.id)
            if user is None:
                _set_reject(step, "the user to merge into was deleted during the import")
                return None
            record = self._ledger.adopt(user)[0]
        legacy = step.password.legacy if step.password is not None else None
        try:
            self._store.import_merge(self.contract, row.legacy_id, record.uid, legacy, uid_floor)
        except IntegrityError:
            _set_reject(step, f"the user got a legacy id of {self.contract} during the import")
            return None
        return record.uid


def _reject(line: int, legacy_id: int | None, reason: str, raw: Any) -> Step:
    return Step(line, legacy_id, "reject", reason, raw=raw)


def _target_id(step: Step) -> str:
    assert step.target is not None
    return step.target.id


def _set_reject(step: Step, reason: str) -> None:
    step.action, step.reason = "reject", reason
    step.target, step.username = None, None
