"""The identity store itself, on SQLite and on PostgreSQL: constraints, the uid sequence."""

from __future__ import annotations

import secrets
import threading
import time

import pytest

from facade.adapters.identity_store import SqlIdentityStore
from facade.core.errors import Unavailable
from facade.core.identities import IdentityConflict
from tests.conftest import random_phone


def invite() -> str:
    return secrets.token_hex(4).upper()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'identities.db'}"
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.url
    store = SqlIdentityStore(url)
    yield store
    store.close()


def reserve(store, **identifiers):
    return store.reserve(identifiers, identifiers.get("phone_number", "u"), invite)


def test_uids_increase_and_a_retired_uid_is_never_handed_out_again(store):
    first = reserve(store, phone_number=random_phone())
    store.activate(first.reservation_id, secrets.token_hex(8), "a")
    store.retire(store.reservation(first.reservation_id).keycloak_id)
    second = reserve(store, phone_number=first.phone)  # the phone is free again
    undone = reserve(store)
    store.release(undone.reservation_id)
    third = reserve(store)
    assert first.uid < second.uid < undone.uid < third.uid
    assert store.find("uid", str(first.uid)) is None
    assert store.by_uid(first.uid).state == "retired"


@pytest.mark.parametrize("attribute", ["phone_number", "wechat_openid", "wechat_unionid"])
def test_an_identifier_held_by_a_reservation_or_a_user_conflicts(store, attribute):
    value = random_phone() if attribute == "phone_number" else "o" + secrets.token_hex(8)
    held = reserve(store, **{attribute: value})
    with pytest.raises(IdentityConflict) as conflict:
        reserve(store, **{attribute: value})
    assert conflict.value.attribute == attribute
    assert conflict.value.holder.uid == held.uid
    store.activate(held.reservation_id, secrets.token_hex(8), "x")
    with pytest.raises(IdentityConflict):
        reserve(store, **{attribute: value})
    assert store.find(attribute, value).uid == held.uid


def test_twenty_parallel_reservations_of_one_phone_give_one_row(store):
    phone = random_phone()
    won, lost, other = [], [], []
    barrier = threading.Barrier(20)

    def attempt():
        barrier.wait()
        try:
            won.append(reserve(store, phone_number=phone))
        except IdentityConflict:
            lost.append(1)
        except Exception as exc:
            other.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(won) == 1
    assert len(lost) == 19


def test_an_adopted_user_keeps_its_uid_and_new_uids_start_above_it(store):
    keycloak_id = secrets.token_hex(8)
    high = reserve(store).uid + 1000
    record, conflicts = store.adopt(keycloak_id, "old", {"uid": str(high)}, invite)
    assert (record.uid, conflicts) == (high, [])
    assert reserve(store).uid > high
    again, _ = store.adopt(keycloak_id, "old", {"uid": str(high)}, invite)
    assert again.uid == high


def test_adopting_a_user_whose_uid_or_phone_is_taken_keeps_the_first_holder(store):
    holder = reserve(store, phone_number=random_phone())
    store.activate(holder.reservation_id, secrets.token_hex(8), "h")
    record, conflicts = store.adopt(
        secrets.token_hex(8), "dup", {"uid": str(holder.uid), "phone_number": holder.phone}, invite
    )
    assert sorted(conflicts) == ["phone_number", "uid"]
    assert record.uid != holder.uid
    assert record.phone is None
    assert store.find("phone_number", holder.phone).uid == holder.uid


def test_adopting_the_user_a_reservation_was_made_for_binds_the_reservation(store):
    reserved = reserve(store, phone_number=random_phone())
    keycloak_id = secrets.token_hex(8)
    record, conflicts = store.adopt(
        keycloak_id, "late", {"uid": str(reserved.uid), "phone_number": reserved.phone}, invite
    )
    assert conflicts == []
    assert (record.uid, record.state, record.keycloak_id) == (reserved.uid, "active", keycloak_id)


def test_changing_an_identifier_is_checked_by_the_unique_index(store):
    first, second = reserve(store, phone_number=random_phone()), reserve(store)
    store.activate(first.reservation_id, "k1-" + secrets.token_hex(4), "a")
    store.activate(second.reservation_id, "k2-" + secrets.token_hex(4), "b")
    second_id = store.reservation(second.reservation_id).keycloak_id
    with pytest.raises(IdentityConflict):
        store.set_identifier(second_id, "phone_number", first.phone)
    new_phone = random_phone()
    store.set_identifier(second_id, "phone_number", new_phone)
    assert store.find("phone_number", new_phone).uid == second.uid


def test_the_redis_state_only_moves_forward(store):
    store.record_redis_state("g1", 5)
    store.raise_epoch(3)
    assert store.redis_state().epoch == 5
    store.raise_epoch(9)
    state = store.record_redis_state("g2", 7, lost_at=100.0)
    assert (state.generation, state.epoch, state.lost_at) == ("g2", 9, 100.0)
    assert store.record_redis_state("g2", 1, lost_at=50.0).lost_at == 100.0


def test_writes_to_one_user_take_turns_across_connections(store):
    """The user lock is the store's (a second process would wait the same way)."""
    entered = threading.Event()
    order: list[str] = []
    lock_name = "kc-" + secrets.token_hex(4)

    def second() -> None:
        entered.wait(5)
        with store.user_lock(lock_name):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with store.user_lock(lock_name):
        entered.set()
        time.sleep(0.3)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]


def test_a_phone_change_reservation_moves_onto_its_user_once(store):
    old, new = random_phone(), random_phone()
    user = store.adopt("kc-" + secrets.token_hex(4), "u", {"phone_number": old}, invite)[0]
    change = store.reserve({"phone_number": new}, "u", invite, change_of=user.keycloak_id)
    assert store.find("phone_number", old).uid == user.uid  # still bound meanwhile
    moved = store.transfer(change.reservation_id)
    assert (moved.uid, moved.phone) == (user.uid, new)
    assert store.find("phone_number", new).uid == user.uid
    assert store.find("phone_number", old) is None
    assert store.reservation(change.reservation_id).state == "retired"
    assert store.transfer(change.reservation_id) is None  # settled already


def test_a_lock_wait_on_postgresql_ends_in_unavailable_after_the_timeout(postgres):
    """A peer holding a user's lock without end (its Keycloak call hung) costs a waiting
    request its store timeout, then the store's 503, not a thread held for ever."""
    holder = SqlIdentityStore(postgres.url)
    waiter = SqlIdentityStore(postgres.url, timeout=1.0)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.user_lock("kc-user-1"):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with pytest.raises(Unavailable) as refused, waiter.user_lock("kc-user-1"):
            pass
        waited = time.monotonic() - started
        assert refused.value.part == "database"
        assert "statement timeout" in str(refused.value)
        assert waited < 10  # bounded by the timeout, not by the holder
        with waiter.user_lock("kc-user-2"):  # another user's lock is free
            pass
        release.set()
        thread.join()
        with waiter.user_lock("kc-user-1"):  # released with the holder's transaction
            pass
    finally:
        release.set()
        thread.join()
        holder.close()
        waiter.close()
