"""vcode.md end to end over HTTP, against the real Keycloak and Redis."""

from __future__ import annotations

import jwt
import pytest

from facade.core.limits import parse_rate_rules
from tests.conftest import random_phone, random_username
from tests.contracts.live import random_ip
from tests.contracts.vcode.conftest import PASSWORD, VcodeClient, error_type


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- 1. 发送验证码 ---------------------------------------------------------------------------


@pytest.mark.parametrize("code_type", ["register", "login", "reset_password"])
def test_send_code_answers_the_documented_body_for_every_type(vcode, code_type):
    phone = random_phone()
    response = vcode.post("/auth/verification-code", {"phone": phone, "type": code_type})
    assert response.status_code == 200
    assert response.json == {"code": 0, "message": "验证码发送成功", "data": {"expires_in": 300}}
    assert len(vcode.latest_code(phone)) == 6


def test_send_code_refuses_an_unknown_type_and_a_bad_phone_naming_both(vcode):
    response = vcode.post("/auth/verification-code", {"phone": "12345", "type": "bind"})
    assert error_type(response) == "VALIDATION_ERROR"
    assert response.status_code == 400
    assert response.json["message"] == "参数验证失败"
    failed = {(item["field"], item["rule"]) for item in response.json["error"]["details"]}
    assert failed == {("phone", "phone"), ("type", "literal_error")}


def test_a_register_code_goes_to_a_registered_phone_and_register_then_says_user_exists(vcode):
    phone, _ = vcode.register()
    code = vcode.send_code(phone, "register")  # allowed: nothing is revealed to the sender
    again = vcode.post("/auth/register", {"phone": phone, "code": code, "password": "Another123"})
    assert again.status_code == 409
    assert again.json == {
        "code": 409,
        "message": "用户已存在",
        "error": {"type": "USER_EXISTS", "details": {"field": "phone"}},
    }


def test_sending_to_one_phone_again_within_a_minute_is_429_with_retry_after(vcode):
    phone = random_phone()
    body = {"phone": phone, "type": "login"}
    assert vcode.post("/auth/verification-code", body).status_code == 200
    again = vcode.post("/auth/verification-code", {**body, "type": "register"})
    assert error_type(again) == "RATE_LIMITED"
    assert again.status_code == 429
    assert again.json["message"] == "请求过于频繁"
    retry_after = int(again.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert again.json["error"]["details"] == {"retry_after": retry_after}


# --- 3. 验证码注册 ---------------------------------------------------------------------------


def test_register_answers_the_documented_body_with_a_24_hour_token(vcode, operator):
    phone = random_phone()
    code = vcode.send_code(phone, "register")
    response = vcode.post(
        "/auth/register", {"phone": phone, "code": code, "password": "Password123"}
    )
    assert response.status_code == 200, response.text
    assert response.json["code"] == 0
    assert response.json["message"] == "注册成功"
    data = response.json["data"]
    user = data["user"]
    person = operator.get_user(user["id"])  # the id is the Keycloak user id
    assert person["attributes"]["phone_number"] == [phone]
    assert (
        user
        == {
            "id": person["id"],
            "username": phone,  # no username given: the phone is the username
            "nickname": f"用户{phone[:3]}****{phone[7:]}",
            "avatar_url": "",
            "role": "user",
        }
    )
    claims = claims_of(data["token"])
    assert claims["azp"] == "facade-vcode"
    assert claims["sub"] == person["id"]
    assert claims["exp"] - claims["iat"] == 86400
    assert vcode.services.sessions.authenticate("vcode", data["token"]).user.id == person["id"]


def test_register_with_a_username_uses_it_as_username_and_nickname(vcode):
    name = random_username("Vc")
    _, data = vcode.register(username=name)
    assert data["user"]["username"] == name.lower()  # Keycloak stores usernames lower-cased
    assert data["user"]["nickname"] == name


def test_register_refuses_a_taken_username_before_spending_the_code(vcode):
    name = random_username()
    vcode.register(username=name)
    phone = random_phone()
    code = vcode.send_code(phone, "register")
    taken = vcode.post(
        "/auth/register", {"phone": phone, "code": code, "password": PASSWORD, "username": name}
    )
    assert error_type(taken) == "USER_EXISTS"
    assert taken.json["error"]["details"] == {"field": "username"}
    ok = vcode.post("/auth/register", {"phone": phone, "code": code, "password": PASSWORD})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Pass123", "must be 8 to 128 characters"),
        ("password123", "must contain an upper-case letter"),
        ("PASSWORD123", "must contain a lower-case letter"),
        ("PasswordOnly", "must contain a digit"),
    ],
)
def test_a_password_breaking_the_rule_is_weak_password_and_keeps_the_code(vcode, password, reason):
    phone = random_phone()
    code = vcode.send_code(phone, "register")
    weak = vcode.post("/auth/register", {"phone": phone, "code": code, "password": password})
    assert weak.status_code == 400
    assert weak.json == {
        "code": 400,
        "message": "密码强度不足：至少8位，且包含大写字母、小写字母和数字",
        "error": {
            "type": "WEAK_PASSWORD",
            "details": [{"field": "password", "rule": "weak_password", "message": reason}],
        },
    }
    ok = vcode.post("/auth/register", {"phone": phone, "code": code, "password": "Strong1234"})
    assert ok.status_code == 200, ok.text


def test_a_weak_password_among_other_faults_is_a_validation_error_naming_every_field(vcode):
    response = vcode.post(
        "/auth/register", {"phone": "138", "code": "12", "password": "weak", "username": 5}
    )
    assert error_type(response) == "VALIDATION_ERROR"
    failed = {(item["field"], item["rule"]) for item in response.json["error"]["details"]}
    assert failed == {
        ("phone", "phone"),
        ("code", "code"),
        ("password", "weak_password"),
        ("username", "string_type"),
    }
    missing = vcode.post("/auth/register", {"phone": random_phone()})
    assert {item["field"] for item in missing.json["error"]["details"]} == {"code", "password"}
    assert {item["rule"] for item in missing.json["error"]["details"]} == {"missing"}


@pytest.mark.parametrize(
    ("body", "content_type", "rule"),
    [
        ('{"phone": ', "application/json", "json_invalid"),
        ("[1, 2]", "application/json", "model_type"),
        ("phone=13800138000&type=login", "application/x-www-form-urlencoded", "content_type"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_validation_errors(vcode, body, content_type, rule):
    response = vcode.http.simulate_post(
        "/vcode/auth/verification-code", body=body, headers={"Content-Type": content_type}
    )
    assert error_type(response) == "VALIDATION_ERROR"
    assert response.json["error"]["details"][0]["field"] == "body"
    assert response.json["error"]["details"][0]["rule"] == rule


def test_a_login_code_used_at_register_is_simply_an_invalid_code(vcode):
    phone = random_phone()
    code = vcode.send_code(phone, "login")
    response = vcode.post("/auth/register", {"phone": phone, "code": code, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json == {
        "code": 400,
        "message": "验证码错误或已过期",
        "error": {"type": "INVALID_CODE", "details": {"field": "code", "reason": "expired"}},
    }
    # The login code is untouched by the mismatch.
    assert vcode.post("/auth/login/code", {"phone": phone, "code": code}).status_code == 404


def test_wrong_code_three_times_burns_it(vcode):
    phone = random_phone()
    code = vcode.send_code(phone, "register")
    body = {"phone": phone, "code": wrong(code), "password": PASSWORD}
    first = vcode.post("/auth/register", body)
    second = vcode.post("/auth/register", body)
    third = vcode.post("/auth/register", body)
    assert [error_type(r) for r in (first, second)] == ["INVALID_CODE", "INVALID_CODE"]
    assert first.json["error"]["details"] == {"field": "code", "reason": "wrong"}
    assert third.json == {
        "code": 400,
        "message": "验证码错误次数过多，请重新获取",
        "error": {
            "type": "CODE_TOO_MANY_TRIES",
            "details": {"field": "code", "reason": "too_many_tries"},
        },
    }
    right = vcode.post("/auth/register", {**body, "code": code})
    assert error_type(right) == "CODE_TOO_MANY_TRIES"
    fresh = vcode.send_code(phone, "register")
    assert vcode.post("/auth/register", {**body, "code": fresh}).status_code == 200


# --- 2. 验证码登录 ---------------------------------------------------------------------------


def test_code_login_signs_in_the_registered_user(vcode):
    phone, registered = vcode.register()
    code = vcode.send_code(phone, "login")
    response = vcode.post("/auth/login/code", {"phone": f"+86 {phone}", "code": code})
    assert response.status_code == 200, response.text
    assert response.json["code"] == 0
    assert response.json["message"] == "登录成功"
    assert response.json["data"]["user"] == registered["user"]
    claims = claims_of(response.json["data"]["token"])
    assert claims["azp"] == "facade-vcode"
    assert claims["exp"] - claims["iat"] == 86400
    again = vcode.post("/auth/login/code", {"phone": phone, "code": code})
    assert error_type(again) == "INVALID_CODE"  # single use


def test_code_login_of_a_phone_without_user_is_404_only_after_the_code_checks(vcode, operator):
    phone = random_phone()
    code = vcode.send_code(phone, "login")
    guessed = vcode.post("/auth/login/code", {"phone": phone, "code": wrong(code)})
    assert error_type(guessed) == "INVALID_CODE"
    response = vcode.post("/auth/login/code", {"phone": phone, "code": code})
    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "message": "用户不存在",
        "error": {"type": "USER_NOT_FOUND", "details": {"field": "phone"}},
    }
    assert operator.get_users({"q": f"phone_number:{phone}", "exact": "true"}) == []


def test_a_register_code_does_not_sign_in(vcode):
    phone, _ = vcode.register()
    code = vcode.send_code(phone, "register")
    assert error_type(vcode.post("/auth/login/code", {"phone": phone, "code": code})) == (
        "INVALID_CODE"
    )


# --- 4. 密码登录 -----------------------------------------------------------------------------


def test_password_login_by_username_phone_or_email(vcode, operator):
    name = random_username("pw")
    phone, registered = vcode.register(username=name)
    user_id = registered["user"]["id"]
    email = f"{name}@example.com"
    operator.update_user(user_id, {**operator.get_user(user_id), "email": email})
    for login in (name, name.upper(), phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", email):
        response = vcode.post("/auth/login", {"username": login, "password": PASSWORD})
        assert response.status_code == 200, (login, response.text)
        assert response.json["message"] == "登录成功"
        assert response.json["data"]["user"]["id"] == user_id
        claims = claims_of(response.json["data"]["token"])
        assert claims["exp"] - claims["iat"] == 86400


def test_a_wrong_password_and_an_unknown_login_are_the_same_invalid_credentials(vcode):
    phone, _ = vcode.register()
    wrong_password = vcode.post("/auth/login", {"username": phone, "password": "Wrong12345"})
    unknown = vcode.post("/auth/login", {"username": random_username(), "password": PASSWORD})
    expected = {
        "code": 401,
        "message": "用户名或密码错误",
        "error": {"type": "INVALID_CREDENTIALS", "details": None},
    }
    assert (wrong_password.status_code, wrong_password.json) == (401, expected)
    assert (unknown.status_code, unknown.json) == (401, expected)


def test_a_disabled_account_is_403_for_every_sign_in(vcode, operator):
    phone, registered = vcode.register()
    user_id = registered["user"]["id"]
    operator.update_user(user_id, {**operator.get_user(user_id), "enabled": False})
    vcode.services.users.forget(user_id)
    expected = {
        "code": 403,
        "message": "账号已被禁用",
        "error": {"type": "ACCOUNT_DISABLED", "details": None},
    }
    by_password = vcode.post("/auth/login", {"username": phone, "password": PASSWORD})
    code = vcode.send_code(phone, "login")
    by_code = vcode.post("/auth/login/code", {"phone": phone, "code": code})
    for response in (by_password, by_code):
        assert (response.status_code, response.json) == (403, expected)


def test_holders_of_the_realm_role_admin_get_role_admin(vcode, operator):
    phone, registered = vcode.register()
    assert registered["user"]["role"] == "user"
    user_id = registered["user"]["id"]
    operator.assign_realm_roles(user_id, [operator.get_realm_role("admin")])
    response = vcode.post("/auth/login", {"username": phone, "password": PASSWORD})
    assert response.json["data"]["user"]["role"] == "admin"
    code = vcode.send_code(phone, "login")
    by_code = vcode.post("/auth/login/code", {"phone": phone, "code": code})
    assert by_code.json["data"]["user"]["role"] == "admin"


def test_sign_ins_from_one_address_are_limited_with_retry_after(settings):
    from falcon.testing import TestClient

    from facade.app import create_app
    from facade.bootstrap import build_services

    limited = settings.with_changes(
        rate_limits={**settings.rate_limits, "vcode.login": parse_rate_rules("ip:2/minute")}
    )
    services = build_services(limited)
    client = VcodeClient(TestClient(create_app(limited, services)), services)
    ip = random_ip()
    body = {"username": random_username(), "password": PASSWORD}
    answers = [client.post("/auth/login", body, ip=ip) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert error_type(answers[2]) == "RATE_LIMITED"
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60
    register = client.post(
        "/auth/register",
        {"phone": random_phone(), "code": "123456", "password": PASSWORD},
        ip=ip,
    )
    assert error_type(register) == "RATE_LIMITED"


# --- 5. 重置密码 (the addition) --------------------------------------------------------------


def test_reset_password_answers_the_documented_body_and_replaces_the_password(vcode):
    phone, _ = vcode.register()
    code = vcode.send_code(phone, "reset_password")
    response = vcode.post(
        "/auth/reset-password", {"phone": f"86{phone}", "code": code, "new_password": "NewPass456"}
    )
    assert response.status_code == 200, response.text
    assert response.json == {"code": 0, "message": "密码重置成功", "data": None}
    old = vcode.post("/auth/login", {"username": phone, "password": PASSWORD})
    assert error_type(old) == "INVALID_CREDENTIALS"
    new = vcode.post("/auth/login", {"username": phone, "password": "NewPass456"})
    assert new.status_code == 200
    vcode.services.sessions.authenticate("vcode", new.json["data"]["token"])


def test_reset_password_takes_only_a_reset_code_and_the_strong_rule(vcode):
    phone, _ = vcode.register()
    login_code = vcode.send_code(phone, "login")
    body = {"phone": phone, "code": login_code, "new_password": "NewPass456"}
    assert error_type(vcode.post("/auth/reset-password", body)) == "INVALID_CODE"
    code = vcode.send_code(phone, "reset_password")
    weak = vcode.post("/auth/reset-password", {**body, "code": code, "new_password": "short"})
    assert error_type(weak) == "WEAK_PASSWORD"
    assert weak.json["error"]["details"][0]["field"] == "new_password"
    assert vcode.post("/auth/reset-password", {**body, "code": code}).status_code == 200


def test_reset_password_of_a_phone_without_user_is_404_after_the_code(vcode):
    phone = random_phone()
    code = vcode.send_code(phone, "reset_password")
    body = {"phone": phone, "code": wrong(code), "new_password": "NewPass456"}
    assert error_type(vcode.post("/auth/reset-password", body)) == "INVALID_CODE"
    unknown = vcode.post("/auth/reset-password", {**body, "code": code})
    assert error_type(unknown) == "USER_NOT_FOUND"
    assert unknown.status_code == 404


# --- The facade's own answers ----------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_vcode_format(vcode):
    missing = vcode.post("/auth/nothing-here", {})
    assert missing.status_code == 404
    assert missing.json == {
        "code": 404,
        "message": "资源不存在",
        "error": {"type": "NOT_FOUND", "details": None},
    }
    method = vcode.http.simulate_get("/vcode/auth/login")
    assert error_type(method) == "METHOD_NOT_ALLOWED"
    assert method.status_code == 405


def test_the_token_is_the_whole_session_there_is_no_refresh_endpoint(vcode: VcodeClient):
    assert vcode.post("/auth/refresh", {}).status_code == 404
