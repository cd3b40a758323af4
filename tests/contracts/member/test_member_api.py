"""member.md end to end over HTTP, against the real Keycloak, Redis and the WeChat stand-in."""

from __future__ import annotations

import math
import time

import jwt

from facade.core.models import Registration
from tests.conftest import random_phone
from tests.contracts.member.conftest import random_ip
from tests.following import follow_operator_edits

UNAUTHORIZED = {"code": 401, "message": "未授权", "data": None}


def test_sms_send_answers_the_documented_body(member):
    response = member.post("/auth/sms/send", {"phone": random_phone(), "code_type": "login"})
    assert response.status_code == 200
    assert response.json == {"code": 0, "message": "success", "data": {"expire_in": 300}}


def test_sms_send_accepts_country_code_and_spaces_and_rejects_bad_numbers(member):
    phone = random_phone()
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    assert member.post("/auth/sms/send", {"phone": spaced, "code_type": "login"}).status_code == 200
    assert member.latest_code(phone)
    for bad in ("12345", "12800138000", "abc", ""):
        response = member.post("/auth/sms/send", {"phone": bad, "code_type": "login"})
        assert response.status_code == 400
        assert response.json["code"] == 400
        assert response.json["data"] is None
    wrong = member.post("/auth/sms/send", {"phone": "12800138000", "code_type": "login"})
    assert wrong.json["message"] == "手机号格式错误"


def test_invalid_bodies_get_the_contracts_400(member):
    for body in ('{"phone": ', "[1, 2]", '{"phone": 13800138000, "code_type": "login"}', "{}"):
        response = member.http.simulate_post(
            "/api/v1/auth/sms/send", body=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, body
        assert response.json["code"] == 400
        assert response.json["data"] is None
    unknown_type = member.post("/auth/sms/send", {"phone": random_phone(), "code_type": "spam"})
    assert unknown_type.status_code == 400


def test_sms_send_is_limited_to_one_per_minute_per_ip(member):
    ip = random_ip()
    first = member.post("/auth/sms/send", {"phone": random_phone(), "code_type": "login"}, ip=ip)
    second = member.post("/auth/sms/send", {"phone": random_phone(), "code_type": "login"}, ip=ip)
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json == {"code": 429, "message": "发送过于频繁", "data": None}
    assert 0 < int(second.headers["Retry-After"]) <= 60


def test_sms_send_to_one_phone_again_within_a_minute_is_429_from_any_ip(member):
    phone = random_phone()
    assert member.post("/auth/sms/send", {"phone": phone, "code_type": "login"}).status_code == 200
    again = member.post("/auth/sms/send", {"phone": phone, "code_type": "login"})
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 0


def test_sms_login_registers_a_new_phone_with_the_documented_user(member):
    phone = random_phone()
    before = int(time.time())
    response = member.sms_login(phone)
    assert response.status_code == 200, response.text
    body = response.json
    assert body["code"] == 0 and body["message"] == "success"
    data = body["data"]
    assert data["is_new_user"] is True
    user = data["user"]
    assert isinstance(user["id"], int) and user["id"] > 0
    assert user == {
        "id": user["id"],
        "phone": phone,
        "nickname": f"用户{phone[:3]}****{phone[7:]}",
        "avatar": None,
        "gender": 0,
        "member_level_id": 1,
        "points": 0,
        "is_verified": False,
    }
    token = data["token"]
    assert set(token) == {"access_token", "refresh_token", "expires_at"}
    assert isinstance(token["expires_at"], int)
    assert before + 7200 - 5 <= token["expires_at"] <= int(time.time()) + 7200 + 5
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["azp"] == "facade-member"


def test_sms_login_of_an_existing_phone_signs_in_the_same_user(member):
    phone = random_phone()
    first = member.sms_login(phone).json["data"]
    member.allow_resend(phone)
    second = member.sms_login(phone).json["data"]
    assert second["is_new_user"] is False
    assert second["user"]["id"] == first["user"]["id"]


def test_wrong_or_reused_code_is_400(member):
    phone = random_phone()
    code = member.send_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    response = member.post("/auth/login/sms", {"phone": phone, "code": wrong})
    assert response.status_code == 400
    assert response.json == {"code": 400, "message": "验证码错误或已过期", "data": None}
    assert member.post("/auth/login/sms", {"phone": phone, "code": code}).status_code == 200
    reused = member.post("/auth/login/sms", {"phone": phone, "code": code})
    assert reused.status_code == 400
    assert reused.json["message"] == "验证码错误或已过期"


def test_code_that_was_never_sent_is_400(member):
    response = member.post("/auth/login/sms", {"phone": random_phone(), "code": "123456"})
    assert response.status_code == 400


def test_unknown_invite_code_is_400_and_leaves_the_sms_code_usable(member):
    phone = random_phone()
    code = member.send_code(phone)
    refused = member.post(
        "/auth/login/sms", {"phone": phone, "code": code, "invite_code": "NOPE99"}
    )
    assert refused.status_code == 400
    assert refused.json == {"code": 400, "message": "邀请码无效", "data": None}
    accepted = member.post("/auth/login/sms", {"phone": phone, "code": code})
    assert accepted.status_code == 200
    assert accepted.json["data"]["is_new_user"] is True


def test_a_known_invite_code_records_the_inviter_on_a_new_user(member):
    inviter_phone = random_phone()
    member.sms_login(inviter_phone)
    (inviter,) = member.services.identity.find_by_attribute("phone_number", inviter_phone)
    invite_code = inviter.attr("invite_code")
    assert invite_code

    phone = random_phone()
    response = member.sms_login(phone, invite_code=invite_code.lower())
    assert response.status_code == 200, response.text
    (invited,) = member.services.identity.find_by_attribute("phone_number", phone)
    assert invited.attr("invited_by") == inviter.id
    assert invited.attr("invite_code") and invited.attr("invite_code") != invite_code


def test_wechat_login_creates_a_user_with_what_was_sent_then_finds_it_again(member):
    first_code = member.wechat_code()
    body = {
        "code": first_code["code"],
        "nickname": "微信用户甲",
        "avatar": "https://example.com/a.jpg",
        "gender": 2,
    }
    first = member.post("/auth/login/wechat", body)
    assert first.status_code == 200, first.text
    data = first.json["data"]
    assert data["is_new_user"] is True
    assert data["user"]["phone"] is None
    assert data["user"]["nickname"] == "微信用户甲"
    assert data["user"]["avatar"] == "https://example.com/a.jpg"
    assert data["user"]["gender"] == 2
    assert data["user"]["member_level_id"] == 1 and data["user"]["points"] == 0

    again = member.wechat_code(openid=first_code["openid"], unionid=first_code["unionid"])
    second = member.post("/auth/login/wechat", {"code": again["code"]})
    assert second.status_code == 200
    assert second.json["data"]["is_new_user"] is False
    assert second.json["data"]["user"]["id"] == data["user"]["id"]


def test_wechat_login_finds_by_unionid_across_openids_and_by_openid_without_unionid(member):
    shared = member.wechat_code()
    first = member.post("/auth/login/wechat", {"code": shared["code"]}).json["data"]
    other_app = member.wechat_code(unionid=shared["unionid"])  # another app: new openid
    found = member.post("/auth/login/wechat", {"code": other_app["code"]}).json["data"]
    assert found["is_new_user"] is False and found["user"]["id"] == first["user"]["id"]

    lone = member.wechat_code(unionid=None)
    assert lone["unionid"] is None
    created = member.post("/auth/login/wechat", {"code": lone["code"]}).json["data"]
    again = member.wechat_code(openid=lone["openid"], unionid=None)
    found_again = member.post("/auth/login/wechat", {"code": again["code"]}).json["data"]
    assert created["is_new_user"] is True
    assert found_again["user"]["id"] == created["user"]["id"]


def test_wechat_rejections_are_400_with_the_reason_and_outages_503(member, wechat):
    unknown = member.post("/auth/login/wechat", {"code": "not-a-real-code"})
    assert unknown.status_code == 400
    assert unknown.json["message"].startswith("微信授权失败")
    assert "40029" in unknown.json["message"]

    minted = member.wechat_code()
    assert member.post("/auth/login/wechat", {"code": minted["code"]}).status_code == 200
    reused = member.post("/auth/login/wechat", {"code": minted["code"]})
    assert reused.status_code == 400

    for errcode in (45011, 40226):
        wechat.fail_next(errcode)
        rejected = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"]})
        assert rejected.status_code == 400
        assert str(errcode) in rejected.json["message"]

    wechat.fail_next(-1)
    busy = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"]})
    assert busy.status_code == 503
    assert busy.json["code"] == 503 and busy.json["data"] is None


def test_refresh_returns_new_tokens_and_refuses_garbage(member):
    token = member.sms_login().json["data"]["token"]
    refreshed = member.post("/auth/refresh", {"refresh_token": token["refresh_token"]})
    assert refreshed.status_code == 200
    data = refreshed.json["data"]
    assert set(data) == {"access_token", "refresh_token", "expires_at"}
    assert member.get("/auth/me", token=data["access_token"]).status_code == 200

    bad = member.post("/auth/refresh", {"refresh_token": "garbage"})
    assert bad.status_code == 401
    assert bad.json == {"code": 401, "message": "refresh_token 无效或已过期", "data": None}
    assert member.post("/auth/refresh", {}).status_code == 400


def test_me_answers_the_profile_and_401_without_a_valid_token(member):
    login = member.sms_login().json["data"]
    me = member.get("/auth/me", token=login["token"]["access_token"])
    assert me.status_code == 200
    assert me.json == {"code": 0, "message": "success", "data": login["user"]}

    assert member.get("/auth/me").json == UNAUTHORIZED
    assert member.get("/auth/me").status_code == 401
    for bad in ("garbage", login["token"]["refresh_token"], login["token"]["access_token"][:-3]):
        response = member.get("/auth/me", token=bad)
        assert response.status_code == 401
        assert response.json == UNAUTHORIZED
    malformed = member.http.simulate_get("/api/v1/auth/me", headers={"Authorization": "Token abc"})
    assert malformed.status_code == 401


def test_me_refuses_another_contracts_token(member):
    user = member.services.registrar.register(Registration(phone=random_phone()))
    vcode_tokens = member.services.sessions.sign_in_verified("vcode", user)
    response = member.get("/auth/me", token=vcode_tokens.access_token)
    assert response.status_code == 401


def test_me_shows_operator_changes_at_the_followers_next_poll(member, operator):
    login = member.sms_login().json["data"]
    token = login["token"]["access_token"]
    (user,) = member.services.identity.find_by_attribute("phone_number", login["user"]["phone"])
    assert member.get("/auth/me", token=token).json["data"]["points"] == 0  # now cached
    since = int(time.time() * 1000) - 1000
    rep = operator.get_user(user.id)  # a console save: the whole form, three fields changed
    rep["attributes"] = {
        **rep["attributes"],
        **{"points": ["1500"], "member_level_id": ["2"], "is_verified": ["true"]},
    }
    operator.update_user(user.id, rep)
    assert member.get("/auth/me", token=token).json["data"]["points"] == 0  # the cache holds
    assert follow_operator_edits(member.services, user.id, since_ms=since) >= 1
    me = member.get("/auth/me", token=token).json["data"]
    assert (me["points"], me["member_level_id"], me["is_verified"]) == (1500, 2, True)


def test_an_operators_sign_out_refuses_the_users_tokens_at_the_followers_next_poll(
    member, operator
):
    first = member.sms_login().json["data"]
    phone = first["user"]["phone"]
    member.allow_resend(phone)
    second = member.sms_login(phone=phone).json["data"]
    (user,) = member.services.identity.find_by_attribute("phone_number", phone)
    tokens = [login["token"]["access_token"] for login in (first, second)]
    since = int(time.time() * 1000) - 1000
    operator.user_logout(user.id)  # the console's "Sign out": every session of the user
    assert member.get("/auth/me", token=tokens[0]).status_code == 200  # not heard of yet
    assert follow_operator_edits(member.services, user.id, since_ms=since) >= 1
    assert [member.get("/auth/me", token=t).status_code for t in tokens] == [401, 401]
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.05)  # tokens of the sign-out's second are refused too
    member.allow_resend(phone)
    again = member.sms_login(phone=phone).json["data"]["token"]["access_token"]
    assert member.get("/auth/me", token=again).status_code == 200  # a new sign-in counts


def test_an_operator_ending_one_session_refuses_only_its_tokens(member, operator):
    first = member.sms_login().json["data"]
    phone = first["user"]["phone"]
    member.allow_resend(phone)
    second = member.sms_login(phone=phone).json["data"]
    ended = member.services.identity.verify_access_token(
        "member", first["token"]["access_token"]
    ).session_id
    since = int(time.time() * 1000) - 1000
    operator.connection.raw_delete(f"admin/realms/facade/sessions/{ended}")
    assert follow_operator_edits(member.services, since_ms=since) >= 1
    assert member.get("/auth/me", token=first["token"]["access_token"]).status_code == 401
    assert member.get("/auth/me", token=second["token"]["access_token"]).status_code == 200


def test_bind_phone_on_a_wechat_user(member):
    wechat_login = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"]})
    access = wechat_login.json["data"]["token"]["access_token"]
    phone = random_phone()
    code = member.send_code(phone, "bind")
    bound = member.post("/auth/bind-phone", {"phone": phone, "code": code}, token=access)
    assert bound.status_code == 200, bound.text
    assert bound.json == {"code": 0, "message": "success", "data": None}
    assert member.get("/auth/me", token=access).json["data"]["phone"] == phone


def wechat_access_token(member) -> str:
    login = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"]})
    return login.json["data"]["token"]["access_token"]


def test_bind_phone_accepts_a_login_code_and_refuses_a_wrong_one(member):
    access = wechat_access_token(member)
    phone = random_phone()
    code = member.send_code(phone, "login")
    wrong = "000000" if code != "000000" else "111111"
    refused = member.post("/auth/bind-phone", {"phone": phone, "code": wrong}, token=access)
    assert refused.status_code == 400
    assert refused.json == {"code": 400, "message": "验证码错误", "data": None}
    ok = member.post("/auth/bind-phone", {"phone": phone, "code": code}, token=access)
    assert ok.status_code == 200


def test_bind_phone_of_another_user_is_409(member):
    taken = random_phone()
    member.sms_login(taken)
    access = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"]}).json["data"][
        "token"
    ]["access_token"]
    member.allow_resend(taken)
    code = member.send_code(taken, "bind")
    response = member.post("/auth/bind-phone", {"phone": taken, "code": code}, token=access)
    assert response.status_code == 409
    assert response.json == {"code": 409, "message": "手机号已被绑定", "data": None}


def test_bind_phone_needs_a_token(member):
    response = member.post("/auth/bind-phone", {"phone": random_phone(), "code": "123456"})
    assert response.status_code == 401
    assert response.json == UNAUTHORIZED


def test_logout_refuses_the_old_tokens_at_once(member):
    token = member.sms_login().json["data"]["token"]
    out = member.post("/auth/logout", token=token["access_token"])
    assert out.status_code == 200
    assert out.json == {"code": 0, "message": "success", "data": None}
    assert member.get("/auth/me", token=token["access_token"]).status_code == 401
    assert (
        member.post("/auth/refresh", {"refresh_token": token["refresh_token"]}).status_code == 401
    )
    assert member.post("/auth/logout", token=token["access_token"]).status_code == 401


def test_login_is_limited_to_ten_per_minute_per_ip(member):
    ip = random_ip()
    statuses = [
        member.post("/auth/login/sms", {"phone": random_phone(), "code": "123456"}, ip=ip)
        for _ in range(11)
    ]
    assert [s.status_code for s in statuses[:10]] == [400] * 10
    assert statuses[10].status_code == 429
    assert int(statuses[10].headers["Retry-After"]) > 0
    wechat = member.post("/auth/login/wechat", {"code": "x"}, ip=ip)
    assert wechat.status_code == 429


def test_the_person_shows_up_in_keycloak_with_member_fields(member):
    phone = random_phone()
    data = member.sms_login(phone).json["data"]
    (user,) = member.services.identity.find_by_attribute("phone_number", phone)
    assert user.username == phone
    assert user.attr("uid") == str(data["user"]["id"])
    assert user.attr("nickname") == data["user"]["nickname"]
    assert user.attr("member_level_id") == "1"
    assert user.attr("points") == "0"
    assert user.attr("phone_number_verified") == "true"


def test_bind_phone_refuses_an_account_that_already_has_a_verified_phone(member):
    """Changing a phone needs proof of the old one, which member.md does not offer (README)."""
    access = member.sms_login().json["data"]["token"]["access_token"]
    phone = random_phone()
    code = member.send_code(phone, "bind")
    refused = member.post("/auth/bind-phone", {"phone": phone, "code": code}, token=access)
    assert refused.status_code == 409
    assert refused.json == {"code": 409, "message": "手机号已被绑定", "data": None}
    # Told before the code was spent: the same code still binds it to an account without one.
    other = wechat_access_token(member)
    assert (
        member.post("/auth/bind-phone", {"phone": phone, "code": code}, token=other).status_code
        == 200
    )


def test_an_unknown_invite_code_does_not_spend_the_wechat_code(member):
    minted = member.wechat_code()
    refused = member.post("/auth/login/wechat", {"code": minted["code"], "invite_code": "ZZZZ9999"})
    assert refused.status_code == 400
    assert refused.json == {"code": 400, "message": "邀请码无效", "data": None}
    retried = member.post("/auth/login/wechat", {"code": minted["code"]})
    assert retried.status_code == 200, retried.text


def test_a_malformed_wechat_body_does_not_spend_the_wechat_code(member):
    minted = member.wechat_code()
    refused = member.post("/auth/login/wechat", {"code": minted["code"], "avatar": "javascript:x"})
    assert refused.status_code == 400
    assert member.post("/auth/login/wechat", {"code": minted["code"]}).status_code == 200


def test_stored_values_an_operator_wrote_never_break_the_profile(member, operator):
    data = member.sms_login().json["data"]
    access = data["token"]["access_token"]
    user_id = member.services.users.find_by_uid(data["user"]["id"]).id
    nickname = "😀\u202e<b>&\"'"
    current = operator.get_user(user_id)
    attributes = {**current["attributes"], "nickname": [nickname], "points": ["12"]}
    operator.update_user(user_id, {**current, "attributes": attributes})
    member.services.users.forget(user_id)
    me = member.get("/auth/me", token=access)
    assert me.status_code == 200, me.text
    assert me.json["data"]["nickname"] == nickname
    assert me.json["data"]["points"] == 12


def test_re_enabling_a_user_does_not_revive_tokens_refused_while_disabled(member, operator):
    login = member.sms_login().json["data"]
    access = login["token"]["access_token"]
    user_id = member.services.users.find_by_uid(login["user"]["id"]).id
    operator.update_user(user_id, {"enabled": False})
    member.services.users.forget(user_id)
    assert member.get("/auth/me", token=access).status_code == 401
    operator.update_user(user_id, {"enabled": True})
    member.services.users.forget(user_id)
    assert member.get("/auth/me", token=access).status_code == 401
    time.sleep(1.1)  # a new sign-in after the re-enable is a new session and works
    member.allow_resend(login["user"]["phone"])
    again = member.sms_login(login["user"]["phone"])
    fresh = again.json["data"]["token"]["access_token"]
    assert member.get("/auth/me", token=fresh).status_code == 200


def test_an_invite_code_is_ignored_for_an_existing_user(member):
    """README "member": an invite code counts only when it creates a user; a user registered by
    any contract has an invite code of their own."""
    inviter_phone, phone = random_phone(), random_phone()
    member.sms_login(inviter_phone)
    (inviter,) = member.services.identity.find_by_attribute("phone_number", inviter_phone)
    existing = member.services.registrar.register(Registration(phone=phone, phone_verified=True))
    assert existing.attr("invite_code")
    code = member.send_code(phone)
    unknown = member.post(
        "/auth/login/sms", {"phone": phone, "code": code, "invite_code": "NOPE99"}
    )
    assert unknown.status_code == 200, unknown.text
    assert unknown.json["data"]["is_new_user"] is False
    member.allow_resend(phone)
    known = {
        "phone": phone,
        "code": member.send_code(phone),
        "invite_code": inviter.attr("invite_code"),
    }
    assert member.post("/auth/login/sms", known).status_code == 200
    (found,) = member.services.identity.find_by_attribute("phone_number", phone)
    assert found.attr("invited_by") is None


def test_a_disabled_account_is_told_only_to_the_codes_holder_and_keeps_the_code(member, operator):
    """Without the code nobody learns that a phone's account is disabled; with it the answer
    is 403 and the code is not spent, so it signs in once an operator re-enables the user."""
    login = member.sms_login().json["data"]
    phone = login["user"]["phone"]
    user_id = member.services.users.find_by_uid(login["user"]["id"]).id
    operator.update_user(user_id, {"enabled": False})
    member.services.users.forget(user_id)
    member.allow_resend(phone)
    code = member.send_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    guessed = member.post("/auth/login/sms", {"phone": phone, "code": wrong})
    assert guessed.status_code == 400, guessed.text
    proven = member.post("/auth/login/sms", {"phone": phone, "code": code})
    assert proven.status_code == 403, proven.text
    operator.update_user(user_id, {"enabled": True})
    member.services.users.forget(user_id)
    again = member.post("/auth/login/sms", {"phone": phone, "code": code})
    assert again.status_code == 200, again.text
