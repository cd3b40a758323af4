"""Building the store from an existing realm (resumable) and listing disagreements."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from facade.adapters.identity_store import SqlIdentityStore
from facade.bootstrap import build_services
from facade.core import identity_backfill
from tests.conftest import random_phone, random_username


@pytest.fixture
def services(settings, tmp_path):
    """A store of its own: the realm's users are not in it yet."""
    return build_services(
        settings.with_changes(database_url=f"sqlite:///{tmp_path / 'identities.db'}")
    )


@pytest.fixture
def legacy_users(operator, services):
    """Users as an older facade left them: uid and phone as attributes, no store row."""
    ids = []
    for offset in range(5):
        uid = 9_000_000 + int(random_phone()[-6:]) * 10 + offset
        ids.append(
            operator.create_user(
                {
                    "username": random_username("legacy"),
                    "enabled": True,
                    "attributes": {"uid": [str(uid)], "phone_number": [random_phone()]},
                }
            )
        )
    return [services.identity.get_user(user_id) for user_id in ids]


def pages_of(users, fail_at=None):
    calls = []

    def pages(first, size):
        calls.append(first)
        if fail_at is not None and first >= fail_at:
            raise RuntimeError("the backfill process was killed")
        return users[first : first + size]

    return pages, calls


def test_backfill_keeps_every_legacy_uid_and_resumes_after_a_crash(services, legacy_users):
    ledger = services.ledger
    pages, calls = pages_of(legacy_users, fail_at=2)
    with pytest.raises(RuntimeError):
        identity_backfill.backfill(ledger, pages, page_size=2)
    pages, calls = pages_of(legacy_users)
    read = identity_backfill.backfill(ledger, pages, page_size=2)
    assert calls[0] == 2  # resumed after the first finished page
    assert read == 5
    for user in legacy_users:
        record = ledger.store.by_keycloak_id(user.id)
        assert str(record.uid) == user.attr("uid")
        assert record.phone == user.attr("phone_number")
        assert services.users.find_by_uid(record.uid).id == user.id
    highest = max(int(u.attr("uid")) for u in legacy_users)
    new = services.registrar.register(services_registration())
    assert int(new.attr("uid")) > highest


def services_registration():
    from facade.core.models import Registration

    return Registration(phone=random_phone())


def test_check_lists_what_keycloak_and_the_store_disagree_on(services, legacy_users, operator):
    ledger = services.ledger
    pages, _ = pages_of(legacy_users)
    identity_backfill.backfill(ledger, pages, page_size=10)
    mirrored = [services.identity.get_user(u.id) for u in legacy_users]  # invite codes added
    assert list(identity_backfill.check(ledger, mirrored)) == []

    edited, deleted = legacy_users[0], legacy_users[1]
    raw = operator.get_user(edited.id)
    raw["attributes"]["uid"] = ["1"]
    operator.update_user(edited.id, raw)
    operator.delete_user(deleted.id)
    current = [services.identity.get_user(u.id) for u in legacy_users]
    found = {str(d) for d in identity_backfill.check(ledger, [u for u in current if u])}
    assert found == {
        f"uid={edited.attr('uid')} user={edited.id}: uid: store '{edited.attr('uid')}', "
        "keycloak '1'",
        f"uid={deleted.attr('uid')} user={deleted.id}: keycloak user is gone",
    }


def test_the_migrate_command_brings_a_new_store_to_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    env = {**os.environ, "FACADE_ENV": "development", "FACADE_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "facade.cli", "identities", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "at head (sqlite)" in result.stdout
    assert SqlIdentityStore(url, migrate=False).count() == 0
