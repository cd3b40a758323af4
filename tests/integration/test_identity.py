"""The identity core against the real Keycloak and Redis."""

from __future__ import annotations

import threading
import time

import pytest

from facade.bootstrap import Services, build_services
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
)
from facade.core.models import Registration
from tests.conftest import random_phone, random_username

PASSWORD = "Secret123"


@pytest.fixture
def services(settings) -> Services:
    return build_services(settings.with_changes(profile_cache_ttl=0.5))


def register(services: Services, **fields):
    fields.setdefault("phone", random_phone())
    fields.setdefault("password", PASSWORD)
    return services.registrar.register(Registration(**fields))


def test_registered_user_signs_in_with_password_by_username_phone_and_email(services):
    username = random_username()
    user = register(
        services,
        username=username,
        email=f"{username}@example.com",
        attributes={"nickname": "Ada"},
    )
    phone = user.attr("phone_number")
    typed_phone = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    for login in (
        username,
        f"{username}@example.com",
        f"{username.upper()}@EXAMPLE.COM",
        typed_phone,
    ):
        signed_in = services.sessions.sign_in_password("vcode", login, PASSWORD)
        assert signed_in.user.id == user.id
        principal = services.sessions.authenticate("vcode", signed_in.tokens.access_token)
        assert principal.user.attr("nickname") == "Ada"
    with pytest.raises(InvalidCredentials):
        services.sessions.sign_in_password("vcode", username, "Wrong1234")
    with pytest.raises(NotFound):
        services.sessions.sign_in_password("vcode", random_username(), PASSWORD)


def test_user_without_username_gets_the_phone_as_username(services):
    user = register(services)
    assert user.username == user.attr("phone_number")
    stored = services.identity.get_user(user.id)
    assert stored.username == user.attr("phone_number")


def test_generated_username_that_is_taken_gets_a_suffix(services):
    phone = random_phone()
    register(services, username=phone, phone=None)
    user = register(services, phone=phone)
    assert user.username.startswith(phone + "-")


def test_thirty_parallel_registrations_of_one_phone_create_exactly_one_user(services):
    phone = random_phone()
    created, conflicts, other = [], [], []
    barrier = threading.Barrier(30)

    def attempt():
        barrier.wait()
        try:
            created.append(services.registrar.register(Registration(phone=phone)))
        except AlreadyExists as exc:
            conflicts.append(exc.field)
        except Exception as exc:
            other.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(created) == 1
    assert conflicts == ["phone"] * 29
    assert [u.id for u in services.identity.find_by_attribute("phone_number", phone)] == [
        created[0].id
    ]


def test_wechat_ids_are_unique_too(services):
    register(services, phone=None, attributes={"wechat_openid": "o" + random_username()})
    unionid = "u" + random_username()
    register(services, phone=None, attributes={"wechat_unionid": unionid})
    with pytest.raises(AlreadyExists) as error:
        register(services, phone=None, attributes={"wechat_unionid": unionid})
    assert error.value.field == "wechat"


def test_uids_are_unique_increasing_and_stored_in_keycloak(services):
    first, second = register(services), register(services)
    assert int(second.attr("uid")) > int(first.attr("uid")) > 0
    assert services.identity.get_user(second.id).attr("uid") == second.attr("uid")
    assert services.users.find_by_uid(int(first.attr("uid"))).id == first.id


def test_uid_allocation_resumes_above_keycloak_after_redis_lost_its_counter(services, redis_client):
    before = register(services)
    redis_client.delete(services.keys.uid_counter())
    # Taken before the next registration, so users others register meanwhile cannot race it.
    highest_before = max(int(v) for v in services.identity.all_attribute_values("uid"))
    after = register(services)
    assert int(after.attr("uid")) > int(before.attr("uid"))
    assert int(after.attr("uid")) > highest_before


def test_password_policy_violation_creates_no_user(services):
    phone = random_phone()
    with pytest.raises(InvalidInput) as error:
        register(services, phone=phone, password="short")
    assert error.value.field == "password"
    assert services.identity.find_by_attribute("phone_number", phone) == []


def test_index_follows_an_operator_changing_a_phone_in_the_admin_console(services, operator):
    user = register(services)
    old_phone, new_phone = user.attr("phone_number"), random_phone()
    assert services.users.find_by_phone(old_phone).id == user.id  # indexed

    raw = operator.get_user(user.id)
    raw["attributes"]["phone_number"] = [new_phone]
    operator.update_user(user.id, raw)

    assert services.users.find_by_phone(old_phone) is None
    assert services.users.find_by_phone(new_phone).id == user.id
    assert services.users.find_by_phone(new_phone).id == user.id  # now from the index


def test_a_disabled_user_cannot_sign_in_by_any_route_and_tokens_stop_working(services, operator):
    user = register(services)
    password_session = services.sessions.sign_in_password("member", user.username, PASSWORD).tokens
    verified_session = services.sessions.sign_in_verified("member", user)
    services.sessions.authenticate("member", verified_session.access_token)

    operator.update_user(user.id, {"enabled": False})
    time.sleep(0.6)  # the profile cache of this test lives 0.5 s

    with pytest.raises(AccountDisabled):
        services.sessions.sign_in_password("member", user.username, PASSWORD)
    with pytest.raises(AccountDisabled):
        services.sessions.sign_in_verified("member", user)
    for tokens in (password_session, verified_session):
        with pytest.raises(InvalidToken):
            services.sessions.refresh("member", tokens.refresh_token)
        with pytest.raises(InvalidToken):
            services.sessions.authenticate("member", tokens.access_token)


def test_after_logout_the_sessions_tokens_are_refused_at_once(services):
    user = register(services)
    tokens = services.sessions.sign_in_verified("member", user)
    other = services.sessions.sign_in_verified("member", user)
    principal = services.sessions.authenticate("member", tokens.access_token)

    services.sessions.logout("member", principal.claims)

    with pytest.raises(InvalidToken):
        services.sessions.authenticate("member", tokens.access_token)
    with pytest.raises(InvalidToken):
        services.sessions.refresh("member", tokens.refresh_token)
    # Another session of the same user is untouched.
    assert services.sessions.authenticate("member", other.access_token).user.id == user.id
    services.sessions.refresh("member", other.refresh_token)


def test_logout_is_seen_by_a_second_facade_process_sharing_redis(settings, services):
    user = register(services)
    tokens = services.sessions.sign_in_verified("customer", user)
    second_process = build_services(settings)
    principal = second_process.sessions.authenticate("customer", tokens.access_token)
    services.sessions.logout("customer", principal.claims, tokens.refresh_token)
    with pytest.raises(InvalidToken):
        second_process.sessions.authenticate("customer", tokens.access_token)


def test_refreshed_tokens_keep_working_and_the_old_session_id(services):
    user = register(services)
    tokens = services.sessions.sign_in_verified("customer", user)
    refreshed = services.sessions.refresh("customer", tokens.refresh_token)
    principal = services.sessions.authenticate("customer", refreshed.access_token)
    assert principal.claims.session_id == tokens.session_id


def test_change_password_checks_the_old_one(services):
    user = register(services)
    with pytest.raises(InvalidCredentials):
        services.accounts.change_password("account", user, "Wrong1234", "NewSecret456")
    services.accounts.change_password("account", user, PASSWORD, "NewSecret456")
    services.sessions.sign_in_password("account", user.username, "NewSecret456")
    with pytest.raises(InvalidCredentials):
        services.sessions.sign_in_password("account", user.username, PASSWORD)


def test_initial_password_only_when_none_exists(services):
    user = register(services, password=None)
    assert services.accounts.has_password(user) is False
    services.accounts.set_initial_password(user, "First1234")
    assert services.accounts.has_password(user) is True
    with pytest.raises(AlreadyExists) as error:
        services.accounts.set_initial_password(user, "Second1234")
    assert error.value.field == "password"


def test_password_reset_refuses_every_earlier_token(services):
    user = register(services)
    tokens = services.sessions.sign_in_verified("vcode", user)
    services.accounts.reset_password(user, "Reset12345")
    with pytest.raises(InvalidToken):
        services.sessions.authenticate("vcode", tokens.access_token)
    with pytest.raises(InvalidToken):
        services.sessions.refresh("vcode", tokens.refresh_token)
    fresh = services.sessions.sign_in_password("vcode", user.username, "Reset12345").tokens
    services.sessions.authenticate("vcode", fresh.access_token)


def test_change_username_is_unique(services):
    taken = register(services, username=random_username())
    user = register(services)
    with pytest.raises(AlreadyExists) as error:
        services.accounts.change_username(user, taken.username)
    assert error.value.field == "username"
    new_name = random_username()
    services.accounts.change_username(user, new_name)
    assert services.sessions.sign_in_password("account", new_name, PASSWORD).user.id == user.id


def test_set_phone_conflicts_with_another_users_phone_and_moves_the_index(services):
    holder, user = register(services), register(services)
    with pytest.raises(AlreadyExists) as error:
        services.accounts.set_phone(user, holder.attr("phone_number"))
    assert error.value.field == "phone"
    old_phone, new_phone = user.attr("phone_number"), random_phone()
    services.accounts.set_phone(user, new_phone)
    assert services.users.find_by_phone(new_phone).id == user.id
    assert services.users.find_by_phone(old_phone) is None
    assert services.identity.get_user(user.id).attr("phone_number_verified") == "true"


def test_profile_updates_are_visible_at_once_and_operator_edits_within_the_cache_ttl(
    services, operator
):
    user = register(services, attributes={"nickname": "before"})
    assert services.users.get(user.id).attr("nickname") == "before"
    services.accounts.update_profile(user, {"nickname": "after", "points": "10"})
    assert services.users.get(user.id).attr("nickname") == "after"
    assert services.users.get(user.id).attr("phone_number") == user.attr("phone_number")

    raw = operator.get_user(user.id)
    raw["attributes"]["nickname"] = ["by-operator"]
    operator.update_user(user.id, raw)
    time.sleep(0.6)
    assert services.users.get(user.id).attr("nickname") == "by-operator"


def test_a_user_created_in_the_admin_console_gets_a_uid_and_invite_code_once(services, operator):
    user_id = operator.create_user({"username": random_username(), "enabled": True})
    user = services.users.get(user_id)
    assert user.attr("uid") is None
    first = services.registrar.ensure_identifiers(user)
    second = services.registrar.ensure_identifiers(services.users.get(user_id, fresh=True))
    assert first.attr("uid") == second.attr("uid") is not None
    assert first.attr("invite_code") == second.attr("invite_code") is not None
    assert services.users.find_by_uid(int(first.attr("uid"))).id == user_id
