"""Request and response bodies of customer.md, declared once for parsing and for the document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from facade.contracts.kit.fields import Bounded, Code, Phone, RequestModel, Rule
from facade.core.passwords import SHORT_RULE

ADDED = "Added by the facade (contracts README, customer); not in customer.md."

#: customer.md: 密码，最小6位，最大20位 (login, register and reset alike).
Password = Annotated[str, Rule(SHORT_RULE)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


#: 昵称（2-20字符）, counted as Keycloak counts (UTF-16 units); all blanks is no nickname.
Nickname = Annotated[
    str,
    Bounded(20, 2),
    AfterValidator(_not_blank),
    WithJsonSchema(
        {"type": "string", "minLength": 2, "maxLength": 20, "pattern": r"\S", "examples": ["昵称"]}
    ),
]


class LoginRequest(RequestModel):
    phone: Phone = Field(description="手机号，格式：1[3-9]\\d{9}")
    password: Password = Field(description="密码，最小6位，最大20位")


class RegisterRequest(RequestModel):
    phone: Phone
    password: Password = Field(description="密码（6-20位）")
    nickname: Nickname = Field(description="昵称（2-20字符）")
    verify_code: Code = Field(description="短信验证码（6位数字）, sent with type register")


class VerifySmsRequest(RequestModel):
    phone: Phone
    type: Literal["register", "reset_password"] = Field(
        description="验证码类型. register for a registered phone answers 10007 and sends "
        "nothing; reset_password for a phone without a user answers 10004 and sends nothing."
    )


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, Bounded(8192, 1)] = Field(
        description="刷新令牌: the refresh_token of login, register or an earlier refresh"
    )


class ResetPasswordRequest(RequestModel):
    phone: Phone
    verify_code: Code = Field(description="短信验证码, sent with type reset_password")
    new_password: Password = Field(description="新密码（6-20位）")


class Session(BaseModel):
    token: str = Field(description="JWT 访问令牌 (Authorization: Bearer <token>)")
    user_id: int = Field(
        description="用户ID: the integer id every contract shares for this user",
        json_schema_extra={"format": "int64"},
    )
    expires_in: int = Field(description="令牌有效期（秒）")
    refresh_token: str = Field(description=f"刷新令牌 for /user/refresh. {ADDED}")


class Tokens(BaseModel):
    token: str = Field(description="新的访问令牌")
    refresh_token: str = Field(description="新的刷新令牌")
    expires_in: int = Field(description="有效期（秒）")


class SentCode(BaseModel):
    expires_in: int = Field(description="Seconds the code stays valid")


class _Ok(BaseModel):
    code: Literal[0]
    message: Literal["success"]


class SessionResponse(_Ok):
    data: Session


class TokensResponse(_Ok):
    data: Tokens


class SentCodeResponse(_Ok):
    data: SentCode


class EmptyResponse(_Ok):
    data: None
