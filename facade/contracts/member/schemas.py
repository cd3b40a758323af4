"""Request and response bodies of member.md, declared once for parsing and for the document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from facade.contracts.kit.fields import (
    Bounded,
    Code,
    HttpUrl,
    Phone,
    RequestModel,
    refuse_unsafe_text,
)

#: Invite codes are stored upper case (``registration.INVITE_ALPHABET``); clients may type lower.
#: Bounded, and checked for control characters before ``strip`` could hide one.
InviteCode = Annotated[
    str, Bounded(64), AfterValidator(lambda value: refuse_unsafe_text(value).strip().upper())
]


class SmsSendRequest(RequestModel):
    phone: Phone
    code_type: Literal["login", "bind"] = Field(description="login: 登录, bind: 绑定手机")


class SmsLoginRequest(RequestModel):
    phone: Phone
    code: Code
    invite_code: InviteCode | None = Field(
        default=None,
        description="邀请码（可选）. An unknown code is a 400 and leaves the SMS code usable; "
        "ignored for existing users.",
    )


class WechatLoginRequest(RequestModel):
    code: Annotated[str, Bounded(256, 1)] = Field(description="wx.login() 获取的 code")
    nickname: Annotated[str, Bounded(64)] | None = None
    avatar: HttpUrl | None = None
    gender: Literal[0, 1, 2] | None = Field(default=None, description="0未知 1男 2女")
    invite_code: InviteCode | None = None


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, Bounded(8192, 1)]


class BindPhoneRequest(RequestModel):
    phone: Phone
    code: Code


class User(BaseModel):
    id: int = Field(description="The shared integer user id")
    phone: str | None
    nickname: str
    avatar: str | None
    gender: Literal[0, 1, 2]
    member_level_id: int
    points: int
    is_verified: bool


class Token(BaseModel):
    access_token: str
    refresh_token: str
    expires_at: int = Field(description="Unix timestamp (seconds) when the access token expires")


class LoginResult(BaseModel):
    user: User
    token: Token
    is_new_user: bool


class SentCode(BaseModel):
    expire_in: int = Field(description="Seconds the code stays valid")


class _Ok(BaseModel):
    code: Literal[0]
    message: Literal["success"]


class SentCodeResponse(_Ok):
    data: SentCode


class LoginResponse(_Ok):
    data: LoginResult


class TokenResponse(_Ok):
    data: Token


class UserResponse(_Ok):
    data: User


class EmptyResponse(_Ok):
    data: None
