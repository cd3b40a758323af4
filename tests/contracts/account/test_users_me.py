"""account.md's bearer endpoints: complete-registration, /users/me..., logout; and the
pre-hijacking rule for a phone given at /register without proof."""

from __future__ import annotations

import pytest

from tests.conftest import random_phone, random_username
from tests.contracts.account.conftest import PASSWORD, after_a_wrong_password

UNAUTHORIZED = {"detail": "Could not validate credentials"}
BEARER_ROUTES = [
    ("POST", "/complete-registration", {"username": "someone", "phone": "13800138000"}),
    ("GET", "/users/me", None),
    ("PUT", "/users/me/password", {"old_password": "a", "new_password": "secret-2"}),
    ("PUT", "/users/me/username", {"new_username": "someone"}),
    ("POST", "/users/me/set-password", {"new_password": "secret-2"}),
    ("GET", "/users/me/has-password", None),
    ("POST", "/logout", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BEARER_ROUTES)
def test_every_bearer_route_refuses_a_missing_or_foreign_token(account, method, path, body):
    for token in (None, "not-a-token"):
        response = account.request(method, path, body, token=token)
        assert (response.status_code, response.json) == (401, UNAUTHORIZED)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    user = account.register()
    found = account.services.identity.get_user(user["id"])
    assert found is not None
    member_token = account.services.sessions.sign_in_verified("member", found).access_token
    foreign = account.request(method, path, body, token=member_token)
    assert (foreign.status_code, foreign.json) == (401, UNAUTHORIZED)


def test_users_me_answers_the_registered_user(account):
    user = account.register()
    me = account.get("/users/me", token=account.token(user["username"]))
    assert (me.status_code, me.json) == (200, user)


def test_complete_registration_names_the_phone_user_and_stores_the_email_unverified(account):
    phone = random_phone()
    token = account.code_token(phone)
    username, email = random_username(), f"{random_username()}@Example.com"
    response = account.post(
        "/complete-registration",
        {"username": username.upper(), "phone": f"+86{phone}", "email": email},
        token=token,
    )
    assert response.status_code == 200, response.text
    assert response.json == {
        "id": response.json["id"],
        "username": username,
        "phone": phone,
        "email": email.lower(),
        "phone_verified": True,
        "email_verified": False,
        "has_password": False,
    }
    assert account.get("/users/me", token=token).json == response.json
    # Without email, the user keeps the one it has.
    again = account.post(
        "/complete-registration", {"username": username, "phone": phone}, token=token
    )
    assert again.status_code == 200, again.text
    assert again.json["email"] == email.lower()


def test_complete_registration_refuses_another_users_or_a_foreign_phone(account):
    other = account.register()
    token = account.code_token()
    taken = account.post(
        "/complete-registration",
        {"username": random_username(), "phone": other["phone"]},
        token=token,
    )
    assert (taken.status_code, taken.json) == (400, {"detail": "Phone number already registered"})
    foreign = account.post(
        "/complete-registration",
        {"username": random_username(), "phone": random_phone()},
        token=token,
    )
    assert (foreign.status_code, foreign.json) == (
        400,
        {"detail": "Phone number does not belong to the current user"},
    )


def test_complete_registration_refuses_a_taken_username_or_email_and_writes_nothing(account):
    other = account.register()
    other_token = account.token(other["username"])
    other_email = f"{random_username()}@example.com"
    assert (
        account.post(
            "/complete-registration",
            {"username": other["username"], "phone": other["phone"], "email": other_email},
            token=other_token,
        ).status_code
        == 200
    )
    phone = random_phone()
    token = account.code_token(phone)
    name = account.post(
        "/complete-registration",
        {"username": other["username"].upper(), "phone": phone},
        token=token,
    )
    assert (name.status_code, name.json) == (400, {"detail": "Username already registered"})
    fresh = random_username()
    email = account.post(
        "/complete-registration",
        {"username": fresh, "phone": phone, "email": other_email},
        token=token,
    )
    assert (email.status_code, email.json) == (400, {"detail": "Email already registered"})
    me = account.get("/users/me", token=token).json
    assert (me["username"], me["email"]) == (phone, None)


def test_change_password_needs_the_old_one_and_the_new_one_works_at_once(account):
    user = account.register()
    token = account.token(user["username"])
    wrong = account.put(
        "/users/me/password", {"old_password": "not-it", "new_password": "secret-2"}, token=token
    )
    assert (wrong.status_code, wrong.json) == (401, {"detail": "旧密码不正确"})
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    after_a_wrong_password()
    changed = account.put(
        "/users/me/password", {"old_password": PASSWORD, "new_password": "secret-2"}, token=token
    )
    assert (changed.status_code, changed.json) == (200, {"message": "密码修改成功"})
    assert account.login(user["username"]).status_code == 401
    after_a_wrong_password()
    assert account.login(user["username"], "secret-2").status_code == 200
    # Checking the old password left no session behind in Keycloak.
    sessions = account.services.identity.session_ids(user["id"])
    assert len(sessions) == 2  # the first sign-in and the last one


def test_change_password_with_an_empty_old_or_new_password_is_the_documented_400(account):
    user = account.register()
    token = account.token(user["username"])
    for body in (
        {"old_password": "", "new_password": "secret-2"},
        {"old_password": PASSWORD, "new_password": ""},
    ):
        response = account.put("/users/me/password", body, token=token)
        assert (response.status_code, response.json) == (400, {"detail": "旧密码或新密码缺失"})
    missing = account.put("/users/me/password", {"new_password": "secret-2"}, token=token)
    assert missing.status_code == 422
    assert missing.json["detail"] == [
        {"loc": ["body", "old_password"], "msg": "Field required", "type": "missing"}
    ]


def test_change_username_then_sign_in_by_the_new_name_everywhere(account):
    user = account.register()
    token = account.token(user["username"])
    new = random_username()
    response = account.put("/users/me/username", {"new_username": new.upper()}, token=token)
    assert (response.status_code, response.json) == (200, {"message": "用户名修改成功"})
    assert account.get("/users/me", token=token).json["username"] == new
    assert account.login(new).status_code == 200
    assert account.login(user["username"]).status_code == 401
    signed_in = account.services.sessions.sign_in_password("captcha", new, PASSWORD)
    assert signed_in.user.id == user["id"]
    assert account.post("/check-username", {"username": new}).json == {"exists": True}
    assert account.post("/check-username", {"username": user["username"]}).json == {"exists": False}


def test_change_username_to_a_taken_one_is_400(account):
    other = account.register()
    user = account.register()
    response = account.put(
        "/users/me/username",
        {"new_username": other["username"].upper()},
        token=account.token(user["username"]),
    )
    assert (response.status_code, response.json) == (400, {"detail": "新用户名已存在"})


def test_a_phone_user_sets_a_password_and_signs_in_by_it_here_and_in_other_contracts(account):
    phone = random_phone()
    token = account.code_token(phone)
    assert account.get("/users/me/has-password", token=token).json == {"has_password": False}
    response = account.post("/users/me/set-password", {"new_password": "secret-9"}, token=token)
    assert (response.status_code, response.json) == (200, {"message": "初始密码设置成功"})
    assert account.get("/users/me/has-password", token=token).json == {"has_password": True}
    assert account.login(phone, "secret-9").status_code == 200
    sessions = account.services.sessions
    for contract in ("captcha", "vcode"):
        signed_in = sessions.sign_in_password(contract, phone, "secret-9")
        assert signed_in.user.attr("phone_number") == phone
        assert sessions.authenticate(contract, signed_in.tokens.access_token).user.id == (
            signed_in.user.id
        )
    again = account.post("/users/me/set-password", {"new_password": "secret-8"}, token=token)
    assert (again.status_code, again.json) == (400, {"detail": "用户已设置密码"})
    assert account.login(phone, "secret-9").status_code == 200


def test_logout_refuses_the_token_at_once_everywhere(account):
    user = account.register()
    token = account.token(user["username"])
    other_session = account.token(user["username"])
    response = account.post("/logout", token=token)
    assert (response.status_code, response.json) == (200, {"message": "Successfully logged out"})
    for path in ("/users/me", "/users/me/has-password"):
        refused = account.get(path, token=token)
        assert (refused.status_code, refused.json) == (401, UNAUTHORIZED)
    assert account.post("/logout", token=token).status_code == 401
    # Only that session ended, in Keycloak too.
    assert account.get("/users/me", token=other_session).status_code == 200
    assert len(account.services.identity.session_ids(user["id"])) == 1


def test_a_phone_proven_by_code_wins_over_the_one_given_at_register(account):
    """Pre-hijacking: whoever registered someone else's phone loses password and sessions."""
    squatter = account.register()
    squatter_token = account.token(squatter["username"])
    owner_token = account.code_token(squatter["phone"])
    me = account.get("/users/me", token=owner_token).json
    assert me["id"] == squatter["id"]
    assert (me["phone_verified"], me["has_password"]) == (True, False)
    assert account.get("/users/me", token=squatter_token).status_code == 401
    assert account.login(squatter["username"]).status_code == 401
    after_a_wrong_password()
    assert account.get("/users/me/has-password", token=owner_token).json == {"has_password": False}
    # The owner may set a password of their own.
    assert (
        account.post(
            "/users/me/set-password", {"new_password": "owner-pw"}, token=owner_token
        ).status_code
        == 200
    )
    assert account.login(squatter["phone"], "owner-pw").status_code == 200
