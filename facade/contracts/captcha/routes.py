"""Resources of the ``captcha`` contract: parse, call the core, render (captcha.md).

captcha.md's send names no purpose, and one code must serve whichever step follows it:
``/auth/register`` for a new identifier, ``/auth/login`` with ``code`` for a known one. So every
captcha code is sent and checked with the purpose ``login`` (the document itself calls the send
"send login code"); codes stay single use and scoped to this contract and identifier.
"""

from __future__ import annotations

import falcon

from facade.contracts.captcha import render, schemas
from facade.contracts.kit import Route, parse
from facade.core.enrolment import Enrolment
from facade.core.errors import InvalidToken
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.verified_sign_in import VerifiedSignIns
from facade.http.auth import bearer_token

CONTRACT = "captcha"
#: The one purpose of every captcha code (see the module docstring).
PURPOSE = "login"


class SendCaptcha:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.SendCaptchaRequest).root
        result = self._enrolment.send_code(
            CONTRACT, PURPOSE, body.channel, body.identifier, req.context.client_ip
        )
        resp.media = render.code_sent(body.channel, result)


class Register:
    def __init__(self, enrolment: Enrolment) -> None:
        self._enrolment = enrolment

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RegisterRequest).root
        registered = self._enrolment.register_with_code(
            CONTRACT,
            body.channel,
            body.identifier,
            body.code,
            password=body.password,
            username=body.username,
            client_ip=req.context.client_ip,
            purpose=PURPOSE,
            sign_in=False,
        )
        resp.status = falcon.HTTP_201
        resp.media = render.created(registered.user)


class Login:
    """By password when one is given, else by code; a code never creates a user here."""

    def __init__(self, sessions: Sessions, registrar: Registrar, sign_ins: VerifiedSignIns) -> None:
        self._sessions = sessions
        self._registrar = registrar
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.LoginRequest).root
        ip = req.context.client_ip
        if body.password is not None:
            signed_in = self._sessions.sign_in_password(
                CONTRACT, body.identifier, body.password, client_ip=ip
            )
            # A user made elsewhere (the admin console) gets its shared integer id now.
            user, tokens = self._registrar.ensure_identifiers(signed_in.user), signed_in.tokens
        else:
            assert body.code is not None  # the model requires one of the two
            verified = self._sign_ins.by_code(
                CONTRACT,
                body.channel,
                body.identifier,
                body.code,
                client_ip=ip,
                purpose=PURPOSE,
                register=False,
            )
            user, tokens = verified.user, verified.tokens
        resp.media = render.signed_in(user, tokens)


class Refresh:
    """The refresh token comes as ``Authorization: Bearer <refresh_token>`` (README)."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        token = bearer_token(req)
        if token is None:
            raise InvalidToken("missing refresh token")
        resp.media = render.refreshed(self._sessions.refresh(CONTRACT, token))


_TOKENS = {"access_token": "eyJhbGciOiJSUzI1NiIs...", "refresh_token": "eyJhbGciOiJIUzUxMiIs..."}

ROUTES = (
    Route(
        "POST",
        render.SEND,
        lambda s: SendCaptcha(s.enrolment),
        "发送验证码",
        request=schemas.SendCaptchaRequest,
        response=schemas.SendCaptchaResponse,
        errors=(
            "rate_limited",
            "delivery_failed",
            "delivery_failed.target_rejected",
            "delivery_failed.throttled",
        ),
        description=(
            "Body code 200 with is_first_use when no user has the phone or email yet, else body "
            "code 204 (sent as HTTP 200, which can carry the body). `captcha` is returned in "
            "development mode only. The code serves /auth/register and code login alike."
        ),
        request_example={"identifier": "13812345678", "type": "phone"},
        response_example={
            "code": 200,
            "message": "phone first use",
            "is_first_use": True,
            "captcha": "123456",
        },
    ),
    Route(
        "POST",
        render.REGISTER,
        lambda s: Register(s.enrolment),
        "用户注册",
        request=schemas.RegisterRequest,
        response=schemas.RegisterResponse,
        success_status=201,
        errors=(
            "code_rejected",
            "already_exists.username",
            "already_exists.phone",
            "already_exists.email",
            "account_disabled",
            "rate_limited",
        ),
        description="The identifier is proven by the code, so it is stored verified.",
        request_example={
            "username": "testuser",
            "identifier": "test@example.com",
            "type": "email",
            "code": "123456",
            "password": "password123",
        },
        response_example={"code": 201, "message": "create user success", "user_id": 1},
    ),
    Route(
        "POST",
        render.LOGIN,
        lambda s: Login(s.sessions, s.registrar, s.verified_sign_ins),
        "用户登录",
        request=schemas.LoginRequest,
        response=schemas.LoginResponse,
        errors=(
            "not_found",
            "invalid_credentials",
            "code_rejected",
            "account_disabled",
            "rate_limited",
        ),
        description=(
            "Password login when `password` is given, else code login; code login never "
            "creates a user (401 User not found)."
        ),
        request_example={"identifier": "13812345678", "type": "phone", "password": "password123"},
        response_example={"code": 200, "message": "user login success", **_TOKENS, "user_id": 1},
    ),
    Route(
        "POST",
        render.REFRESH,
        lambda s: Refresh(s.sessions),
        "刷新令牌",
        response=schemas.RefreshResponse,
        bearer=True,
        description="Send the refresh token as `Authorization: Bearer <refresh_token>`; no body.",
        response_example={"code": 200, "message": "token refreshed", **_TOKENS},
    ),
)
