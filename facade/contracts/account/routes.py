"""Resources of the ``account`` contract: parse, call the core once, render (account.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.account import render, schemas
from facade.contracts.kit import Route, parse
from facade.core.account_profile import AccountProfiles
from facade.core.accounts import Accounts
from facade.core.sessions import Sessions
from facade.core.verified_sign_in import VerifiedSignIns
from facade.http.auth import BearerAuth

if TYPE_CHECKING:
    from facade.bootstrap import Services
    from facade.core.codes import CodeService

CONTRACT = "account"
#: The purpose of ``/send-code``'s codes; ``/login`` and ``/phone-login`` both take them.
LOGIN_PURPOSE = "login"


def _profiles(services: Services) -> AccountProfiles:
    return AccountProfiles(
        services.identity,
        services.users,
        services.registrar,
        services.sessions,
        ledger=services.ledger,
    )


class Register:
    def __init__(self, profiles: AccountProfiles) -> None:
        self._profiles = profiles

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.RegisterRequest)
        profile = self._profiles.register_unproven(
            CONTRACT, body.username, body.phone, body.password, client_ip=req.context.client_ip
        )
        resp.media = render.user(profile)


class SendCode:
    def __init__(self, codes: CodeService) -> None:
        self._codes = codes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        phone = schemas.send_code_phone(parse(req, schemas.SendCodeRequest))
        self._codes.send(CONTRACT, LOGIN_PURPOSE, "sms", phone, req.context.client_ip)
        resp.media = render.message("Verification code sent successfully")


class CheckUsername:
    def __init__(self, profiles: AccountProfiles) -> None:
        self._profiles = profiles

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.CheckUsernameRequest)
        resp.media = {"exists": self._profiles.username_exists(body.username)}


class Login:
    """By username (or phone) and password, or by phone and code (a new phone gets a user)."""

    def __init__(self, sessions: Sessions, sign_ins: VerifiedSignIns) -> None:
        self._sessions = sessions
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.LoginRequest).root
        ip = req.context.client_ip
        if isinstance(body, schemas.PasswordLogin):
            signed_in = self._sessions.sign_in_password(
                CONTRACT, body.username, body.password, client_ip=ip
            )
            resp.media = render.token(signed_in.tokens)
        else:
            verified = self._sign_ins.by_code(
                CONTRACT, "sms", body.phone, body.code, client_ip=ip, purpose=LOGIN_PURPOSE
            )
            resp.media = render.token(verified.tokens)


class PhoneLogin:
    def __init__(self, sign_ins: VerifiedSignIns) -> None:
        self._sign_ins = sign_ins

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(req, schemas.PhoneLoginRequest)
        verified = self._sign_ins.by_code(
            CONTRACT,
            "sms",
            body.phone,
            body.code,
            client_ip=req.context.client_ip,
            purpose=LOGIN_PURPOSE,
            register=False,
        )
        resp.media = render.token(verified.tokens)


class CompleteRegistration:
    def __init__(self, sessions: Sessions, profiles: AccountProfiles) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._profiles = profiles

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = self._auth(req)
        body = parse(req, schemas.CompleteRegistrationRequest)
        profile = self._profiles.complete_registration(
            principal.user, username=body.username, phone=body.phone, email=body.email
        )
        resp.media = render.user(profile)


class Me:
    def __init__(self, sessions: Sessions, profiles: AccountProfiles) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._profiles = profiles

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = render.user(self._profiles.profile(self._auth(req).user))


class ChangePassword:
    def __init__(self, sessions: Sessions, accounts: Accounts) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._accounts = accounts

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = self._auth(req)
        body = schemas.require_passwords(parse(req, schemas.ChangePasswordRequest))
        self._accounts.change_password(
            CONTRACT, principal.user, body.old_password, body.new_password
        )
        resp.media = render.message("密码修改成功")


class ChangeUsername:
    def __init__(self, sessions: Sessions, accounts: Accounts) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._accounts = accounts

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = self._auth(req)
        body = parse(req, schemas.ChangeUsernameRequest)
        self._accounts.change_username(principal.user, body.new_username)
        resp.media = render.message("用户名修改成功")


class SetPassword:
    def __init__(self, sessions: Sessions, accounts: Accounts) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._accounts = accounts

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = self._auth(req)
        body = parse(req, schemas.SetPasswordRequest)
        self._accounts.set_initial_password(principal.user, body.new_password)
        resp.media = render.message("初始密码设置成功")


class HasPassword:
    def __init__(self, sessions: Sessions, accounts: Accounts) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._accounts = accounts

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"has_password": self._accounts.has_password(self._auth(req).user)}


class Logout:
    """Ends the Keycloak session; its tokens are refused everywhere at once."""

    def __init__(self, sessions: Sessions) -> None:
        self._auth = BearerAuth(CONTRACT, sessions)
        self._sessions = sessions

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._sessions.logout(CONTRACT, self._auth(req).claims)
        resp.media = render.message("Successfully logged out")


_USER = {
    "id": "6f1c2a9e-3b7d-4c55-9a40-2d8e1f0b7c11",
    "username": "testuser",
    "phone": "13800138000",
    "email": None,
    "phone_verified": False,
    "email_verified": False,
    "has_password": True,
}
_TOKEN = {"access_token": "eyJhbGciOiJSUzI1NiIs...", "token_type": "bearer"}
_CODE_ERRORS = ("code_rejected", "code_rejected.expired", "code_rejected.too_many_tries")

ROUTES = (
    Route(
        "POST",
        "/register",
        lambda s: Register(_profiles(s)),
        "用户注册",
        description="The phone is stored unverified: a later sign-in by code to it wins.",
        request=schemas.RegisterRequest,
        response=schemas.User,
        errors=("already_exists.username", "already_exists.phone", "rate_limited"),
        request_example={"username": "testuser", "phone": "13800138000", "password": "secret1"},
        response_example=_USER,
    ),
    Route(
        "POST",
        "/send-code",
        lambda s: SendCode(s.codes),
        "发送验证码",
        description="The code serves /login and /phone-login; it lives 300 s.",
        request=schemas.SendCodeRequest,
        response=schemas.Message,
        errors=(
            f"invalid_input.{schemas.PHONE_FORMAT}",
            "delivery_failed.target_rejected",
            "rate_limited",
            "delivery_failed",
        ),
        request_example={"phone": "13800138000"},
        response_example=render.message("Verification code sent successfully"),
    ),
    Route(
        "POST",
        "/check-username",
        lambda s: CheckUsername(_profiles(s)),
        "检查用户名是否已存在",
        description="Case-insensitive, as Keycloak compares usernames.",
        request=schemas.CheckUsernameRequest,
        response=schemas.UsernameExists,
        request_example={"username": "testuser"},
        response_example={"exists": True},
    ),
    Route(
        "POST",
        "/login",
        lambda s: Login(s.sessions, s.verified_sign_ins),
        "登录",
        description="username (or a phone number) + password, or phone + code; a phone "
        "signing in by code for the first time gets a user without password.",
        request=schemas.LoginRequest,
        response=schemas.Token,
        errors=("invalid_credentials", *_CODE_ERRORS, "account_disabled", "rate_limited"),
        request_example={"username": "testuser", "password": "secret1"},
        response_example=_TOKEN,
    ),
    Route(
        "POST",
        "/phone-login",
        lambda s: PhoneLogin(s.verified_sign_ins),
        "手机号验证码登录",
        description="Never creates a user.",
        request=schemas.PhoneLoginRequest,
        response=schemas.Token,
        errors=(*_CODE_ERRORS, "not_found", "account_disabled", "rate_limited"),
        request_example={"phone": "13800138000", "code": "123456"},
        response_example=_TOKEN,
    ),
    Route(
        "POST",
        "/complete-registration",
        lambda s: CompleteRegistration(s.sessions, _profiles(s)),
        "完成注册",
        description="Names the caller's own user; phone must be the caller's own phone and "
        "email is stored unverified.",
        request=schemas.CompleteRegistrationRequest,
        response=schemas.User,
        bearer=True,
        errors=(
            "already_exists.username",
            "already_exists.phone",
            "already_exists.email",
            "invalid_input.own_phone",
        ),
        request_example={"username": "testuser", "phone": "13800138000", "email": "a@b.com"},
        response_example={**_USER, "email": "a@b.com", "phone_verified": True},
    ),
    Route(
        "GET",
        "/users/me",
        lambda s: Me(s.sessions, _profiles(s)),
        "获取当前用户信息",
        response=schemas.User,
        bearer=True,
        response_example=_USER,
    ),
    Route(
        "PUT",
        "/users/me/password",
        lambda s: ChangePassword(s.sessions, s.accounts),
        "修改密码",
        request=schemas.ChangePasswordRequest,
        response=schemas.Message,
        bearer=True,
        errors=(f"invalid_input.{schemas.PASSWORDS_REQUIRED}", "invalid_credentials"),
        request_example={"old_password": "secret1", "new_password": "secret2"},
        response_example=render.message("密码修改成功"),
    ),
    Route(
        "PUT",
        "/users/me/username",
        lambda s: ChangeUsername(s.sessions, s.accounts),
        "修改用户名",
        request=schemas.ChangeUsernameRequest,
        response=schemas.Message,
        bearer=True,
        errors=("already_exists.username",),
        request_example={"new_username": "newname"},
        response_example=render.message("用户名修改成功"),
    ),
    Route(
        "POST",
        "/users/me/set-password",
        lambda s: SetPassword(s.sessions, s.accounts),
        "设置初始密码",
        request=schemas.SetPasswordRequest,
        response=schemas.Message,
        bearer=True,
        errors=("already_exists.password",),
        request_example={"new_password": "secret1"},
        response_example=render.message("初始密码设置成功"),
    ),
    Route(
        "GET",
        "/users/me/has-password",
        lambda s: HasPassword(s.sessions, s.accounts),
        "检查是否已设置密码",
        response=schemas.HasPassword,
        bearer=True,
        response_example={"has_password": False},
    ),
    Route(
        "POST",
        "/logout",
        lambda s: Logout(s.sessions),
        "退出登录",
        description="Also ends the Keycloak session: its tokens are refused at once.",
        response=schemas.Message,
        bearer=True,
        response_example=render.message("Successfully logged out"),
    ),
)
