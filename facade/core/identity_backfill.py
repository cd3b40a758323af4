"""Building the identity store from an existing realm, and checking the two agree.

Today's deployments keep uids, phones and WeChat ids only as Keycloak attributes (the Redis
index is derived from them). ``backfill`` adopts every realm user into the store, keeping the
uid each already has, page by page; the offset of the last finished page is saved in the store,
so an interrupted run resumes there (users are idempotent to adopt twice). ``check`` lists where
Keycloak and the store disagree, for an operator to settle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from facade.core.identities import UNIQUE_ATTRIBUTES
from facade.core.identity_ledger import COMPLETE_KEY, IdentityLedger
from facade.core.models import User

CURSOR_KEY = "backfill.offset"
#: A page of realm users starting at an offset: ``pages(first, size)``.
Pages = Callable[[int, int], list[User]]


@dataclass(frozen=True)
class Disagreement:
    uid: int | None
    keycloak_id: str | None
    what: str

    def __str__(self) -> str:
        return f"uid={self.uid or '-'} user={self.keycloak_id or '-'}: {self.what}"


def backfill(
    ledger: IdentityLedger,
    pages: Pages,
    *,
    page_size: int = 200,
    progress: Callable[[int], object] = lambda _: None,
    restart: bool = False,
) -> int:
    """Adopt every realm user; returns how many were read. ``progress(n)`` after each page."""
    store = ledger.store
    ledger.ensure_seeded()
    first = 0 if restart else int(store.meta(CURSOR_KEY) or 0)
    if first:
        progress(first)
    read = first
    while True:
        page = pages(first, page_size)
        for user in page:
            ledger.adopt(user)
        read += len(page)
        first += len(page)
        store.set_meta(CURSOR_KEY, str(first))
        progress(len(page))
        if len(page) < page_size:
            return read


def mark_complete(ledger: IdentityLedger) -> None:
    """From now on a lookup the store cannot answer is a miss (no search in Keycloak)."""
    ledger.store.set_meta(COMPLETE_KEY, "1")


def check(ledger: IdentityLedger, users: Iterable[User]) -> Iterator[Disagreement]:
    """Every disagreement between the realm's users and the store's rows."""
    store = ledger.store
    seen: set[str] = set()
    for user in users:
        seen.add(user.id)
        record = store.by_keycloak_id(user.id)
        if record is None or record.state != "active":
            state = record.state if record else "missing"
            yield Disagreement(None, user.id, f"realm user has no active identity ({state})")
            continue
        for attribute in ("uid", *UNIQUE_ATTRIBUTES):
            kept, shown = record.value(attribute), user.attr(attribute)
            if kept != shown:
                yield Disagreement(
                    record.uid, user.id, f"{attribute}: store {kept!r}, keycloak {shown!r}"
                )
    for record in store.records():
        if record.state == "active" and record.keycloak_id not in seen:
            yield Disagreement(record.uid, record.keycloak_id, "keycloak user is gone")
        elif record.state == "reserved" and ledger.is_stale(record):
            yield Disagreement(record.uid, None, f"stale reservation for {record.username!r}")


def all_users(pages: Pages, page_size: int = 200) -> Iterator[User]:
    first = 0
    while True:
        page = pages(first, page_size)
        yield from page
        if len(page) < page_size:
            return
        first += page_size
