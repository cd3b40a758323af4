"""Resources of the ``member`` contract: parse, call the core once, render (member.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.kit import Route, parse
from facade.contracts.member import render, schemas
from facade.core.phone_binding import PhoneBinding
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.verified_sign_in import VerifiedSignIns
from facade.http.auth import BearerAuth

if TYPE_CHECKING:
    from facade.core.codes import CodeService

CONTRACT = "member"
#: What a new member starts with (contracts/README.md, ``member``).
NEW_MEMBER = {"member_level_id": "1", "points": "0", "is_verified": "false"}


class SmsSend:
    def __init__(self, codes: CodeService) -> None:
        self._codes = codes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.SmsSendRequest)
        sent = self._codes.send(CONTRACT, body.code_type, "sms", body.phone, req.context.client_ip)
        resp.media = render.ok({"expire_in": sent.expires_in})


class SmsLogin:
    def __init__(self, sign_ins: VerifiedSignIns) -> None:
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.SmsLoginRequest)
        signed_in = self._sign_ins.by_code(
            CONTRACT,
            "sms",
            body.phone,
            body.code,
            client_ip=req.context.client_ip,
            new_user_attributes={**NEW_MEMBER, "nickname": render.default_nickname(body.phone, "")},
            invite_code=body.invite_code or None,
        )
        resp.media = render.ok(render.signed_in(signed_in))


class WechatLogin:
    def __init__(self, sign_ins: VerifiedSignIns) -> None:
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.WechatLoginRequest)
        profile = {**NEW_MEMBER, "nickname": body.nickname or "微信用户"}
        if body.avatar:
            profile["avatar"] = body.avatar
        if body.gender in render.GENDER_VALUES:
            profile["gender"] = render.GENDER_VALUES[body.gender]
        signed_in = self._sign_ins.by_wechat(
            CONTRACT,
            body.code,
            client_ip=req.context.client_ip,
            new_user_attributes=profile,
            invite_code=body.invite_code or None,
        )
        resp.media = render.ok(render.signed_in(signed_in))


class Refresh:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RefreshRequest)
        resp.media = render.ok(render.token(self._sessions.refresh(CONTRACT, body.refresh_token)))


class Me:
    def __init__(self, sessions: Sessions, registrar: Registrar) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._registrar = registrar

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = self._registrar.ensure_identifiers(self._auth(req).user)
        resp.media = render.ok(render.member_user(user))


class BindPhone:
    def __init__(self, sessions: Sessions, binding: PhoneBinding) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._binding = binding

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = self._auth(req)
        body = parse(req, schemas.BindPhoneRequest)
        self._binding.bind(
            CONTRACT, principal.user, body.phone, body.code, purposes=("login", "bind")
        )
        resp.media = render.ok(None)


class Logout:
    def __init__(self, sessions: Sessions) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._sessions.logout(CONTRACT, self._auth(req).claims)
        resp.media = render.ok(None)


_USER = {
    "id": 1,
    "phone": "13800138000",
    "nickname": "用户138****8000",
    "avatar": None,
    "gender": 0,
    "member_level_id": 1,
    "points": 0,
    "is_verified": False,
}
_TOKEN = {
    "access_token": "eyJhbGciOiJSUzI1NiIs...",
    "refresh_token": "eyJhbGciOiJIUzUxMiIs...",
    "expires_at": 1704067200,
}
_LOGIN = render.ok({"user": _USER, "token": _TOKEN, "is_new_user": True})


ROUTES = (
    Route(
        "POST",
        "/auth/sms/send",
        lambda s: SmsSend(s.codes),
        "发送短信验证码",
        request=schemas.SmsSendRequest,
        response=schemas.SentCodeResponse,
        errors=("rate_limited", "delivery_failed", "delivery_failed.target_rejected"),
        request_example={"phone": "13800138000", "code_type": "login"},
        response_example=render.ok({"expire_in": 300}),
    ),
    Route(
        "POST",
        "/auth/login/sms",
        lambda s: SmsLogin(s.verified_sign_ins),
        "短信验证码登录（未注册自动注册）",
        request=schemas.SmsLoginRequest,
        response=schemas.LoginResponse,
        errors=(
            "invalid_input.phone",
            "invalid_input.invite_code",
            "code_rejected",
            "account_disabled",
            "rate_limited",
        ),
        request_example={"phone": "13800138000", "code": "123456", "invite_code": "ABC123"},
        response_example=_LOGIN,
    ),
    Route(
        "POST",
        "/auth/login/wechat",
        lambda s: WechatLogin(s.verified_sign_ins),
        "微信小程序登录",
        request=schemas.WechatLoginRequest,
        response=schemas.LoginResponse,
        errors=(
            "invalid_input.invite_code",
            "external_auth_rejected",
            "account_disabled",
            "rate_limited",
        ),
        request_example={"code": "wx_login_code", "nickname": "微信用户", "gender": 1},
        response_example=_LOGIN,
    ),
    Route(
        "POST",
        "/auth/refresh",
        lambda s: Refresh(s.sessions),
        "刷新 Token",
        request=schemas.RefreshRequest,
        response=schemas.TokenResponse,
        errors=("invalid_token",),
        request_example={"refresh_token": _TOKEN["refresh_token"]},
        response_example=render.ok(_TOKEN),
    ),
    Route(
        "GET",
        "/auth/me",
        lambda s: Me(s.sessions, s.registrar),
        "获取当前用户信息",
        response=schemas.UserResponse,
        bearer=True,
        response_example=render.ok(_USER),
    ),
    Route(
        "POST",
        "/auth/bind-phone",
        lambda s: BindPhone(s.sessions, s.phone_binding),
        "绑定手机号",
        request=schemas.BindPhoneRequest,
        response=schemas.EmptyResponse,
        bearer=True,
        errors=("invalid_input.phone", "code_rejected", "already_exists.phone"),
        request_example={"phone": "13800138000", "code": "123456"},
        response_example=render.ok(None),
    ),
    Route(
        "POST",
        "/auth/logout",
        lambda s: Logout(s.sessions),
        "退出登录",
        response=schemas.EmptyResponse,
        bearer=True,
        response_example=render.ok(None),
    ),
)
