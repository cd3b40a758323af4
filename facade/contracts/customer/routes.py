"""Resources of the ``customer`` contract: parse, call the core, render (customer.md).

Errors are raised, never caught here: the error table renders each as HTTP 200 with its
business code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.customer import render, schemas
from facade.contracts.kit import Route, parse
from facade.http.auth import BearerAuth

if TYPE_CHECKING:
    from facade.core.enrolment import Enrolment, Refusal
    from facade.core.registration import Registrar
    from facade.core.sessions import Sessions

CONTRACT = "customer"
#: What each ``type`` of ``/user/verify/sms`` refuses instead of sending: a register code for a
#: phone that has a user (10007, README "customer"), a reset code for one that has none (10004).
REFUSE: dict[str, Refusal] = {"register": "registered", "reset_password": "unregistered"}


class Login:
    def __init__(self, sessions: Sessions, registrar: Registrar) -> None:
        self._sessions = sessions
        self._registrar = registrar

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.LoginRequest)
        signed_in = self._sessions.sign_in_password(
            CONTRACT, body.phone, body.password, client_ip=req.context.client_ip
        )
        # A user an operator created has no shared integer id until first needed.
        user = self._registrar.ensure_identifiers(signed_in.user)
        resp.media = render.ok(render.session(user, signed_in.tokens))


class Register:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RegisterRequest)
        registered = self._enrolment.register_with_code(
            CONTRACT,
            "sms",
            body.phone,
            body.verify_code,
            password=body.password,
            attributes={"nickname": body.nickname},
            client_ip=req.context.client_ip,
        )
        resp.media = render.ok(render.registered(registered))


class Logout:
    def __init__(self, sessions: Sessions) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._sessions.logout(CONTRACT, self._auth(req).claims)
        resp.media = render.ok(None)


class VerifySms:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.VerifySmsRequest)
        sent = self._enrolment.send_code(
            CONTRACT,
            body.type,
            "sms",
            body.phone,
            req.context.client_ip,
            refuse=REFUSE[body.type],
        )
        resp.media = render.ok({"expires_in": sent.sent.expires_in})


class Refresh:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RefreshRequest)
        resp.media = render.ok(render.tokens(self._sessions.refresh(CONTRACT, body.refresh_token)))


class ResetPassword:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.ResetPasswordRequest)
        self._enrolment.reset_password_with_code(
            CONTRACT,
            "sms",
            body.phone,
            body.verify_code,
            body.new_password,
            client_ip=req.context.client_ip,
        )
        resp.media = render.ok(None)


_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."  # noqa: S105 - an example
_REFRESH = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9..."
_SESSION = render.ok(
    {"token": _TOKEN, "user_id": 10001, "expires_in": 86400, "refresh_token": _REFRESH}
)

ROUTES = (
    Route(
        "POST",
        "/user/login",
        lambda s: Login(s.sessions, s.registrar),
        "用户登录",
        request=schemas.LoginRequest,
        response=schemas.SessionResponse,
        errors=("invalid_credentials", "not_found", "account_disabled", "rate_limited"),
        description="用户使用手机号和密码登录. A phone without a user answers 10004 (the table "
        "lists it; verify/sms already tells whether a phone is registered), a wrong password "
        "10002.",
        request_example={"phone": "13800138000", "password": "password123"},
        response_example=_SESSION,
    ),
    Route(
        "POST",
        "/user/register",
        lambda s: Register(s.enrolment),
        "用户注册",
        request=schemas.RegisterRequest,
        response=schemas.SessionResponse,
        errors=("code_rejected", "already_exists.phone", "account_disabled", "rate_limited"),
        description="新用户使用手机号注册账号 with a code sent by /user/verify/sms type register; "
        "signs the new user in at once.",
        request_example={
            "phone": "13800138000",
            "password": "password123",
            "nickname": "新用户",
            "verify_code": "123456",
        },
        response_example=_SESSION,
    ),
    Route(
        "POST",
        "/user/logout",
        lambda s: Logout(s.sessions),
        "用户登出",
        response=schemas.EmptyResponse,
        bearer=True,
        description="Ends the session at once: its access and refresh tokens are refused (10003) "
        "by every contract from now on.",
        response_example=render.ok(None),
    ),
    Route(
        "POST",
        "/user/verify/sms",
        lambda s: VerifySms(s.enrolment),
        "发送短信验证码",
        request=schemas.VerifySmsRequest,
        response=schemas.SentCodeResponse,
        errors=(
            "already_exists.phone",
            "not_found",
            "rate_limited",
            "delivery_failed",
            "delivery_failed.target_rejected",
        ),
        description="Codes are 6 digits, live 5 minutes, at most one a minute and 10 a day for "
        "one phone (10008 with Retry-After beyond that).",
        request_example={"phone": "13800138000", "type": "register"},
        response_example=render.ok({"expires_in": 300}),
    ),
    Route(
        "POST",
        "/user/refresh",
        lambda s: Refresh(s.sessions),
        "刷新令牌",
        request=schemas.RefreshRequest,
        response=schemas.TokensResponse,
        errors=("invalid_token",),
        request_example={"refresh_token": _REFRESH},
        response_example=render.ok(
            {"token": _TOKEN, "refresh_token": _REFRESH, "expires_in": 86400}
        ),
    ),
    Route(
        "POST",
        "/user/password/reset",
        lambda s: ResetPassword(s.enrolment),
        "忘记密码",
        request=schemas.ResetPasswordRequest,
        response=schemas.EmptyResponse,
        errors=("code_rejected", "not_found", "account_disabled", "rate_limited"),
        description="With a code sent by /user/verify/sms type reset_password. Ends every "
        "session of the user at once; the old password stops working.",
        request_example={
            "phone": "13800138000",
            "verify_code": "123456",
            "new_password": "newpass123",
        },
        response_example=render.ok(None),
    ),
)
