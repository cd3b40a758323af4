"""The identity store on SQLAlchemy 2: PostgreSQL in production, an SQLite file in development.

Uniqueness is the database's job: unique indexes on the Keycloak id, phone, WeChat openid and
unionid, invite code and reservation id, and the uid as primary key from a sequence that never
goes back (a PostgreSQL identity column; SQLite ``AUTOINCREMENT``, which never hands out a
number at or below the highest ever used). Rows are never deleted, so a retired uid stays taken.

Every method is one short transaction. SQLite writes start with ``BEGIN IMMEDIATE`` so that
concurrent writers queue on the database lock (``busy_timeout``) instead of failing when a
read lock cannot be upgraded; reads run in WAL mode beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from facade.core.errors import Unavailable
from facade.core.identities import (
    UNIQUE_ATTRIBUTES,
    IdentityConflict,
    IdentityRecord,
    LegacyEntry,
    RedisState,
)

log = logging.getLogger(__name__)

metadata = sa.MetaData()

#: The uid: BIGINT identity on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT on SQLite.
_UID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("uid", _UID_TYPE, sa.Identity(start=1), primary_key=True),
    sa.Column("reservation_id", sa.String(36), nullable=False, unique=True),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("keycloak_id", sa.String(36), unique=True),
    sa.Column("username", sa.String(255)),
    sa.Column("phone", sa.String(20), unique=True),
    sa.Column("wechat_openid", sa.String(128), unique=True),
    sa.Column("wechat_unionid", sa.String(128), unique=True),
    sa.Column("invite_code", sa.String(16), unique=True),
    sa.Column("reserved_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    #: The Keycloak user a reserved row moves its identifiers to (a phone change in flight).
    sa.Column("change_of", sa.String(36)),
    sa.CheckConstraint("state IN ('reserved', 'active', 'retired')", name="identities_state"),
    #: Finds the few reservations left behind by a crash or a lost answer among millions of rows.
    sa.Index("ix_identities_state_reserved_at", "state", "reserved_at"),
    sqlite_autoincrement=True,
)

facade_meta = sa.Table(
    "facade_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

#: Ids a migrated user had in one app (``facade import``): one per (contract, legacy id) and
#: one per (contract, uid); ``pending`` until the Keycloak user carries it too.
legacy_ids = sa.Table(
    "legacy_ids",
    metadata,
    sa.Column("contract", sa.String(32), primary_key=True),
    sa.Column("legacy_id", sa.BigInteger, primary_key=True),
    sa.Column("uid", _UID_TYPE, sa.ForeignKey("identities.uid"), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("imported_at", sa.Float, nullable=False),
    sa.CheckConstraint("state IN ('pending', 'done')", name="legacy_ids_state"),
    sa.UniqueConstraint("contract", "uid", name="legacy_ids_contract_uid_key"),
)

#: A password hash Keycloak cannot verify (bcrypt, salted digests), in passlib's notation,
#: until the user's first password sign-in moves it into Keycloak.
legacy_passwords = sa.Table(
    "legacy_passwords",
    metadata,
    sa.Column("uid", _UID_TYPE, sa.ForeignKey("identities.uid"), primary_key=True),
    sa.Column("contract", sa.String(32), nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("imported_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class ImportedIdentity:
    """A migrated user the import creates: reserved with its legacy id (and legacy hash) in one
    transaction; ``reservation_id`` doubles as the Keycloak user id the import creates."""

    legacy_id: int
    username: str
    reservation_id: str
    phone: str | None = None
    legacy_hash: str | None = None


_IDENTIFIER_COLUMNS = tuple(UNIQUE_ATTRIBUTES.values())
_RETIRED_VALUES: dict[str, Any] = {column: None for column in _IDENTIFIER_COLUMNS}
#: Tries when an insert collides on something other than a caller's identifier (a fresh invite
#: code, or a uid an import took after the sequence handed it out).
_INSERT_TRIES = 5
#: Seconds a PostgreSQL statement or connection attempt may take (``FACADE_DATABASE_TIMEOUT``).
DEFAULT_TIMEOUT = 10.0
#: The first key of PostgreSQL advisory locks on users (the migration lock is 4242001).
_USER_LOCK_SPACE = 4242
#: Values per IN (...) list: far below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500

# The statements of every sign-in, built once: constructing and coercing a statement cost more
# CPU than SQLite's own work; values go in as bound parameters, and the compiled form comes
# from the engine's compiled cache.
_LIVE = identities.c.state != "retired"
_FIND_BY: dict[str, sa.Select[Any]] = {
    attribute: identities.select().where(identities.c[column] == sa.bindparam("value"), _LIVE)
    for attribute, column in {**UNIQUE_ATTRIBUTES, "uid": "uid"}.items()
}
_RAISE_EPOCH = (
    facade_meta.update()
    .where(facade_meta.c.key == sa.bindparam("meta_key"))
    .where(sa.cast(facade_meta.c.value, sa.BigInteger) < sa.bindparam("epoch", type_=sa.BigInteger))
    .values(value=sa.bindparam("epoch_text"))
)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would otherwise pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_memory_url(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


class SqlIdentityStore:
    """:class:`facade.core.identities.IdentityStore` over one SQLAlchemy engine.

    The engine is built (and the schema migrated) on first use, inside the process that uses
    it, so gunicorn workers never share a connection pool.
    """

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        redis_namespace: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = normalise_url(url)
        self._timeout = timeout
        # One store may sit beside several Redis namespaces (a deployment's, its tests'): each
        # namespace's generation and epoch are remembered apart, or one would look like the
        # other's data loss.
        scope = f"redis[{redis_namespace}]" if redis_namespace else "redis"
        self._meta_keys = (f"{scope}.generation", f"{scope}.epoch", f"{scope}.lost_at")
        self._auto_migrate = migrate
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        # One shared connection serves an in-memory database: its transactions take turns.
        self._serial: threading.Lock | None = threading.Lock() if is_memory_url(url) else None

    # --- connections -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if not self.url:
                raise Unavailable("database", "FACADE_DATABASE_URL is not set")
            with self._lock:
                if self._engine is None:
                    engine = _create_engine(self.url, self._timeout)
                    if self._auto_migrate:
                        with _database_errors("migrate"):
                            migrate(engine)
                    self._engine = engine
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def _transaction(self, write: bool, action: str) -> Iterator[Connection]:
        engine = self.engine
        serial = self._serial or contextlib.nullcontext()
        with serial, _database_errors(action), engine.connect() as conn:
            conn = conn.execution_options(facade_write=write)
            with conn.begin():
                yield conn

    def _write(self, action: str) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(True, action)

    def _read(self, action: str) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(False, action)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- reservations ------------------------------------------------------------------------

    def reserve(
        self,
        identifiers: Mapping[str, str],
        username: str,
        invite_codes: Callable[[], str],
        *,
        change_of: str | None = None,
    ) -> IdentityRecord:
        values = _columns_of(identifiers)
        for _ in range(_INSERT_TRIES):
            now = time.time()
            row = {
                **values,
                "reservation_id": _new_reservation_id(),
                "state": "reserved",
                "username": username,
                "invite_code": invite_codes(),
                "reserved_at": now,
                "updated_at": now,
                "change_of": change_of,
            }
            try:
                with self._write("reserve identity") as conn:
                    inserted = conn.execute(
                        identities.insert().values(**row).returning(*identities.c)
                    ).one()
                return _record(inserted)
            except IntegrityError:
                self._raise_conflict(identifiers)
        raise Unavailable("database", "could not reserve an identity; retry")

    def activate(self, reservation_id: str, keycloak_id: str, username: str) -> IdentityRecord:
        try:
            with self._write("activate identity") as conn:
                conn.execute(
                    identities.update()
                    .where(
                        identities.c.reservation_id == reservation_id,
                        identities.c.state == "reserved",
                    )
                    .values(
                        state="active",
                        keycloak_id=keycloak_id,
                        username=username,
                        updated_at=time.time(),
                    )
                )
                row = conn.execute(
                    identities.select().where(identities.c.reservation_id == reservation_id)
                ).one_or_none()
        except IntegrityError as exc:
            raise ValueError(f"keycloak user {keycloak_id} already has an identity row") from exc
        if row is None or row.state != "active" or row.keycloak_id != keycloak_id:
            raise ValueError(f"reservation {reservation_id} cannot be bound to {keycloak_id}")
        return _record(row)

    def release(self, reservation_id: str) -> None:
        with self._write("release identity") as conn:
            conn.execute(
                identities.update()
                .where(
                    identities.c.reservation_id == reservation_id,
                    identities.c.state == "reserved",
                )
                .values(state="retired", updated_at=time.time(), **_RETIRED_VALUES)
            )

    def transfer(self, reservation_id: str) -> IdentityRecord | None:
        """Settle an identifier change: the reserved row's identifiers move to the user it was
        made for (``change_of``), in one transaction; None if it was settled already."""
        now = time.time()
        with self._write("transfer identifiers") as conn:
            change = conn.execute(
                identities.select().where(
                    identities.c.reservation_id == reservation_id,
                    identities.c.state == "reserved",
                    identities.c.change_of.is_not(None),
                )
            ).one_or_none()
            if change is None:
                return None
            moved = {
                column: getattr(change, column)
                for column in _IDENTIFIER_COLUMNS
                if column != "invite_code" and getattr(change, column) is not None
            }
            conn.execute(
                identities.update()
                .where(identities.c.uid == change.uid)
                .values(state="retired", updated_at=now, **_RETIRED_VALUES)
            )
            conn.execute(
                identities.update()
                .where(
                    identities.c.keycloak_id == change.change_of,
                    identities.c.state == "active",
                )
                .values(updated_at=now, **moved)
            )
            row = conn.execute(
                identities.select().where(identities.c.keycloak_id == change.change_of)
            ).one_or_none()
        return _record(row) if row is not None else None

    @contextlib.contextmanager
    def user_lock(self, keycloak_id: str) -> Iterator[None]:
        """Serialise the facade's writes to one Keycloak user across processes: a transaction
        held while the block runs (PostgreSQL: an advisory lock on the user, released with the
        transaction even if the process dies; SQLite: its one writer lock). The block must not
        write the store itself (on SQLite it would wait for its own lock)."""
        with self._write("lock user") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(:user))"),
                    {"space": _USER_LOCK_SPACE, "user": keycloak_id},
                )
            yield

    def rename(self, reservation_id: str, username: str) -> None:
        with self._write("rename reservation") as conn:
            conn.execute(
                identities.update()
                .where(identities.c.reservation_id == reservation_id)
                .values(username=username, updated_at=time.time())
            )

    def stale_reservations(self, before: float, limit: int = 100) -> list[IdentityRecord]:
        with self._read("list stale reservations") as conn:
            rows = conn.execute(
                identities.select()
                .where(identities.c.state == "reserved", identities.c.reserved_at < before)
                .order_by(identities.c.reserved_at)
                .limit(limit)
            ).all()
        return [_record(row) for row in rows]

    def reservation(self, reservation_id: str) -> IdentityRecord | None:
        with self._read("read reservation") as conn:
            row = conn.execute(
                identities.select().where(identities.c.reservation_id == reservation_id)
            ).one_or_none()
        return _record(row) if row is not None else None

    # --- lookups -----------------------------------------------------------------------------

    def find(self, attribute: str, value: str) -> IdentityRecord | None:
        statement = _FIND_BY.get(attribute)
        if statement is None:
            raise ValueError(f"{attribute} is not kept in the identity store")
        bound: str | int = value
        if attribute == "uid":
            if not value.isdigit():
                return None
            bound = int(value)
        with self._read("find identity") as conn:
            row = conn.execute(statement, {"value": bound}).one_or_none()
        return _record(row) if row is not None else None

    def find_many(self, attribute: str, values: Sequence[str]) -> dict[str, IdentityRecord]:
        """:meth:`find` for many values of one identifier at once (indexed, in chunks)."""
        column = identities.c[UNIQUE_ATTRIBUTES[attribute]]
        found: dict[str, IdentityRecord] = {}
        for start in range(0, len(values), _CHUNK):
            chunk = list(values[start : start + _CHUNK])
            with self._read("find identities") as conn:
                rows = conn.execute(
                    identities.select().where(column.in_(chunk), identities.c.state != "retired")
                ).all()
            found.update({str(getattr(row, column.name)): _record(row) for row in rows})
        return found

    def by_keycloak_id(self, keycloak_id: str) -> IdentityRecord | None:
        with self._read("find identity") as conn:
            row = conn.execute(
                identities.select().where(identities.c.keycloak_id == keycloak_id)
            ).one_or_none()
        return _record(row) if row is not None else None

    def by_uid(self, uid: int) -> IdentityRecord | None:
        """The row of a uid in any state (the consistency check wants retired ones too)."""
        with self._read("find identity") as conn:
            row = conn.execute(identities.select().where(identities.c.uid == uid)).one_or_none()
        return _record(row) if row is not None else None

    # --- users made elsewhere ----------------------------------------------------------------

    def adopt(
        self,
        keycloak_id: str,
        username: str,
        identifiers: Mapping[str, str],
        invite_codes: Callable[[], str],
    ) -> tuple[IdentityRecord, list[str]]:
        for _ in range(_INSERT_TRIES):
            try:
                return self._adopt_once(keycloak_id, username, identifiers, invite_codes)
            except IntegrityError:
                continue  # a concurrent adoption or registration: look again
        raise Unavailable("database", f"could not adopt keycloak user {keycloak_id}; retry")

    def _adopt_once(
        self,
        keycloak_id: str,
        username: str,
        identifiers: Mapping[str, str],
        invite_codes: Callable[[], str],
    ) -> tuple[IdentityRecord, list[str]]:
        now = time.time()
        wanted_uid = identifiers.get("uid", "")
        with self._write("adopt identity") as conn:
            own = conn.execute(
                identities.select().where(identities.c.keycloak_id == keycloak_id)
            ).one_or_none()
            if own is not None:
                if own.state != "retired":
                    return _record(own), []
                # A user we wrongly took for deleted: it gets its own uid back.
                conn.execute(
                    identities.update()
                    .where(identities.c.uid == own.uid)
                    .values(state="active", updated_at=now)
                )
                return self._fill_identifiers(conn, own.uid, keycloak_id, identifiers)
            if wanted_uid.isdigit():
                holder = conn.execute(
                    identities.select().where(identities.c.uid == int(wanted_uid))
                ).one_or_none()
                if holder is not None and holder.state == "reserved":
                    # The user a reservation was made for (its create answered too late, or the
                    # process died before binding it): the reservation is this user's.
                    conn.execute(
                        identities.update()
                        .where(identities.c.uid == holder.uid)
                        .values(state="active", keycloak_id=keycloak_id, updated_at=now)
                    )
                    return self._fill_identifiers(conn, holder.uid, keycloak_id, identifiers)
            conflicts: list[str] = []
            values: dict[str, Any] = {}
            for attribute, column in UNIQUE_ATTRIBUTES.items():
                value = identifiers.get(attribute)
                if not value:
                    continue
                if _holder_of(conn, column, value) is not None:
                    conflicts.append(attribute)
                else:
                    values[column] = value
            if "invite_code" not in values:
                values["invite_code"] = invite_codes()
            row: dict[str, Any] = {
                **values,
                "reservation_id": _new_reservation_id(),
                "state": "active",
                "keycloak_id": keycloak_id,
                "username": username,
                "reserved_at": now,
                "updated_at": now,
            }
            if wanted_uid.isdigit() and int(wanted_uid) > 0:
                taken = conn.execute(
                    sa.select(identities.c.uid).where(identities.c.uid == int(wanted_uid))
                ).one_or_none()
                if taken is None:
                    row["uid"] = int(wanted_uid)
                    _raise_floor(conn, int(wanted_uid))
                else:
                    conflicts.append("uid")
            inserted = conn.execute(identities.insert().values(**row).returning(*identities.c))
            return _record(inserted.one()), conflicts

    def _fill_identifiers(
        self, conn: Connection, uid: int, keycloak_id: str, identifiers: Mapping[str, str]
    ) -> tuple[IdentityRecord, list[str]]:
        """Give a row the identifiers its user carries that nobody else holds."""
        row = conn.execute(identities.select().where(identities.c.uid == uid)).one()
        conflicts: list[str] = []
        updates: dict[str, Any] = {}
        for attribute, column in UNIQUE_ATTRIBUTES.items():
            value = identifiers.get(attribute)
            if not value or getattr(row, column) == value:
                continue
            holder = _holder_of(conn, column, value)
            if holder is not None and holder.uid != uid:
                conflicts.append(attribute)
            elif getattr(row, column) is None:
                updates[column] = value
        if updates:
            conn.execute(identities.update().where(identities.c.uid == uid).values(**updates))
            row = conn.execute(identities.select().where(identities.c.uid == uid)).one()
        return _record(row), conflicts

    def set_identifier(self, keycloak_id: str, attribute: str, value: str | None) -> None:
        column = UNIQUE_ATTRIBUTES[attribute]
        try:
            with self._write("change identifier") as conn:
                conn.execute(
                    identities.update()
                    .where(identities.c.keycloak_id == keycloak_id, identities.c.state == "active")
                    .values({column: value, "updated_at": time.time()})
                )
        except IntegrityError:
            self._raise_conflict({attribute: value or ""})
            raise

    def retire(self, keycloak_id: str) -> None:
        with self._write("retire identity") as conn:
            conn.execute(
                identities.update()
                .where(identities.c.keycloak_id == keycloak_id, identities.c.state != "retired")
                .values(state="retired", updated_at=time.time(), **_RETIRED_VALUES)
            )

    def raise_uid_floor(self, at_least: int) -> None:
        with self._write("raise uid floor") as conn:
            _raise_floor(conn, at_least)

    # --- bookkeeping -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._read("read meta") as conn:
            value = conn.execute(
                sa.select(facade_meta.c.value).where(facade_meta.c.key == key)
            ).scalar_one_or_none()
        return str(value) if value is not None else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write("write meta") as conn:
            _put_meta(conn, key, value)

    def redis_state(self) -> RedisState:
        with self._read("read redis state") as conn:
            return _redis_state(conn, self._meta_keys)

    def record_redis_state(
        self, generation: str, epoch: int, lost_at: float | None = None
    ) -> RedisState:
        meta_generation, meta_epoch, meta_lost_at = self._meta_keys
        with self._write("record redis state") as conn:
            current = _redis_state(conn, self._meta_keys)
            new_epoch = max(current.epoch, epoch)
            new_lost = current.lost_at
            if lost_at is not None and (new_lost is None or lost_at > new_lost):
                new_lost = lost_at
            _put_meta(conn, meta_generation, generation)
            _put_meta(conn, meta_epoch, str(new_epoch))
            if new_lost is not None:
                _put_meta(conn, meta_lost_at, repr(new_lost))
            return RedisState(generation, new_epoch, new_lost)

    def raise_epoch(self, epoch: int) -> None:
        """Remember a higher Redis epoch (a logout or a spent code) without a read first."""
        meta_epoch = self._meta_keys[1]
        with self._write("record redis epoch") as conn:
            updated = conn.execute(
                _RAISE_EPOCH, {"meta_key": meta_epoch, "epoch": epoch, "epoch_text": str(epoch)}
            )
            if updated.rowcount == 0 and _meta(conn, meta_epoch) is None:
                _put_meta(conn, meta_epoch, str(epoch))

    def records(self, batch: int = 1000) -> Iterator[IdentityRecord]:
        after = 0
        while True:
            with self._read("list identities") as conn:
                rows = conn.execute(
                    identities.select()
                    .where(identities.c.uid > after)
                    .order_by(identities.c.uid)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            after = int(rows[-1].uid)

    def count(self) -> int:
        with self._read("count identities") as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(identities)
                    .where(identities.c.state != "retired")
                ).scalar_one()
            )

    # --- migrated users (``facade import``) -----------------------------------------------

    def legacy_entries(self, contract: str, ids: Sequence[int]) -> dict[int, LegacyEntry]:
        """The entries of these legacy ids with their identities (indexed, in chunks)."""
        found: dict[int, LegacyEntry] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            with self._read("read legacy ids") as conn:
                rows = conn.execute(
                    sa.select(
                        legacy_ids.c.legacy_id,
                        legacy_ids.c.state.label("legacy_state"),
                        *identities.c,
                    )
                    .join(identities, identities.c.uid == legacy_ids.c.uid)
                    .where(legacy_ids.c.contract == contract, legacy_ids.c.legacy_id.in_(chunk))
                ).all()
            for row in rows:
                found[int(row.legacy_id)] = LegacyEntry(
                    contract, int(row.legacy_id), int(row.uid), row.legacy_state, _record(row)
                )
        return found

    def legacy_ids_of(self, uid: int) -> dict[str, int]:
        """Every contract's legacy id of one identity."""
        with self._read("read legacy ids") as conn:
            rows = conn.execute(
                sa.select(legacy_ids.c.contract, legacy_ids.c.legacy_id).where(
                    legacy_ids.c.uid == uid
                )
            ).all()
        return {str(row.contract): int(row.legacy_id) for row in rows}

    def find_public(self, contract: str, public_id: int) -> IdentityRecord | None:
        """The identity a contract shows as ``public_id``: a migrated user's legacy id of that
        contract, else a uid with no legacy id there. One statement, both halves indexed."""
        by_legacy = (
            sa.select(*identities.c)
            .join(legacy_ids, legacy_ids.c.uid == identities.c.uid)
            .where(legacy_ids.c.contract == contract, legacy_ids.c.legacy_id == public_id)
        )
        shadowed = sa.exists().where(
            legacy_ids.c.contract == contract, legacy_ids.c.uid == identities.c.uid
        )
        by_uid = sa.select(*identities.c).where(identities.c.uid == public_id, ~shadowed)
        with self._read("find identity") as conn:
            rows = conn.execute(sa.union_all(by_legacy, by_uid)).all()
        live = [row for row in rows if row.state != "retired"]
        return _record(live[0]) if live else None

    def uids_in_use(self, uids: Sequence[int]) -> dict[int, IdentityRecord]:
        """Which of these numbers are uids of live identities (a legacy id must not be one of
        another person's, or two users would show the same id in that contract)."""
        found: dict[int, IdentityRecord] = {}
        for start in range(0, len(uids), _CHUNK):
            chunk = list(uids[start : start + _CHUNK])
            with self._read("read uids") as conn:
                rows = conn.execute(
                    identities.select().where(
                        identities.c.uid.in_(chunk), identities.c.state != "retired"
                    )
                ).all()
            found.update({int(row.uid): _record(row) for row in rows})
        return found

    def import_new(
        self,
        contract: str,
        batch: Sequence[ImportedIdentity],
        invite_codes: Callable[[], str],
        uid_floor: int,
    ) -> list[IdentityRecord]:
        """Reserve identities with their legacy ids and hashes, in one transaction; new uids
        start above ``uid_floor``. An IntegrityError (someone took a phone or username just now)
        rolls the whole batch back: the caller retries row by row."""
        now = time.time()
        records: list[IdentityRecord] = []
        with self._write("import identities") as conn:
            if uid_floor > 0:
                _raise_floor(conn, uid_floor)
            # A legacy id whose identity was retired (a crash left it reserved and a stale
            # recovery undid it) is imported afresh.
            retired = sa.select(identities.c.uid).where(identities.c.state == "retired")
            conn.execute(
                legacy_ids.delete().where(
                    legacy_ids.c.contract == contract,
                    legacy_ids.c.legacy_id.in_([item.legacy_id for item in batch]),
                    legacy_ids.c.uid.in_(retired),
                )
            )
            # One multi-row statement per table (executemany with RETURNING in input order).
            rows = conn.execute(
                identities.insert().returning(*identities.c, sort_by_parameter_order=True),
                [
                    {
                        "reservation_id": item.reservation_id,
                        "state": "reserved",
                        "username": item.username,
                        "phone": item.phone,
                        "invite_code": invite_codes(),
                        "reserved_at": now,
                        "updated_at": now,
                    }
                    for item in batch
                ],
            ).all()
            pairs = list(zip(batch, rows, strict=True))
            conn.execute(
                legacy_ids.insert(),
                [
                    {
                        "contract": contract,
                        "legacy_id": item.legacy_id,
                        "uid": row.uid,
                        "state": "pending",
                        "imported_at": now,
                    }
                    for item, row in pairs
                ],
            )
            hashes = [
                {"uid": row.uid, "contract": contract, "hash": item.legacy_hash, "imported_at": now}
                for item, row in pairs
                if item.legacy_hash
            ]
            if hashes:
                conn.execute(legacy_passwords.insert(), hashes)
            records = [_record(row) for row in rows]
        return records

    def import_merge(
        self, contract: str, legacy_id: int, uid: int, legacy_hash: str | None, uid_floor: int
    ) -> bool:
        """Record a legacy id on an existing identity (pending); keep a legacy hash unless the
        identity has one already. Returns whether the hash was kept."""
        now = time.time()
        with self._write("import legacy id") as conn:
            if uid_floor > 0:
                _raise_floor(conn, uid_floor)
            conn.execute(
                legacy_ids.insert().values(
                    contract=contract,
                    legacy_id=legacy_id,
                    uid=uid,
                    state="pending",
                    imported_at=now,
                )
            )
            if not legacy_hash:
                return False
            held = conn.execute(
                sa.select(legacy_passwords.c.uid).where(legacy_passwords.c.uid == uid)
            ).first()
            if held is not None:
                return False
            conn.execute(
                legacy_passwords.insert().values(
                    uid=uid, contract=contract, hash=legacy_hash, imported_at=now
                )
            )
            return True

    def finish_import(self, contract: str, done: Sequence[int], activate: Sequence[str]) -> None:
        """Keycloak carries these users now: reservations active, legacy ids done."""
        now = time.time()
        with self._write("finish import") as conn:
            for start in range(0, len(activate), _CHUNK):
                chunk = list(activate[start : start + _CHUNK])
                conn.execute(
                    identities.update()
                    .where(identities.c.reservation_id.in_(chunk), identities.c.state == "reserved")
                    .values(state="active", keycloak_id=identities.c.reservation_id, updated_at=now)
                )
            for start in range(0, len(done), _CHUNK):
                conn.execute(
                    legacy_ids.update()
                    .where(
                        legacy_ids.c.contract == contract,
                        legacy_ids.c.legacy_id.in_(list(done[start : start + _CHUNK])),
                    )
                    .values(state="done")
                )

    def legacy_password(self, keycloak_id: str) -> str | None:
        with self._read("read legacy password") as conn:
            value = conn.execute(
                sa.select(legacy_passwords.c.hash)
                .join(identities, identities.c.uid == legacy_passwords.c.uid)
                .where(identities.c.keycloak_id == keycloak_id)
            ).scalar_one_or_none()
        return str(value) if value is not None else None

    def drop_legacy_password(self, keycloak_id: str) -> None:
        owner = sa.select(identities.c.uid).where(identities.c.keycloak_id == keycloak_id)
        with self._write("drop legacy password") as conn:
            conn.execute(legacy_passwords.delete().where(legacy_passwords.c.uid.in_(owner)))

    def _raise_conflict(self, identifiers: Mapping[str, str]) -> None:
        """After an IntegrityError: which identifier is taken, and by whom (or return)."""
        with self._read("find conflict") as conn:
            for attribute, column in UNIQUE_ATTRIBUTES.items():
                value = identifiers.get(attribute)
                if not value:
                    continue
                holder = _holder_of(conn, column, value)
                if holder is not None:
                    raise IdentityConflict(attribute, _record(holder))


# --- helpers ---------------------------------------------------------------------------------


def _create_engine(url: str, timeout: float) -> Engine:
    """The engine for ``url``. On PostgreSQL ``timeout`` bounds a connection attempt, the wait
    for a pooled connection and every statement, a lock wait included (a peer holding a
    user's lock while Keycloak hangs, a stuck migration): the request gets the store's 503
    instead of holding its thread without limit. SQLite keeps its own busy wait."""
    if url.startswith("sqlite"):
        memory = is_memory_url(url)
        if not memory:
            database = sa.engine.make_url(url).database
            if database:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        _sqlite_transactions(engine, wal=not memory)
        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args={
            "connect_timeout": max(2, math.ceil(timeout)),  # libpq: whole seconds, 2 at least
            "options": f"-c statement_timeout={round(timeout * 1000)}",
        },
    )


def _sqlite_transactions(engine: Engine, *, wal: bool) -> None:
    """pysqlite's own transaction handling begins lazily and cannot take the write lock up
    front; take over (SQLAlchemy's documented recipe) and begin writes IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a crash of the process (not of the machine) without an
            # fsync per commit, which would serialise every spent code and logout behind the
            # disk. SQLite is the development store; production runs on PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("facade_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the schema to Alembic's head, one process at a time (an advisory lock on
    PostgreSQL, a lock file beside an SQLite file)."""
    from alembic import command

    from facade.migrations import alembic_config

    with _migration_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(facade_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                # A schema change may outlast a request's statement timeout, and so may the
                # wait for another process's migration.
                conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().with_suffix(".migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _database_errors(action: str) -> Iterator[None]:
    """A database that cannot be reached is ``Unavailable("database")``, like Redis's."""
    try:
        yield
    except IntegrityError:
        raise
    except OperationalError as exc:
        raise Unavailable("database", f"{action}: {exc.orig}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("database", f"{action}: connection lost") from exc
        raise


def _raise_floor(conn: Connection, at_least: int) -> None:
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence('identities', 'uid')")
        ).scalar_one()
        current = conn.execute(sa.text(f"SELECT last_value FROM {sequence}")).scalar_one()  # noqa: S608
        if int(current) < at_least:
            conn.execute(sa.text("SELECT setval(:seq, :n)"), {"seq": sequence, "n": at_least})
        return
    updated = conn.execute(
        sa.text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'identities' AND seq < :n"),
        {"n": at_least},
    )
    if updated.rowcount == 0:
        exists = conn.execute(
            sa.text("SELECT 1 FROM sqlite_sequence WHERE name = 'identities'")
        ).first()
        if exists is None:
            conn.execute(
                sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('identities', :n)"),
                {"n": at_least},
            )


def _holder_of(conn: Connection, column: str, value: str) -> Row[Any] | None:
    return conn.execute(
        identities.select().where(identities.c[column] == value, identities.c.state != "retired")
    ).one_or_none()


def _meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(
        sa.select(facade_meta.c.value).where(facade_meta.c.key == key)
    ).scalar_one_or_none()
    return str(value) if value is not None else None


def _put_meta(conn: Connection, key: str, value: str) -> None:
    updated = conn.execute(facade_meta.update().where(facade_meta.c.key == key).values(value=value))
    if updated.rowcount == 0:
        conn.execute(facade_meta.insert().values(key=key, value=value))


def _redis_state(conn: Connection, keys: tuple[str, str, str]) -> RedisState:
    generation, epoch, lost = keys
    lost_at = _meta(conn, lost)
    return RedisState(
        generation=_meta(conn, generation),
        epoch=int(_meta(conn, epoch) or 0),
        lost_at=float(lost_at) if lost_at else None,
    )


def _columns_of(identifiers: Mapping[str, str]) -> dict[str, str]:
    return {
        column: identifiers[attribute]
        for attribute, column in UNIQUE_ATTRIBUTES.items()
        if identifiers.get(attribute) and attribute != "invite_code"
    }


def _new_reservation_id() -> str:
    return str(uuid.uuid4())


def _record(row: Row[Any]) -> IdentityRecord:
    return IdentityRecord(
        uid=int(row.uid),
        reservation_id=str(row.reservation_id),
        state=row.state,
        keycloak_id=row.keycloak_id,
        username=row.username,
        phone=row.phone,
        wechat_openid=row.wechat_openid,
        wechat_unionid=row.wechat_unionid,
        invite_code=row.invite_code,
        reserved_at=float(row.reserved_at),
        change_of=row.change_of,
    )
