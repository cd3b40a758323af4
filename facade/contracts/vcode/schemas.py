"""Request and response bodies of vcode.md, declared once for parsing and for the document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from facade.contracts.kit.fields import Bounded, Code, Phone, RequestModel, Rule, Username
from facade.core.passwords import STRONG_RULE

#: vcode.md 安全说明: at least 8 characters with upper case, lower case and a digit.
StrongPassword = Annotated[str, Rule(STRONG_RULE)]
#: A password being checked, not chosen: users from other contracts may hold shorter ones.
GivenPassword = Annotated[str, Bounded(128, 1)]


class SendCodeRequest(RequestModel):
    phone: Phone
    type: Literal["register", "login", "reset_password"] = Field(
        description="register: 注册, login: 验证码登录, reset_password: 重置密码. A code works "
        "only for the endpoint of its type."
    )


class CodeLoginRequest(RequestModel):
    phone: Phone
    code: Code = Field(description="The code sent with type login")


class RegisterRequest(RequestModel):
    phone: Phone
    code: Code = Field(description="The code sent with type register")
    password: StrongPassword
    username: Username | None = Field(default=None, description="可选; defaults to the phone")


class PasswordLoginRequest(RequestModel):
    username: Annotated[str, Bounded(255, 1)] = Field(
        description="A username, or the phone number or email of the account"
    )
    password: GivenPassword


class ResetPasswordRequest(RequestModel):
    phone: Phone
    code: Code = Field(description="The code sent with type reset_password")
    new_password: StrongPassword


class User(BaseModel):
    id: str = Field(description="The Keycloak user id (a UUID)")
    username: str
    nickname: str
    avatar_url: str = Field(description="Empty when the user has no avatar")
    role: Literal["user", "admin"]


class SignedIn(BaseModel):
    token: str = Field(
        description="A Keycloak access token (JWT) of client facade-vcode, valid 86400 s; "
        "there is no refresh: signing in again starts a new session"
    )
    user: User


class SentCode(BaseModel):
    expires_in: int = Field(description="Seconds the code stays valid")


class SentCodeResponse(BaseModel):
    code: Literal[0]
    message: Literal["验证码发送成功"]
    data: SentCode


class LoginResponse(BaseModel):
    code: Literal[0]
    message: Literal["登录成功"]
    data: SignedIn


class RegisterResponse(BaseModel):
    code: Literal[0]
    message: Literal["注册成功"]
    data: SignedIn


class ResetPasswordResponse(BaseModel):
    code: Literal[0]
    message: Literal["密码重置成功"]
    data: None
