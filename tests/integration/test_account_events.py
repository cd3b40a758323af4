"""Users' own changes to themselves reach the facade at the follower's next poll, against the
real Keycloak: a user edits their profile through Keycloak's account REST API (what the account
console sends), and the follower settles the store and drops the cached profile."""

from __future__ import annotations

import time

import pytest
import requests

from facade.adapters.keycloak_admin_events import ACCOUNT_EVENT_TYPES, _account_event_from
from facade.bootstrap import Services, build_services
from facade.core.admin_event_follower import ACCOUNT_CURSOR_KEY, CURSOR_KEY, Cursor
from facade.core.models import Registration, User
from facade.realm.apply import load_realm
from tests.conftest import random_phone, random_username
from tests.following import OnlyTheseUsers

PASSWORD = "Secret123"


@pytest.fixture
def services(settings) -> Services:
    return build_services(settings.with_changes(profile_cache_ttl=600))


def account(services: Services, user: User) -> tuple[str, dict[str, str]]:
    """The account REST API's URL and the user's own headers (a password grant's token)."""
    tokens = services.identity.password_grant("member", user.username, PASSWORD)
    realm = f"{services.settings.keycloak_url}/realms/{services.settings.keycloak_realm}"
    headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
    return f"{realm}/account/", headers


def follower_from_now(services: Services, user: User) -> OnlyTheseUsers:
    now = Cursor(int(time.time() * 1000) - 1000).dump()
    for key in (CURSOR_KEY, ACCOUNT_CURSOR_KEY):
        services.ledger.store.set_meta(key, now)
    return OnlyTheseUsers(services, {user.id})


def test_the_realm_stores_exactly_the_user_events_the_follower_reads():
    realm = load_realm()
    assert realm["eventsEnabled"] is True
    assert sorted(realm["enabledEventTypes"]) == sorted(ACCOUNT_EVENT_TYPES)


def test_a_users_own_edit_in_the_account_console_reaches_bearer_checks_at_the_next_poll(
    services,
):
    user = services.registrar.register(
        Registration(
            username=random_username(), phone=random_phone(), password=PASSWORD, phone_verified=True
        )
    )
    follower = follower_from_now(services, user)
    tokens = services.identity.password_grant("member", user.username, PASSWORD)
    before = services.sessions.authenticate("member", tokens.access_token).user
    assert before.attr("nickname") != "自己改的"
    url, headers = account(services, user)
    mine = requests.get(url, headers=headers, timeout=10).json()
    mine["attributes"] = {**mine.get("attributes", {}), "nickname": ["自己改的"]}
    saved = requests.post(url, headers=headers, json=mine, timeout=10)
    assert saved.status_code == 204, saved.text
    # Cached for the test's 600 s: without the follower, checks would not see the edit yet.
    cached = services.sessions.authenticate("member", tokens.access_token).user
    assert cached.attr("nickname") == before.attr("nickname")

    assert follower.poll() >= 1

    after = services.sessions.authenticate("member", tokens.access_token).user
    assert after.attr("nickname") == "自己改的"
    assert follower.poll() == 0  # seen: not handled twice


def test_a_deleted_account_is_a_deletion_of_its_user_and_anything_else_an_update():
    deleted = _account_event_from(
        {"id": "e1", "time": 5, "type": "DELETE_ACCOUNT", "userId": "u-1", "details": {}}
    )
    assert deleted is not None
    assert (deleted.operation, deleted.user_id, deleted.author_id, deleted.time_ms) == (
        "DELETE",
        "u-1",
        "u-1",
        5,
    )
    edited = _account_event_from({"id": "e2", "time": 6, "type": "UPDATE_PROFILE", "userId": "u"})
    assert edited is not None and (edited.operation, edited.user_id) == ("UPDATE", "u")
    assert _account_event_from({"id": "e3", "time": 7, "type": "UPDATE_PROFILE"}) is None
