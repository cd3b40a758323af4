"""customer.md end to end over HTTP, against the real Keycloak and Redis.

Every documented outcome is HTTP 200 with the business code in the body, so ``customer.call``
asserts the 200 and each test asserts the body.
"""

from __future__ import annotations

import falcon.testing
import jwt
import pytest

from facade.app import create_app
from facade.bootstrap import build_services
from facade.core.errors import InvalidToken
from facade.core.limits import parse_rate_rules
from tests.conftest import random_phone
from tests.contracts.customer.conftest import PASSWORD, CustomerClient
from tests.contracts.live import random_ip


def error(code: int, message: str) -> dict:
    return {"code": code, "message": message, "data": None}


INVALID_PARAMETERS = error(10001, "invalid parameters")
WRONG_PASSWORD = error(10002, "wrong phone or password")
INVALID_TOKEN = error(10003, "invalid token")
USER_NOT_FOUND = error(10004, "user not found")
USER_DISABLED = error(10005, "user disabled")
CODE_REJECTED = error(10006, "invalid or expired verification code")
PHONE_REGISTERED = error(10007, "phone already registered")
TOO_MANY_REQUESTS = error(10008, "too many requests")
SUCCESS_NO_DATA = {"code": 0, "message": "success", "data": None}


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def outbox_size(customer: CustomerClient, phone: str) -> int:
    return len(customer.http.simulate_get("/_dev/outbox", params={"to": phone}).json["messages"])


# --- 四、发送短信验证码 ---------------------------------------------------------------


def test_verify_sms_answers_the_documented_body_and_sends_a_register_code(customer):
    phone = random_phone()
    answer = customer.call("/user/verify/sms", {"phone": phone, "type": "register"})
    assert answer == {"code": 0, "message": "success", "data": {"expires_in": 300}}
    (message,) = customer.http.simulate_get("/_dev/outbox", params={"to": phone}).json["messages"]
    assert message["contract"] == "customer"
    assert message["purpose"] == "register"
    assert len(message["code"]) == 6 and message["code"].isdigit()


def test_verify_sms_register_for_a_registered_phone_is_10007_and_sends_nothing(customer):
    phone, _ = customer.registered()
    customer.allow_resend(phone)
    before = outbox_size(customer, phone)
    answer = customer.call("/user/verify/sms", {"phone": phone, "type": "register"})
    assert answer == PHONE_REGISTERED
    assert outbox_size(customer, phone) == before


def test_verify_sms_reset_for_a_phone_without_user_is_10004_and_sends_nothing(customer):
    phone = random_phone()
    answer = customer.call("/user/verify/sms", {"phone": phone, "type": "reset_password"})
    assert answer == USER_NOT_FOUND
    assert outbox_size(customer, phone) == 0


def test_sending_again_within_a_minute_is_10008_with_retry_after(customer):
    phone = random_phone()
    customer.send_code(phone)
    again = customer.post("/user/verify/sms", {"phone": phone, "type": "register"})
    assert again.status_code == 200
    assert again.json == TOO_MANY_REQUESTS
    assert 0 < int(again.headers["Retry-After"]) <= 60


def test_the_eleventh_code_of_a_day_is_10008(customer):
    phone = random_phone()
    for _ in range(10):
        customer.send_code(phone)
        customer.allow_resend(phone)
    answer = customer.call("/user/verify/sms", {"phone": phone, "type": "register"})
    assert answer == TOO_MANY_REQUESTS


# --- 二、用户注册 --------------------------------------------------------------------


def test_register_signs_the_new_user_in_with_the_documented_data(customer):
    phone = random_phone()
    answer = customer.register(phone, nickname="新用户")
    assert answer["code"] == 0 and answer["message"] == "success"
    data = answer["data"]
    assert set(data) == {"token", "user_id", "expires_in", "refresh_token"}
    assert isinstance(data["user_id"], int) and data["user_id"] > 0
    assert data["expires_in"] == 86400
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert claims["azp"] == "facade-customer"
    assert claims["exp"] - claims["iat"] == 86400
    principal = customer.services.sessions.authenticate("customer", data["token"])
    user = principal.user
    assert user.attr("nickname") == "新用户"
    assert user.attr("phone_number") == phone
    assert user.attr("phone_number_verified") == "true"
    assert int(user.attr("uid")) == data["user_id"]


def test_register_with_a_wrong_expired_or_reused_code_is_10006(customer):
    phone = random_phone()
    code = customer.send_code(phone)
    body = {"phone": phone, "password": PASSWORD, "nickname": "昵称", "verify_code": wrong(code)}
    assert customer.call("/user/register", body) == CODE_REJECTED
    assert customer.call("/user/register", {**body, "verify_code": code})["code"] == 0
    assert customer.call("/user/register", {**body, "verify_code": code}) == CODE_REJECTED
    never_sent = {**body, "phone": random_phone(), "verify_code": "123456"}
    assert customer.call("/user/register", never_sent) == CODE_REJECTED


def test_wrong_code_three_times_burns_it(customer):
    phone = random_phone()
    code = customer.send_code(phone)
    body = {"phone": phone, "password": PASSWORD, "nickname": "昵称", "verify_code": wrong(code)}
    for _ in range(3):
        assert customer.call("/user/register", body) == CODE_REJECTED
    assert customer.call("/user/register", {**body, "verify_code": code}) == CODE_REJECTED


def test_register_of_a_phone_registered_meanwhile_is_10007(customer):
    phone = random_phone()
    code = customer.send_code(phone)
    # The same phone signs up in another app (member) between the send and the register.
    customer.services.verified_sign_ins.by_code(
        "member", "sms", phone, member_login_code(customer, phone), client_ip=random_ip()
    )
    body = {"phone": phone, "password": PASSWORD, "nickname": "昵称", "verify_code": code}
    assert customer.call("/user/register", body) == PHONE_REGISTERED


def member_login_code(customer: CustomerClient, phone: str) -> str:
    """A login code of the member contract, sent as member's app asks for it."""
    sent = customer.http.simulate_post(
        "/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert sent.status_code == 200, sent.text
    return customer.latest_code(phone)


def test_a_user_registered_here_is_the_same_person_for_member(customer):
    phone, data = customer.registered()
    code = member_login_code(customer, phone)
    login = customer.http.simulate_post(
        "/api/v1/auth/login/sms",
        json={"phone": phone, "code": code},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert login.status_code == 200, login.text
    assert login.json["data"]["is_new_user"] is False
    assert login.json["data"]["user"]["id"] == data["user_id"]
    assert login.json["data"]["user"]["nickname"] == "新用户"


def test_a_user_registered_here_is_the_same_person_for_captcha(customer):
    """captcha's password login answers the same shared integer id (contracts README)."""
    phone, data = customer.registered()
    login = customer.http.simulate_post(
        "/captcha/auth/login",
        json={"identifier": phone, "type": "phone", "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert login.status_code == 200, login.text
    assert login.json["code"] == 200
    assert login.json["user_id"] == data["user_id"]


def test_register_accepts_the_phone_as_clients_type_it(customer):
    phone = random_phone()
    code = customer.send_code(phone)
    body = {
        "phone": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
        "password": "a" * 20,
        "nickname": "😀" * 10,  # 20 characters as Keycloak counts them
        "verify_code": code,
    }
    assert customer.call("/user/register", body)["code"] == 0
    login = customer.call("/user/login", {"phone": phone, "password": "a" * 20})
    assert login["code"] == 0


# --- 一、用户登录 --------------------------------------------------------------------


def test_login_answers_the_documented_data_for_the_registered_user(customer):
    phone, registered = customer.registered()
    answer = customer.call("/user/login", {"phone": phone, "password": PASSWORD})
    assert answer["code"] == 0 and answer["message"] == "success"
    data = answer["data"]
    assert set(data) == {"token", "user_id", "expires_in", "refresh_token"}
    assert data["user_id"] == registered["user_id"]
    assert data["expires_in"] == 86400
    assert data["token"] != registered["token"]
    assert (
        customer.services.sessions.authenticate("customer", data["token"]).user.attr("phone_number")
        == phone
    )


def test_login_with_a_wrong_password_is_10002(customer):
    phone, _ = customer.registered()
    answer = customer.call("/user/login", {"phone": phone, "password": "wrong-password"})
    assert answer == WRONG_PASSWORD


def test_login_of_a_phone_without_user_is_10004(customer):
    answer = customer.call("/user/login", {"phone": random_phone(), "password": PASSWORD})
    assert answer == USER_NOT_FOUND


def test_login_of_a_disabled_user_is_10005(customer, operator):
    phone, data = customer.registered()
    user = customer.services.sessions.authenticate("customer", data["token"]).user
    operator.update_user(user.id, {"enabled": False})
    answer = customer.call("/user/login", {"phone": phone, "password": PASSWORD})
    assert answer == USER_DISABLED


def test_login_of_a_user_an_operator_created_gives_it_a_shared_id(customer, operator):
    phone = random_phone()
    user_id = operator.create_user(
        {
            "username": f"op{phone}",
            "enabled": True,
            "attributes": {"phone_number": [phone], "phone_number_verified": ["true"]},
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
        }
    )
    answer = customer.call("/user/login", {"phone": phone, "password": PASSWORD})
    assert answer["code"] == 0, answer
    assert answer["data"]["user_id"] > 0
    assert operator.get_user(user_id)["attributes"]["uid"] == [str(answer["data"]["user_id"])]


def test_sign_ins_beyond_the_limit_are_10008(settings):
    limited = settings.with_changes(
        rate_limits={**settings.rate_limits, "customer.login": parse_rate_rules("ip:2/minute")}
    )
    services = build_services(limited)
    customer = CustomerClient(falcon.testing.TestClient(create_app(limited, services)), services)
    ip = random_ip()
    body = {"phone": random_phone(), "password": PASSWORD}
    answers = [customer.post("/user/login", body, ip=ip) for _ in range(3)]
    assert [a.json["code"] for a in answers] == [10004, 10004, 10008]
    assert answers[2].status_code == 200
    assert answers[2].json == TOO_MANY_REQUESTS
    assert int(answers[2].headers["Retry-After"]) > 0


# --- 参数错误 ----------------------------------------------------------------------

VALID = {
    "/user/login": {"phone": "13800138000", "password": PASSWORD},
    "/user/register": {
        "phone": "13800138000",
        "password": PASSWORD,
        "nickname": "新用户",
        "verify_code": "123456",
    },
    "/user/verify/sms": {"phone": "13800138000", "type": "register"},
    "/user/refresh": {"refresh_token": "x"},
    "/user/password/reset": {
        "phone": "13800138000",
        "verify_code": "123456",
        "new_password": PASSWORD,
    },
}
BAD_FIELDS = [
    ("/user/login", "phone", "12800138000"),
    ("/user/login", "phone", 13800138000),
    ("/user/login", "password", "12345"),
    ("/user/login", "password", "a" * 21),
    ("/user/register", "password", "12345"),
    ("/user/register", "nickname", "新"),
    ("/user/register", "nickname", "昵" * 21),
    ("/user/register", "nickname", "   "),
    ("/user/register", "nickname", "a\x00b"),
    ("/user/register", "verify_code", "12345"),
    ("/user/register", "verify_code", 123456),
    ("/user/verify/sms", "type", "login"),
    ("/user/verify/sms", "phone", "abc"),
    ("/user/refresh", "refresh_token", ""),
    ("/user/password/reset", "new_password", "a" * 21),
    ("/user/password/reset", "verify_code", "abcdef"),
]


@pytest.mark.parametrize(("path", "field", "value"), BAD_FIELDS)
def test_a_bad_field_is_10001(customer, path, field, value):
    assert customer.call(path, {**VALID[path], field: value}) == INVALID_PARAMETERS


@pytest.mark.parametrize("path", sorted(VALID))
def test_a_missing_field_is_10001(customer, path):
    for field in VALID[path]:
        body = {k: v for k, v in VALID[path].items() if k != field}
        assert customer.call(path, body) == INVALID_PARAMETERS, field


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"phone": ', "application/json"),
        ("[1, 2]", "application/json"),
        ("", "application/json"),
        ("phone=13800138000&type=register", "application/x-www-form-urlencoded"),
        ('{"phone": "13800138000", "type": "register"}', "text/plain"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_10001(customer, body, content_type):
    response = customer.http.simulate_post(
        "/api/app/customer/v1/user/verify/sms",
        body=body,
        headers={"Content-Type": content_type, "X-Forwarded-For": random_ip()},
    )
    assert response.status_code == 200
    assert response.json == INVALID_PARAMETERS


# --- 五、刷新令牌 --------------------------------------------------------------------


def test_refresh_returns_the_documented_tokens(customer):
    _, data = customer.registered()
    answer = customer.call("/user/refresh", {"refresh_token": data["refresh_token"]})
    assert answer["code"] == 0 and answer["message"] == "success"
    refreshed = answer["data"]
    assert set(refreshed) == {"token", "refresh_token", "expires_in"}
    assert refreshed["expires_in"] == 86400
    assert customer.services.sessions.authenticate("customer", refreshed["token"])
    assert customer.call("/user/logout", token=refreshed["token"]) == SUCCESS_NO_DATA


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
def test_refresh_with_an_invalid_token_is_10003(customer, token):
    assert customer.call("/user/refresh", {"refresh_token": token}) == INVALID_TOKEN


def test_refresh_with_an_access_token_or_another_contracts_token_is_10003(customer):
    _, data = customer.registered()
    assert customer.call("/user/refresh", {"refresh_token": data["token"]}) == INVALID_TOKEN
    user = customer.services.sessions.authenticate("customer", data["token"]).user
    member_tokens = customer.services.sessions.sign_in_verified("member", user)
    foreign = {"refresh_token": member_tokens.refresh_token}
    assert customer.call("/user/refresh", foreign) == INVALID_TOKEN


# --- 三、用户登出 --------------------------------------------------------------------


def test_logout_ends_the_session_at_once(customer):
    phone, data = customer.registered()
    assert customer.call("/user/logout", token=data["token"]) == SUCCESS_NO_DATA
    assert customer.call("/user/logout", token=data["token"]) == INVALID_TOKEN
    with pytest.raises(InvalidToken):
        customer.services.sessions.authenticate("customer", data["token"])
    assert customer.call("/user/refresh", {"refresh_token": data["refresh_token"]}) == (
        INVALID_TOKEN
    )
    # Other sessions of the user live on, and the user can sign in again.
    assert customer.call("/user/login", {"phone": phone, "password": PASSWORD})["code"] == 0


def test_logout_without_a_valid_bearer_token_is_10003(customer):
    _, data = customer.registered()
    assert customer.call("/user/logout") == INVALID_TOKEN
    for bad in ("garbage", data["refresh_token"], data["token"][:-3]):
        assert customer.call("/user/logout", token=bad) == INVALID_TOKEN
    basic = customer.http.simulate_post(
        "/api/app/customer/v1/user/logout", headers={"Authorization": f"Token {data['token']}"}
    )
    assert basic.status_code == 200
    assert basic.json == INVALID_TOKEN
    user = customer.services.sessions.authenticate("customer", data["token"]).user
    member_token = customer.services.sessions.sign_in_verified("member", user).access_token
    assert customer.call("/user/logout", token=member_token) == INVALID_TOKEN


# --- 六、忘记密码 --------------------------------------------------------------------


def test_password_reset_ends_every_session_and_the_old_password(customer):
    phone, first = customer.registered()
    second = customer.call("/user/login", {"phone": phone, "password": PASSWORD})["data"]
    customer.allow_resend(phone)
    code = customer.send_code(phone, "reset_password")
    body = {"phone": phone, "verify_code": code, "new_password": "newpass123"}
    assert customer.call("/user/password/reset", body) == SUCCESS_NO_DATA

    for session in (first, second):
        refresh = {"refresh_token": session["refresh_token"]}
        assert customer.call("/user/refresh", refresh) == INVALID_TOKEN
        assert customer.call("/user/logout", token=session["token"]) == INVALID_TOKEN
        with pytest.raises(InvalidToken):
            customer.services.sessions.authenticate("customer", session["token"])
    old = customer.call("/user/login", {"phone": phone, "password": PASSWORD})
    assert old == WRONG_PASSWORD
    new = customer.call("/user/login", {"phone": phone, "password": "newpass123"})
    assert new["code"] == 0
    assert new["data"]["user_id"] == first["user_id"]


def test_password_reset_with_a_wrong_or_register_code_is_10006(customer):
    phone, _ = customer.registered()
    customer.allow_resend(phone)
    code = customer.send_code(phone, "reset_password")
    body = {"phone": phone, "verify_code": wrong(code), "new_password": "newpass123"}
    assert customer.call("/user/password/reset", body) == CODE_REJECTED
    # A code sent for registration does not reset a password.
    other = random_phone()
    register_code = customer.send_code(other)
    foreign = {"phone": other, "verify_code": register_code, "new_password": "newpass123"}
    assert customer.call("/user/password/reset", foreign) == CODE_REJECTED
    assert customer.call("/user/login", {"phone": phone, "password": PASSWORD})["code"] == 0


def test_password_reset_of_a_disabled_user_is_10005(customer, operator):
    phone, data = customer.registered()
    user = customer.services.sessions.authenticate("customer", data["token"]).user
    customer.allow_resend(phone)
    code = customer.send_code(phone, "reset_password")
    operator.update_user(user.id, {"enabled": False})
    body = {"phone": phone, "verify_code": code, "new_password": "newpass123"}
    assert customer.call("/user/password/reset", body) == USER_DISABLED


def test_password_reset_after_the_user_was_deleted_is_10004(customer, operator):
    phone, data = customer.registered()
    user = customer.services.sessions.authenticate("customer", data["token"]).user
    customer.allow_resend(phone)
    code = customer.send_code(phone, "reset_password")
    operator.delete_user(user.id)
    body = {"phone": phone, "verify_code": code, "new_password": "newpass123"}
    assert customer.call("/user/password/reset", body) == USER_NOT_FOUND
