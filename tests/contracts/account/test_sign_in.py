"""account.md's open endpoints end to end: register, send-code, check-username, both logins."""

from __future__ import annotations

import jwt

from tests.conftest import random_phone, random_username
from tests.contracts.account.conftest import PASSWORD

BAD_LOGIN = {"detail": "Incorrect username or password"}


def test_register_answers_the_user_object_with_an_unverified_phone(account):
    username, phone = random_username(), random_phone()
    user = account.register(username.upper(), f"+86 {phone}")
    assert user == {
        "id": user["id"],
        "username": username,
        "phone": phone,
        "email": None,
        "phone_verified": False,
        "email_verified": False,
        "has_password": True,
    }
    stored = account.services.identity.get_user(user["id"])
    assert stored is not None and stored.attr("phone_number_verified") == "false"


def test_register_refuses_a_taken_username_in_any_case_and_a_taken_phone(account):
    taken = account.register()
    again = account.post(
        "/register",
        {"username": taken["username"].upper(), "phone": random_phone(), "password": PASSWORD},
    )
    assert (again.status_code, again.json) == (400, {"detail": "Username already registered"})
    same_phone = account.post(
        "/register",
        {"username": random_username(), "phone": taken["phone"], "password": PASSWORD},
    )
    assert (same_phone.status_code, same_phone.json) == (
        400,
        {"detail": "Phone number already registered"},
    )


def test_send_code_answers_the_documented_message_and_delivers_a_login_code(account):
    phone = random_phone()
    response = account.post("/send-code", {"phone": f"+86 {phone[:3]} {phone[3:]}"})
    assert (response.status_code, response.json) == (
        200,
        {"message": "Verification code sent successfully"},
    )
    outbox = account.http.simulate_get("/_dev/outbox", params={"to": phone}).json
    assert outbox["messages"][0]["purpose"] == "login"


def test_send_code_answers_an_invalid_phone_with_the_documented_400(account):
    for bad in ("12345", "12800138000", "abc", ""):
        response = account.post("/send-code", {"phone": bad})
        assert (response.status_code, response.json) == (
            400,
            {"detail": "Invalid phone number format"},
        ), bad
    missing = account.post("/send-code", {})
    assert missing.status_code == 422
    assert missing.json == {
        "detail": [{"loc": ["body", "phone"], "msg": "Field required", "type": "missing"}]
    }


def test_send_code_again_within_a_minute_is_429_with_retry_after(account):
    phone = random_phone()
    assert account.post("/send-code", {"phone": phone}).status_code == 200
    again = account.post("/send-code", {"phone": phone})
    assert (again.status_code, again.json) == (429, {"detail": "Too many requests"})
    assert 0 < int(again.headers["Retry-After"]) <= 60


def test_check_username_answers_from_keycloak_case_insensitively(account):
    user = account.register()
    for asked, exists in ((user["username"], True), (user["username"].upper(), True)):
        response = account.post("/check-username", {"username": asked})
        assert (response.status_code, response.json) == (200, {"exists": exists})
    free = account.post("/check-username", {"username": random_username()})
    assert free.json == {"exists": False}


def test_login_by_username_or_phone_and_password_answers_a_bearer_token(account):
    user = account.register()
    for login in (user["username"], user["phone"], f"+86 {user['phone']}"):
        response = account.login(login)
        assert response.status_code == 200, response.text
        assert set(response.json) == {"access_token", "token_type"}
        assert response.json["token_type"] == "bearer"
        claims = jwt.decode(response.json["access_token"], options={"verify_signature": False})
        assert claims["sub"] == user["id"]
        assert claims["azp"] == "facade-account"


def test_login_with_a_wrong_password_or_unknown_user_is_401_alike(account):
    user = account.register()
    wrong = account.login(user["username"], "wrong-password")
    unknown = account.login(random_username(), PASSWORD)
    for response in (wrong, unknown):
        assert (response.status_code, response.json) == (401, BAD_LOGIN)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_login_by_code_creates_a_phone_only_user_without_password(account):
    phone = random_phone()
    token = account.code_token(phone)
    me = account.get("/users/me", token=token).json
    assert me == {
        "id": me["id"],
        "username": phone,
        "phone": phone,
        "email": None,
        "phone_verified": True,
        "email_verified": False,
        "has_password": False,
    }
    # The same phone again signs in to the same user.
    again = account.get("/users/me", token=account.code_token(phone)).json
    assert again["id"] == me["id"]


def test_login_with_a_wrong_code_is_401_and_the_third_burns_it(account):
    phone = random_phone()
    code = account.send_code(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [account.post("/login", {"phone": phone, "code": wrong}) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json == {"detail": "Invalid verification code"}
    assert answers[2].json == {"detail": "Too many wrong attempts; request a new verification code"}
    burned = account.post("/login", {"phone": phone, "code": code})
    assert (burned.status_code, burned.json) == (401, answers[2].json)
    assert account.services.identity.find_by_attribute("phone_number", phone) == []


def test_login_with_a_code_never_sent_is_401(account):
    response = account.post("/login", {"phone": random_phone(), "code": "123456"})
    assert (response.status_code, response.json) == (
        401,
        {"detail": "Verification code expired or not found"},
    )


def test_phone_login_never_creates_a_user(account):
    phone = random_phone()
    response = account.code_login(phone, path="/phone-login")
    assert (response.status_code, response.json) == (404, {"detail": "User not found"})
    assert account.services.identity.find_by_attribute("phone_number", phone) == []


def test_phone_login_signs_in_an_existing_phone_and_refuses_a_wrong_code(account):
    phone = random_phone()
    user_id = account.get("/users/me", token=account.code_token(phone)).json["id"]
    response = account.code_login(phone, path="/phone-login")
    assert response.status_code == 200, response.text
    assert response.json["token_type"] == "bearer"
    me = account.get("/users/me", token=response.json["access_token"]).json
    assert me["id"] == user_id
    code = account.send_code(phone)
    wrong = account.post(
        "/phone-login", {"phone": phone, "code": f"{(int(code) + 1) % 1_000_000:06d}"}
    )
    assert (wrong.status_code, wrong.json) == (401, {"detail": "Invalid verification code"})


def test_a_disabled_user_cannot_sign_in(account, operator):
    user = account.register()
    operator.update_user(user["id"], {"enabled": False})
    response = account.login(user["username"])
    assert (response.status_code, response.json) == (400, {"detail": "Inactive user"})
