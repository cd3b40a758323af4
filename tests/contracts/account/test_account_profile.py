"""``facade.core.account_profile`` against the real Keycloak and Redis: the calls account adds."""

from __future__ import annotations

import pytest

from facade.core.account_profile import OWN_PHONE, AccountProfiles, phone_verified
from facade.core.errors import AlreadyExists, InvalidInput
from facade.core.models import Registration, User
from tests.conftest import random_phone, random_username


@pytest.fixture
def profiles(account) -> AccountProfiles:
    s = account.services
    return AccountProfiles(s.identity, s.users, s.registrar, s.sessions)


def test_register_unproven_stores_the_phone_explicitly_unverified(profiles, account):
    phone = random_phone()
    profile = profiles.register_unproven("account", random_username(), phone, "secret-1")
    assert (profile.has_password, profile.phone_verified) == (True, False)
    stored = account.services.users.find_by_phone(phone)
    assert stored is not None and stored.attr("phone_number_verified") == "false"
    assert profiles.profile(stored).has_password is True


def test_phone_verified_holds_unless_marked_false():
    assert phone_verified(User("1", "a", attributes={"phone_number": "13800138000"})) is True
    marked = {"phone_number": "13800138000", "phone_number_verified": "false"}
    assert phone_verified(User("1", "a", attributes=marked)) is False
    assert phone_verified(User("1", "a")) is False


def test_username_exists_ignores_case(profiles):
    name = random_username()
    profiles.register_unproven("account", name.upper(), random_phone(), "secret-1")
    assert profiles.username_exists(name) and profiles.username_exists(name.upper())
    assert not profiles.username_exists(random_username())


def test_complete_registration_writes_username_and_unverified_email_in_one_update(
    profiles, account
):
    phone = random_phone()
    user = account.services.registrar.register(Registration(phone=phone, phone_verified=True))
    name, email = random_username(), f"{random_username()}@example.com"
    profile = profiles.complete_registration(user, username=name, phone=phone, email=email)
    assert (profile.user.username, profile.user.email) == (name, email)
    assert (profile.user.email_verified, profile.has_password) == (False, False)
    stored = account.services.identity.get_user(user.id)
    assert stored is not None
    assert (stored.username, stored.email, stored.email_verified) == (name, email, False)


def test_complete_registration_keeps_a_verified_email_named_again(profiles, account):
    phone, email = random_phone(), f"{random_username()}@example.com"
    user = account.services.registrar.register(
        Registration(phone=phone, phone_verified=True, email=email, email_verified=True)
    )
    profile = profiles.complete_registration(user, username=user.username, phone=phone, email=email)
    assert profile.user.email_verified is True


def test_complete_registration_refuses_phones_that_are_not_the_callers(profiles, account):
    registrar = account.services.registrar
    other = registrar.register(Registration(phone=random_phone(), phone_verified=True))
    user = registrar.register(Registration(phone=random_phone(), phone_verified=True))
    with pytest.raises(AlreadyExists) as taken:
        profiles.complete_registration(
            user, username="x" + user.username, phone=str(other.attr("phone_number"))
        )
    assert taken.value.field == "phone"
    with pytest.raises(InvalidInput) as foreign:
        profiles.complete_registration(user, username="x" + user.username, phone=random_phone())
    assert foreign.value.field == OWN_PHONE
    assert foreign.value.errors[0]["loc"] == ["phone"]
