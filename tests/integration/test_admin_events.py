"""Operators' changes reach the facade: the admin-event follower against the real Keycloak,
with an operator acting through the admin REST API as the admin console does."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time

import pytest

from facade.adapters.keycloak_admin_events import KeycloakAdminEvents
from facade.bootstrap import build_services
from facade.core.admin_event_follower import CURSOR_KEY, AdminEventFollower, Cursor
from facade.core.models import Registration
from tests.conftest import random_phone, random_username


@pytest.fixture
def services(settings):
    return build_services(settings.with_changes(profile_cache_ttl=0))


class OwnUsersFollower(AdminEventFollower):
    """The follower, settling only the users this test made: other tests share this Keycloak
    and its operator, and their users are not this test's to change. Records what it handled."""

    def __init__(self, services, mine: set[str], page_size: int = 100) -> None:
        super().__init__(
            services.ledger, KeycloakAdminEvents(services.identity, "facade"), page_size=page_size
        )
        self.mine = mine
        self.handled: list[str] = []

    def handle(self, event):
        if event.user_id in self.mine:
            self.handled.append(event.user_id)
            super().handle(event)


MINE: set[str] = set()


@pytest.fixture
def follower(services):
    """A follower that starts now (the session's store is shared, so is its cursor)."""
    services.ledger.store.set_meta(CURSOR_KEY, Cursor(int(time.time() * 1000) - 1000).dump())
    return OwnUsersFollower(services, MINE)


def console_user(operator, phone: str | None = None) -> str:
    attributes = {"phone_number": [phone]} if phone else {}
    user_id = operator.create_user(
        {"username": random_username("op"), "enabled": True, "attributes": attributes}
    )
    MINE.add(user_id)
    return user_id


def edit(operator, user_id: str, **attributes: str) -> None:
    """A console save: the whole representation as the form holds it, with these changes."""
    rep = operator.get_user(user_id)
    rep["attributes"] = {**(rep.get("attributes") or {}), **{k: [v] for k, v in attributes.items()}}
    operator.update_user(user_id, rep)


def test_a_user_created_in_the_console_gets_its_uid_and_invite_code_from_the_store(
    services, follower, operator
):
    phone = random_phone()
    user_id = console_user(operator, phone)
    follower.poll()
    assert user_id in follower.handled
    record = services.ledger.store.by_keycloak_id(user_id)
    attributes = operator.get_user(user_id)["attributes"]
    assert record.state == "active" and record.phone == phone
    assert attributes["uid"] == [str(record.uid)]
    assert attributes["invite_code"] == [record.invite_code]


def test_a_phone_set_in_the_console_moves_in_the_store(services, follower, operator):
    old, new = random_phone(), random_phone()
    user_id = console_user(operator, old)
    follower.poll()
    edit(operator, user_id, phone_number=new)
    follower.poll()
    store = services.ledger.store
    assert store.find("phone_number", new).keycloak_id == user_id
    assert store.find("phone_number", old) is None  # freed for someone else


def test_another_users_phone_set_in_the_console_is_reported_not_bound(
    services, follower, operator, caplog
):
    phone = random_phone()
    holder = services.registrar.register(Registration(phone=phone))
    user_id = console_user(operator)
    follower.poll()
    with caplog.at_level(logging.ERROR, logger="facade.core.admin_event_follower"):
        edit(operator, user_id, phone_number=phone)
        follower.poll()
    assert services.ledger.store.find("phone_number", phone).keycloak_id == holder.id
    assert services.ledger.store.by_keycloak_id(user_id).phone is None
    assert any("duplicate phone_number" in r.getMessage() for r in caplog.records)


def test_a_user_deleted_in_the_console_retires_its_uid_for_good(services, follower, operator):
    phone = random_phone()
    user_id = console_user(operator, phone)
    follower.poll()
    uid = services.ledger.store.by_keycloak_id(user_id).uid
    operator.delete_user(user_id)
    follower.poll()
    record = services.ledger.store.by_keycloak_id(user_id)
    assert (record.state, record.uid, record.phone) == ("retired", uid, None)
    newcomer = services.registrar.register(Registration(phone=phone))  # the phone is free
    assert int(newcomer.attr("uid")) > uid
    assert services.ledger.store.find("uid", str(uid)) is None


def test_an_operators_edit_of_uid_or_invite_code_is_reverted(services, follower, operator, caplog):
    user_id = console_user(operator)
    follower.poll()
    record = services.ledger.store.by_keycloak_id(user_id)
    with caplog.at_level(logging.WARNING, logger="facade.core.identity_ledger"):
        edit(operator, user_id, uid=str(record.uid + 1000), invite_code="ZZZZ2222")
        follower.poll()
    attributes = operator.get_user(user_id)["attributes"]
    assert attributes["uid"] == [str(record.uid)]
    assert attributes["invite_code"] == [record.invite_code]
    assert sum("restored the store's" in r.getMessage() for r in caplog.records) == 2


def test_a_restarted_follower_resumes_at_its_cursor_without_redoing_anything(
    services, follower, operator
):
    first = console_user(operator)
    follower.poll()
    assert first in follower.handled
    events = KeycloakAdminEvents(services.identity, "facade")
    facade_writes = events.user_events(0, 0, 100, user_id=first)
    later = console_user(operator)  # made while no follower runs
    restarted = OwnUsersFollower(build_services(services.settings), MINE)
    restarted.poll()
    assert restarted.handled == [later]  # only what happened while it was down
    assert services.ledger.store.by_keycloak_id(later).state == "active"
    assert events.user_events(0, 0, 100, user_id=first) == facade_writes  # nothing redone
    restarted.handled.clear()
    restarted.poll()
    assert restarted.handled == []


def test_stale_reservations_converge_without_anyone_looking_them_up(services, operator):
    """A registration whose answer was lost (the user was made) and one that crashed before
    Keycloak (no user): the follower's sweep binds the first and undoes the second, so
    `facade identities check` has nothing to report about them."""
    store, ledger = services.ledger.store, services.ledger
    ledger.ensure_seeded()
    made_phone, lost_phone = random_phone(), random_phone()
    made = store.reserve({"phone_number": made_phone}, made_phone, lambda: secrets.token_hex(4))
    lost = store.reserve({"phone_number": lost_phone}, lost_phone, lambda: secrets.token_hex(4))
    made_id = operator.create_user(
        {
            "username": made_phone,
            "enabled": True,
            "attributes": {"phone_number": [made_phone], "uid": [str(made.uid)]},
        }
    )
    MINE.add(made_id)
    ledger.settle_stale()  # fresh reservations belong to registrations still running
    assert store.reservation(made.reservation_id).state == "reserved"
    assert store.reservation(lost.reservation_id).state == "reserved"
    ledger._clock = lambda: time.time() + 120  # their owners are long gone
    assert ledger.settle_stale(limit=1000) >= 2
    assert (
        store.reservation(made.reservation_id).state,
        store.find("phone_number", made_phone).keycloak_id,
    ) == ("active", made_id)
    assert store.reservation(lost.reservation_id).state == "retired"
    assert store.find("phone_number", lost_phone) is None


def imported_user(operator, phone: str, **attributes: list[str]) -> str:
    """A user brought in by the console's partial import, which checks no user-profile rule
    (so it can hold what a save would refuse) and records a REALM event on the user's path."""
    answer = operator.connection.raw_post(
        f"admin/realms/{operator.connection.realm_name}/partialImport",
        data=json.dumps(
            {
                "ifResourceExists": "FAIL",
                "users": [
                    {
                        "username": random_username("imp"),
                        "enabled": True,
                        "attributes": {"phone_number": [phone], **attributes},
                    }
                ],
            }
        ),
    )
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    MINE.add(result["id"])
    return str(result["id"])


def test_a_partially_imported_user_holding_a_value_twice_is_adopted(services, follower, operator):
    phone = random_phone()
    # Keycloak refuses a save that sends its own stored duplicate back on a single-valued
    # attribute; the facade's write sends each value once.
    user_id = imported_user(operator, phone, gender=["female", "female"])
    follower.poll()
    assert user_id in follower.handled  # a REALM event, on the user's path
    record = services.ledger.store.by_keycloak_id(user_id)
    attributes = operator.get_user(user_id)["attributes"]
    assert record.state == "active" and record.phone == phone
    assert attributes["uid"] == [str(record.uid)]
    assert attributes["invite_code"] == [record.invite_code]


def test_a_user_keycloak_refuses_to_write_back_does_not_stop_the_follower(
    services, follower, operator, caplog
):
    refused = imported_user(operator, random_phone(), gender=["not-an-option"])
    later_phone = random_phone()
    later = console_user(operator, later_phone)
    with caplog.at_level(logging.ERROR, logger="facade.core.admin_event_follower"):
        follower.poll()
    # (MINE also holds earlier tests' users, whose events may be read again)
    assert [user for user in follower.handled if user in (refused, later)] == [refused, later]
    assert services.ledger.store.find("phone_number", later_phone).keycloak_id == later
    assert any(
        refused in r.getMessage() and "could not be settled" in r.getMessage()
        for r in caplog.records
    )
    follower.handled.clear()
    follower.poll()  # the cursor passed it: not retried on every poll
    assert refused not in follower.handled


def test_a_backlog_is_read_page_by_page_from_the_newest_event_read(services, operator):
    """Pages of one event: each starts where the last one ended, and nothing is missed."""
    services.ledger.store.set_meta(CURSOR_KEY, Cursor(int(time.time() * 1000) - 1000).dump())
    made = [console_user(operator, random_phone()) for _ in range(3)]
    one_by_one = OwnUsersFollower(services, MINE, page_size=1)
    one_by_one.poll()
    assert [user for user in one_by_one.handled if user in made] == made
    assert all(services.ledger.store.by_keycloak_id(user).state == "active" for user in made)


def test_the_follower_seeds_a_new_stores_uids_above_the_realms_before_any_registration(
    settings, operator, tmp_path
):
    """A new deployment's first registration must not page every realm user while its client
    waits: the follower finds the uid floor first, and a registration then starts above it."""
    from facade.core.identity_ledger import SEEDED_KEY

    fresh = build_services(settings.with_changes(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    store = fresh.ledger.store
    highest = 900_000_000 + secrets.randbelow(1_000_000)  # far above any test's, below 2**31
    older = operator.create_user(
        {
            "username": random_username("older"),
            "enabled": True,
            "attributes": {"uid": [str(highest)]},
        }
    )
    try:
        assert store.meta(SEEDED_KEY) is None

        class OnePoll(AdminEventFollower):
            def poll(self) -> int:
                stop.set()  # this pass of the loop is the only one
                return 0

        stop = threading.Event()
        OnePoll(fresh.ledger, KeycloakAdminEvents(fresh.identity, "facade")).run(0, stop)
        assert int(store.meta(SEEDED_KEY) or 0) >= highest
    finally:
        operator.delete_user(older)
    user = fresh.registrar.register(Registration(phone=random_phone(), phone_verified=True))
    operator.delete_user(user.id)  # later new stores of this realm need not start up there
    assert int(user.attr("uid")) > highest
