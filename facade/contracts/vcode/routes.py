"""Resources of the ``vcode`` contract: parse, call the core once, render (vcode.md).

Codes are scoped to their type: a ``register`` code works only at ``/auth/register``, a
``login`` code only at ``/auth/login/code``, a ``reset_password`` code only at the added
``/auth/reset-password``; any other use is simply a wrong code. vcode has no refresh and no
logout: its 24 h access token is the whole session, ended early by a reset or an operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.kit import Route, parse
from facade.contracts.vcode import render, schemas
from facade.core.enrolment import Enrolment
from facade.core.sessions import Sessions
from facade.core.targets import mask_phone
from facade.core.verified_sign_in import VerifiedSignIns

if TYPE_CHECKING:
    from facade.core.codes import CodeService

CONTRACT = "vcode"


class SendCode:
    """Any type goes to any phone: whether the phone has a user is never revealed here."""

    def __init__(self, codes: CodeService) -> None:
        self._codes = codes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.SendCodeRequest)
        sent = self._codes.send(CONTRACT, body.type, "sms", body.phone, req.context.client_ip)
        resp.media = render.ok("验证码发送成功", {"expires_in": sent.expires_in})


class CodeLogin:
    def __init__(self, sign_ins: VerifiedSignIns) -> None:
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.CodeLoginRequest)
        result = self._sign_ins.by_code(
            CONTRACT,
            "sms",
            body.phone,
            body.code,
            client_ip=req.context.client_ip,
            purpose="login",
            register=False,
        )
        resp.media = render.signed_in("登录成功", result.user, result.tokens)


class Register:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RegisterRequest)
        registered = self._enrolment.register_with_code(
            CONTRACT,
            "sms",
            body.phone,
            body.code,
            password=body.password,
            username=body.username,
            attributes={"nickname": body.username or f"用户{mask_phone(body.phone)}"},
            client_ip=req.context.client_ip,
            purpose="register",
        )
        assert registered.tokens is not None  # sign_in defaults to True
        resp.media = render.signed_in("注册成功", registered.user, registered.tokens)


class PasswordLogin:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.PasswordLoginRequest)
        result = self._sessions.sign_in_password(
            CONTRACT, body.username, body.password, client_ip=req.context.client_ip
        )
        resp.media = render.signed_in("登录成功", result.user, result.tokens)


class ResetPassword:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.ResetPasswordRequest)
        self._enrolment.reset_password_with_code(
            CONTRACT,
            "sms",
            body.phone,
            body.code,
            body.new_password,
            client_ip=req.context.client_ip,
            purpose="reset_password",
        )
        resp.media = render.ok("密码重置成功", None)


_USER = {
    "id": "5f0c6b8e-3d2a-4c1e-9b7a-2e4f6a8c0d12",
    "username": "username",
    "nickname": "nickname",
    "avatar_url": "https://example.com/avatar.png",
    "role": "user",
}
_TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9..."  # noqa: S105 - an example
_CODE_ERRORS = ("code_rejected", "code_rejected.too_many_tries", "rate_limited")

ROUTES = (
    Route(
        "POST",
        "/auth/verification-code",
        lambda s: SendCode(s.codes),
        "发送验证码",
        request=schemas.SendCodeRequest,
        response=schemas.SentCodeResponse,
        errors=("rate_limited", "delivery_failed", "delivery_failed.target_rejected"),
        description="One code per phone at a time (a new one replaces the last), at most one "
        "every 60 s and 10 a day; it lives 300 s and allows 3 wrong tries.",
        request_example={"phone": "13800138000", "type": "register"},
        response_example=render.ok("验证码发送成功", {"expires_in": 300}),
    ),
    Route(
        "POST",
        "/auth/login/code",
        lambda s: CodeLogin(s.verified_sign_ins),
        "验证码登录",
        request=schemas.CodeLoginRequest,
        response=schemas.LoginResponse,
        errors=(*_CODE_ERRORS, "not_found", "account_disabled"),
        description="A phone without a user is 404 USER_NOT_FOUND, told only after the code "
        "checks; it never registers one.",
        request_example={"phone": "13800138000", "code": "123456"},
        response_example=render.ok("登录成功", {"token": _TOKEN, "user": _USER}),
    ),
    Route(
        "POST",
        "/auth/register",
        lambda s: Register(s.enrolment),
        "验证码注册",
        request=schemas.RegisterRequest,
        response=schemas.RegisterResponse,
        errors=(render.WEAK_PASSWORD_KEY, *_CODE_ERRORS, "already_exists", "account_disabled"),
        request_example={
            "phone": "13800138000",
            "code": "123456",
            "password": "Password123",
            "username": "username",
        },
        response_example=render.ok("注册成功", {"token": _TOKEN, "user": _USER}),
    ),
    Route(
        "POST",
        render.LOGIN,
        lambda s: PasswordLogin(s.sessions),
        "密码登录",
        request=schemas.PasswordLoginRequest,
        response=schemas.LoginResponse,
        errors=("invalid_credentials", "account_disabled", "rate_limited"),
        description="`username` also takes the account's phone number or email. An unknown "
        "login is answered like a wrong password.",
        request_example={"username": "username", "password": "Password123"},
        response_example=render.ok("登录成功", {"token": _TOKEN, "user": _USER}),
    ),
    Route(
        "POST",
        "/auth/reset-password",
        lambda s: ResetPassword(s.enrolment),
        "重置密码",
        request=schemas.ResetPasswordRequest,
        response=schemas.ResetPasswordResponse,
        errors=(render.WEAK_PASSWORD_KEY, *_CODE_ERRORS, "not_found", "account_disabled"),
        addition=True,
        description="Takes a code sent with type reset_password. Every session of the user "
        "ends: tokens issued before the reset are refused at once.",
        request_example={
            "phone": "13800138000",
            "code": "123456",
            "new_password": "NewPassword456",
        },
        response_example=render.ok("密码重置成功", None),
    ),
)
