"""Writes to existing users over the identity store, against the real Keycloak: a phone change
reserves before it writes (and converges after a lost answer or a crash), and a profile write
keeps an operator's save that raced it."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.bootstrap import build_services
from facade.core.errors import Unavailable
from facade.core.models import Registration
from tests.conftest import random_phone
from tests.durability.slow_proxy import SlowProxy


@pytest.fixture
def services(settings):
    return build_services(settings.with_changes(profile_cache_ttl=0))


def through_proxy(settings, keycloak, hold, delay):
    proxy = SlowProxy(urlsplit(keycloak.url).port, hold, delay)
    # Long enough for the operator's save to land inside the held answer on a busy machine.
    slow = settings.with_changes(keycloak_url=proxy.url, profile_cache_ttl=0, keycloak_timeout=10)
    return proxy, build_services(slow, identity=KeycloakGateway(slow))


def user_request(method: str, user_id: str):
    """The request line of a read or write of the user itself (not of its sub-resources)."""

    def matches(line: bytes) -> bool:
        text = line.decode()
        path = text.split(" ")[1] if " " in text else ""
        return text.startswith(f"{method} ") and path.split("?")[0].endswith(f"/users/{user_id}")

    return matches


def test_a_phone_change_whose_answer_is_lost_still_binds_the_phone_once(
    settings, keycloak, services, operator
):
    old, new = random_phone(), random_phone()
    user = services.registrar.register(Registration(phone=old))
    proxy = SlowProxy(urlsplit(keycloak.url).port, user_request("PUT", user.id), 2.5)
    try:
        slow = settings.with_changes(
            keycloak_url=proxy.url, keycloak_timeout=1.0, profile_cache_ttl=0
        )
        changed = build_services(slow, identity=KeycloakGateway(slow)).accounts.set_phone(user, new)
        assert proxy.count(lambda line: line.startswith("PUT ") and user.id in line) == 1
    finally:
        proxy.close()
    assert changed.attr("phone_number") == new
    assert operator.get_user(user.id)["attributes"]["phone_number"] == [new]
    store = services.ledger.store
    assert store.find("phone_number", new).keycloak_id == user.id
    assert store.find("phone_number", old) is None  # the old phone is free again


def test_a_phone_is_reserved_before_keycloak_is_written(services):
    """A crash after the reservation and before the Keycloak write: the phone is held (a
    registration of it waits), and once stale the reservation is undone."""
    holder = services.registrar.register(Registration(phone=random_phone()))
    phone = random_phone()
    change = services.ledger.reserve_change(holder, {"phone_number": phone})
    with pytest.raises(Unavailable):  # in flight: the other change may still land
        services.accounts.set_phone(
            services.registrar.register(Registration(phone=random_phone())), phone
        )
    services.ledger._clock = lambda: time.time() + 120  # the changing process is long gone
    newcomer = services.registrar.register(Registration(phone=phone))
    assert services.ledger.store.find("phone_number", phone).keycloak_id == newcomer.id
    assert services.ledger.store.reservation(change.reservation_id).state == "retired"
    assert services.users.get(holder.id, fresh=True).attr("phone_number") != phone


def test_a_crash_after_the_keycloak_write_converges_on_the_new_phone(services, gateway):
    old, new = random_phone(), random_phone()
    user = services.registrar.register(Registration(phone=old))
    services.ledger.reserve_change(user, {"phone_number": new})
    gateway.update_user(user.id, attributes={"phone_number": new})  # then the process died
    assert services.users.find_by_phone(new).id == user.id
    record = services.ledger.store.by_keycloak_id(user.id)
    assert record.phone == new
    assert services.ledger.store.find("phone_number", old) is None


def operator_sets_points_during_the_read(operator, proxy, user_id, points):
    """The operator saves while the facade's read of the user is on its way back."""
    reads = user_request("GET", user_id)
    deadline = time.monotonic() + 10
    while not proxy.count(lambda line: reads(line.encode())) and time.monotonic() < deadline:
        time.sleep(0.01)
    rep = operator.get_user(user_id)
    rep["attributes"] = {**rep["attributes"], "points": [points]}
    operator.update_user(user_id, rep)


def race(settings, keycloak, operator, user_id, write):
    proxy, slow = through_proxy(settings, keycloak, user_request("GET", user_id), 3.0)
    try:
        writer = threading.Thread(target=write, args=(slow,))
        writer.start()
        operator_sets_points_during_the_read(operator, proxy, user_id, "999")
        writer.join(timeout=20)
    finally:
        proxy.close()
    return operator.get_user(user_id)["attributes"]


def user_with_points(services, operator):
    user = services.registrar.register(Registration(phone=random_phone()))
    operator_rep = operator.get_user(user.id)
    operator_rep["attributes"]["points"] = ["0"]
    operator.update_user(user.id, operator_rep)
    return user


def test_without_the_guard_a_profile_write_drops_an_operators_concurrent_save(
    settings, keycloak, services, operator
):
    """The lost update the guard is for: a plain read-merge-write overwrites points 999."""
    user = user_with_points(services, operator)
    write = lambda s: s.identity.update_user(user.id, attributes={"nickname": "花"})  # noqa: E731
    attributes = race(settings, keycloak, operator, user.id, write)
    assert attributes["nickname"] == ["花"] and attributes["points"] == ["0"]


def test_a_profile_write_keeps_an_operators_save_that_raced_it(
    settings, keycloak, services, operator
):
    user = user_with_points(services, operator)
    write = lambda s: s.accounts.update_profile(user, {"nickname": "花"})  # noqa: E731
    attributes = race(settings, keycloak, operator, user.id, write)
    assert attributes["nickname"] == ["花"] and attributes["points"] == ["999"]
    assert attributes["uid"] == [user.attr("uid")]


def test_the_facades_own_writes_to_one_user_take_turns(settings, keycloak, services, operator):
    """Each write carries the other's attribute as it read it: unserialised, the later PUT
    would put the other's old value back."""
    user = services.registrar.register(Registration(phone=random_phone()))
    services.accounts.update_profile(
        user, {"nickname": "old", "avatar": "https://example.com/o.png"}
    )
    proxy, slow = through_proxy(settings, keycloak, user_request("GET", user.id), 2.0)
    other = build_services(settings.with_changes(keycloak_url=proxy.url, profile_cache_ttl=0))
    try:
        writers = [
            threading.Thread(target=lambda: slow.accounts.update_profile(user, {"nickname": "a"})),
            threading.Thread(
                target=lambda: other.accounts.update_profile(
                    user, {"avatar": "https://example.com/a.png"}
                )
            ),
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=20)
    finally:
        proxy.close()
    attributes = operator.get_user(user.id)["attributes"]
    assert attributes["nickname"] == ["a"] and attributes["avatar"] == ["https://example.com/a.png"]
