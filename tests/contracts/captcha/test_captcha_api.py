"""captcha.md end to end over HTTP, against the real Keycloak and Redis: every documented example
and every documented error, for phones and emails alike."""

from __future__ import annotations

import pytest

from tests.conftest import random_phone, random_username
from tests.contracts.captcha.conftest import PASSWORD, random_email, random_identifier
from tests.contracts.live import random_ip

KINDS = ["phone", "email"]


def send_fail(info: str = "Missing required parameters") -> dict:
    return {"code": 400, "message": "send login code fail", "error_info": info}


def register_fail(info: str) -> dict:
    return {"code": 400, "message": "create user fail", "error_info": info}


def login_fail(info: str) -> dict:
    return {"code": 401, "message": "user login fail", "error_info": info}


# --- 1. send_captcha ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_first_use_answers_200_with_is_first_use_and_the_code_in_development(captcha, kind):
    identifier = random_identifier(kind)
    response = captcha.send(identifier, kind)
    assert response.status_code == 200
    assert response.json == {
        "code": 200,
        "message": f"{kind} first use",
        "is_first_use": True,
        "captcha": captcha.outbox_code(identifier),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_known_identifier_answers_body_code_204_in_http_200(captcha, kind):
    identifier, _, registered = captcha.register(kind)
    assert registered.status_code == 201, registered.text
    captcha.allow_resend(identifier)
    response = captcha.send(identifier, kind)
    assert response.status_code == 200  # an HTTP 204 could not carry the documented body
    assert response.json == {"code": 204, "captcha": captcha.outbox_code(identifier)}


def test_a_phone_in_another_form_and_an_email_in_another_case_are_the_same_target(captcha):
    phone = random_phone()
    assert captcha.send(f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}").status_code == 200
    assert captcha.outbox_code(phone)
    email = random_email()
    assert captcha.send(email.upper(), "email").status_code == 200
    assert captcha.outbox_code(email)
    again = captcha.send(email.title(), "email")  # the same mailbox: its resend interval
    assert again.status_code == 429


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"identifier": "13812345678"},
        {"type": "phone"},
        {"identifier": "13812345678", "type": "mobile"},
        {"identifier": "user@example.com", "type": "phone"},  # not matching its type
        {"identifier": "13812345678", "type": "email"},
        {"identifier": "12812345678", "type": "phone"},
        {"identifier": "not-an-email", "type": "email"},
        {"identifier": 13812345678, "type": "phone"},
        {"identifier": "", "type": "phone"},
        {"identifier": "138\u000012345678", "type": "phone"},
    ],
)
def test_missing_or_malformed_parameters_are_the_documented_400(captcha, body):
    response = captcha.post("/auth/send_captcha", body)
    assert response.status_code == 400
    assert response.json == send_fail()


@pytest.mark.parametrize("raw", ['{"identifier": ', "[1]", "null", "identifier=1&type=phone"])
def test_a_body_that_is_not_a_json_object_is_the_same_400(captcha, raw):
    content_type = "application/x-www-form-urlencoded" if "=" in raw else "application/json"
    response = captcha.http.simulate_post(
        "/captcha/auth/send_captcha", body=raw, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json == send_fail()


def test_sending_again_within_the_interval_is_429_with_retry_after(captcha):
    phone = random_phone()
    assert captcha.send(phone).status_code == 200
    again = captcha.post("/auth/send_captcha", {"identifier": phone, "type": "phone"})
    assert again.status_code == 429
    assert again.json == {
        "code": 429,
        "message": "send login code fail",
        "error_info": "Too many requests",
    }
    assert 0 < int(again.headers["Retry-After"]) <= 60


# --- 2. register -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_register_answers_201_with_the_shared_integer_id_and_stores_the_identifier_verified(
    captcha, kind
):
    identifier, username, response = captcha.register(kind)
    assert response.status_code == 201, response.text
    body = response.json
    assert body == {"code": 201, "message": "create user success", "user_id": body["user_id"]}
    assert isinstance(body["user_id"], int) and body["user_id"] > 0
    user = captcha.services.users.find_by_target("sms" if kind == "phone" else "email", identifier)
    assert user is not None
    assert user.username == username
    assert user.attr("uid") == str(body["user_id"])
    if kind == "phone":
        assert (user.attr("phone_number"), user.attr("phone_number_verified")) == (
            identifier,
            "true",
        )
    else:
        assert (user.email, user.email_verified) == (identifier, True)


def test_an_email_is_stored_in_one_canonical_form_and_matched_in_any_case(captcha):
    email = random_email()
    typed = email.upper()
    _, _, response = captcha.register("email", typed)
    assert response.status_code == 201, response.text
    user = captcha.services.users.find_by_target("email", email)
    assert user is not None and user.email == email
    login = captcha.login(email.title(), "email", password=PASSWORD)
    assert login.status_code == 200, login.text
    assert login.json["user_id"] == response.json["user_id"]


@pytest.mark.parametrize(
    "missing", ["username", "identifier", "type", "code", "password"], ids=lambda f: f"no {f}"
)
def test_register_without_a_parameter_is_the_documented_400(captcha, missing):
    body = {
        "username": random_username(),
        "identifier": random_email(),
        "type": "email",
        "code": "123456",
        "password": PASSWORD,
    }
    del body[missing]
    response = captcha.post("/auth/register", body)
    assert response.status_code == 400
    assert response.json == register_fail("Missing required parameters")


@pytest.mark.parametrize("password", ["12345", "x" * 129])
def test_a_password_outside_6_to_128_characters_is_refused(captcha, password):
    response = captcha.post(
        "/auth/register",
        {
            "username": random_username(),
            "identifier": random_phone(),
            "type": "phone",
            "code": "123456",
            "password": password,
        },
    )
    assert response.status_code == 400
    assert response.json == register_fail("Missing required parameters")


@pytest.mark.parametrize("kind", KINDS)
def test_register_with_a_wrong_code_is_the_documented_400_and_creates_nobody(captcha, kind):
    identifier = random_identifier(kind)
    code = captcha.code_for(identifier, kind)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = captcha.post(
        "/auth/register",
        {
            "username": random_username(),
            "identifier": identifier,
            "type": kind,
            "code": wrong,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert response.json == register_fail("Invalid or expired verification code")
    channel = "sms" if kind == "phone" else "email"
    assert captcha.services.users.find_by_target(channel, identifier) is None


def test_three_wrong_codes_burn_the_code(captcha):
    phone = random_phone()
    code = captcha.code_for(phone)
    body = {"username": random_username(), "identifier": phone, "type": "phone"}
    for _ in range(3):
        wrong = {**body, "code": f"{(int(code) + 1) % 1000000:06d}", "password": PASSWORD}
        assert captcha.post("/auth/register", wrong).status_code == 400
    burned = captcha.post("/auth/register", {**body, "code": code, "password": PASSWORD})
    assert burned.json == register_fail("Invalid or expired verification code")


def test_a_code_is_single_use(captcha):
    phone = random_phone()
    code = captcha.code_for(phone)
    body = {"identifier": phone, "type": "phone", "code": code, "password": PASSWORD}
    first = captcha.post("/auth/register", {**body, "username": random_username()})
    assert first.status_code == 201
    again = captcha.post("/auth/register", {**body, "username": random_username()})
    assert again.json == register_fail("Invalid or expired verification code")


@pytest.mark.parametrize("kind", KINDS)
def test_register_with_an_identifier_that_has_a_user_is_the_documented_400(captcha, kind):
    identifier, _, first = captcha.register(kind)
    assert first.status_code == 201
    captcha.allow_resend(identifier)
    _, _, second = captcha.register(kind, identifier)
    assert second.status_code == 400
    assert second.json == register_fail(f"User with this {kind} already exists")


def test_register_with_a_taken_username_is_refused_and_the_code_stays_usable(captcha):
    _, username, first = captcha.register("phone")
    assert first.status_code == 201
    phone = random_phone()
    code = captcha.code_for(phone)
    body = {"identifier": phone, "type": "phone", "code": code, "password": PASSWORD}
    taken = captcha.post("/auth/register", {**body, "username": username.upper()})
    assert taken.status_code == 400
    assert taken.json == register_fail("User with this username already exists")
    retry = captcha.post("/auth/register", {**body, "username": random_username()})
    assert retry.status_code == 201, retry.text


# --- 3. login ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_password_login_answers_the_documented_body_with_the_same_user_id(captcha, kind):
    identifier, _, registered = captcha.register(kind)
    response = captcha.login(identifier, kind, password=PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json
    assert body == {
        "code": 200,
        "message": "user login success",
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
        "user_id": registered.json["user_id"],
    }
    claims = captcha.services.identity.verify_access_token("captcha", body["access_token"])
    assert claims.client_id == "facade-captcha"


@pytest.mark.parametrize("kind", KINDS)
def test_code_login_signs_in_a_registered_user(captcha, kind):
    identifier, _, registered = captcha.register(kind)
    captcha.allow_resend(identifier)
    code = captcha.code_for(identifier, kind)
    response = captcha.login(identifier, kind, code=code)
    assert response.status_code == 200, response.text
    assert response.json["message"] == "user login success"
    assert response.json["user_id"] == registered.json["user_id"]


@pytest.mark.parametrize("kind", KINDS)
def test_code_login_never_creates_a_user(captcha, kind):
    identifier = random_identifier(kind)
    response = captcha.login(identifier, kind, code=captcha.code_for(identifier, kind))
    assert response.status_code == 401
    assert response.json == login_fail("User not found")
    channel = "sms" if kind == "phone" else "email"
    assert captcha.services.users.find_by_target(channel, identifier) is None


@pytest.mark.parametrize("kind", KINDS)
def test_password_login_of_an_unknown_identifier_is_user_not_found(captcha, kind):
    response = captcha.login(random_identifier(kind), kind, password=PASSWORD)
    assert response.status_code == 401
    assert response.json == login_fail("User not found")


def test_a_wrong_password_is_invalid_password(captcha):
    phone, _, _ = captcha.register("phone")
    response = captcha.login(phone, "phone", password="wrong-password")
    assert response.status_code == 401
    assert response.json == login_fail("Invalid password")


def test_a_wrong_code_is_the_documented_401(captcha):
    phone, _, _ = captcha.register("phone")
    captcha.allow_resend(phone)
    code = captcha.code_for(phone)
    response = captcha.login(phone, "phone", code=f"{(int(code) + 1) % 1000000:06d}")
    assert response.status_code == 401
    assert response.json == login_fail("Invalid or expired verification code")


@pytest.mark.parametrize(
    "body",
    [
        {"identifier": "13812345678", "type": "phone"},
        {"identifier": "13812345678", "type": "phone", "password": "", "code": ""},
        {"identifier": "13812345678", "password": PASSWORD},
        {"type": "email", "password": PASSWORD},
        {"identifier": "user@example.com", "type": "phone", "password": PASSWORD},
        {"identifier": "13812345678", "type": "phone", "code": "12345"},
        {"identifier": "13812345678", "type": "phone", "password": 123456},
    ],
)
def test_missing_parameters_are_the_documented_401(captcha, body):
    response = captcha.post("/auth/login", body)
    assert response.status_code == 401
    assert response.json == login_fail("Missing required parameters")


def test_a_password_wins_over_a_code_and_blank_fields_count_as_absent(captcha):
    phone, _, _ = captcha.register("phone")
    both = captcha.login(phone, "phone", password=PASSWORD, code="000000")
    assert both.status_code == 200, both.text
    captcha.allow_resend(phone)
    code = captcha.code_for(phone)
    blank_password = captcha.login(phone, "phone", password="", code=code)
    assert blank_password.status_code == 200, blank_password.text


def test_a_disabled_user_cannot_sign_in(captcha, operator):
    phone, _, _ = captcha.register("phone")
    user = captcha.services.users.find_by_target("sms", phone)
    assert user is not None
    operator.update_user(user.id, {"enabled": False})
    response = captcha.login(phone, "phone", password=PASSWORD)
    assert response.status_code == 401
    assert response.json == login_fail("User disabled")


def test_the_31st_login_attempt_a_minute_from_one_address_is_429_with_retry_after(captcha):
    ip = random_ip()
    for _ in range(3):  # invalid input is refused before an attempt is counted
        invalid = captcha.post("/auth/login", {"identifier": "13800000000"}, ip=ip)
        assert invalid.status_code == 401
    answers = [
        captcha.login(random_phone(), "phone", password="wrong-password", ip=ip) for _ in range(31)
    ]
    assert [a.status_code for a in answers[:30]] == [401] * 30
    limited = answers[30]
    assert limited.status_code == 429
    assert limited.json == {
        "code": 429,
        "message": "user login fail",
        "error_info": "Too many requests",
    }
    assert int(limited.headers["Retry-After"]) > 0


# --- 4. refresh --------------------------------------------------------------------------------


def signed_in(captcha) -> dict:
    phone, _, _ = captcha.register("phone")
    response = captcha.login(phone, "phone", password=PASSWORD)
    assert response.status_code == 200, response.text
    return response.json


def test_refresh_rotates_the_tokens(captcha):
    tokens = signed_in(captcha)
    response = captcha.post("/auth/refresh", token=tokens["refresh_token"])
    assert response.status_code == 200, response.text
    body = response.json
    assert body == {
        "code": 200,
        "message": "token refreshed",
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
    }
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    claims = captcha.services.identity.verify_access_token("captcha", body["access_token"])
    assert claims.client_id == "facade-captcha"
    again = captcha.post("/auth/refresh", token=body["refresh_token"])
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "token", [None, "garbage", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"], ids=["none", "garbage", "empty"]
)
def test_an_invalid_refresh_token_is_the_documented_401(captcha, token):
    response = captcha.post("/auth/refresh", token=token)
    assert response.status_code == 401
    assert response.json["code"] == 401
    assert response.json["message"] == "Invalid refresh token"
    assert response.json["error_info"]


def test_an_access_token_is_not_a_refresh_token(captcha):
    tokens = signed_in(captcha)
    response = captcha.post("/auth/refresh", token=tokens["access_token"])
    assert response.status_code == 401
    assert response.json["message"] == "Invalid refresh token"


def test_a_refresh_token_of_another_contract_is_refused(captcha):
    phone = random_phone()
    sent = captcha.post("/auth/sms/send", {"phone": phone, "code_type": "login"}, prefix="/api/v1")
    assert sent.status_code == 200, sent.text
    member = captcha.post(
        "/auth/login/sms", {"phone": phone, "code": captcha.outbox_code(phone)}, prefix="/api/v1"
    )
    assert member.status_code == 200, member.text
    foreign = member.json["data"]["token"]["refresh_token"]
    response = captcha.post("/auth/refresh", token=foreign)
    assert response.status_code == 401
    assert response.json == {
        "code": 401,
        "message": "Invalid refresh token",
        "error_info": "token issued to another client",
    }


# --- one person across contracts ---------------------------------------------------------------


def test_a_person_registered_here_signs_in_to_member_by_sms_with_the_same_id(captcha):
    phone, _, registered = captcha.register("phone")
    sent = captcha.post("/auth/sms/send", {"phone": phone, "code_type": "login"}, prefix="/api/v1")
    assert sent.status_code == 200, sent.text
    member = captcha.post(
        "/auth/login/sms", {"phone": phone, "code": captcha.outbox_code(phone)}, prefix="/api/v1"
    )
    assert member.status_code == 200, member.text
    data = member.json["data"]
    assert data["is_new_user"] is False
    assert data["user"]["id"] == registered.json["user_id"]
    assert data["user"]["phone"] == phone


def test_a_captcha_code_is_not_a_member_code(captcha):
    phone = random_phone()
    code = captcha.code_for(phone)
    member = captcha.post("/auth/login/sms", {"phone": phone, "code": code}, prefix="/api/v1")
    assert member.status_code == 400
