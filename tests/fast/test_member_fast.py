"""member.md's client flow on fakes: the shape of every answer, in milliseconds.

The real-server tier (tests/contracts/member) proves the same flows against Keycloak and Redis.
"""

from __future__ import annotations

from tests.conftest import random_phone
from tests.fast.conftest import FastFacade

PREFIX = "/api/v1"


def sms_login(fast: FastFacade, phone: str):
    sent = fast.http.simulate_post(
        f"{PREFIX}/auth/sms/send", json={"phone": phone, "code_type": "login"}
    )
    assert sent.status_code == 200, sent.text
    code = fast.outbox.latest_code(phone)
    return fast.http.simulate_post(f"{PREFIX}/auth/login/sms", json={"phone": phone, "code": code})


def test_sms_login_registers_then_signs_in_the_same_member(fast):
    phone = random_phone()
    first = sms_login(fast, phone)
    assert first.status_code == 200, first.text
    data = first.json["data"]
    assert data["is_new_user"] is True
    assert data["user"]["phone"] == phone
    assert data["user"]["nickname"] == f"用户{phone[:3]}****{phone[7:]}"
    fast.services.stores.codes.resend_until.clear()  # type: ignore[attr-defined]
    again = sms_login(fast, phone)
    assert again.json["data"]["is_new_user"] is False
    assert again.json["data"]["user"]["id"] == data["user"]["id"]


def test_me_refresh_and_logout(fast):
    token = sms_login(fast, random_phone()).json["data"]["token"]
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert fast.http.simulate_get(f"{PREFIX}/auth/me", headers=bearer).status_code == 200
    refreshed = fast.http.simulate_post(
        f"{PREFIX}/auth/refresh", json={"refresh_token": token["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert fast.http.simulate_post(f"{PREFIX}/auth/logout", headers=bearer).status_code == 200
    refused = fast.http.simulate_get(f"{PREFIX}/auth/me", headers=bearer)
    assert refused.status_code == 401
    assert refused.json == {"code": 401, "message": "未授权", "data": None}


def test_wrong_code_three_times_burns_it(fast):
    phone = random_phone()
    fast.http.simulate_post(f"{PREFIX}/auth/sms/send", json={"phone": phone, "code_type": "login"})
    code = fast.outbox.latest_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        answer = fast.http.simulate_post(
            f"{PREFIX}/auth/login/sms", json={"phone": phone, "code": wrong}
        )
        assert answer.json["message"] == "验证码错误或已过期"
    burned = fast.http.simulate_post(
        f"{PREFIX}/auth/login/sms", json={"phone": phone, "code": code}
    )
    assert burned.status_code == 400


def test_a_form_encoded_login_is_invalid_parameters(fast):
    response = fast.http.simulate_post(
        f"{PREFIX}/auth/login/sms",
        body="phone=13800138000&code=123456",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json["message"].startswith("参数错误")


def test_swagger_ui_is_served_from_packaged_assets(fast):
    page = fast.http.simulate_get(f"{PREFIX}/docs")
    assert page.status_code == 200
    assert f"{PREFIX}/docs/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    bundle = fast.http.simulate_get(f"{PREFIX}/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert fast.http.simulate_get(f"{PREFIX}/docs/../../etc/passwd").status_code == 404
    assert fast.http.simulate_get(f"{PREFIX}/docs/index.html").status_code == 404
