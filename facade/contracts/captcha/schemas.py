"""Request and response bodies of captcha.md, declared once for parsing and for the document.

Every request names its identifier by ``type``: one model per type (a phone for ``phone``, an
email for ``email``) joined on that discriminator, so an identifier that does not match its
type is invalid input and the OpenAPI document says which shape each type takes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from facade.contracts.kit.fields import Bounded, Code, Email, Phone, RequestModel, Rule, Username
from facade.core.delivery import Channel
from facade.core.passwords import DEFAULT_RULE


def _empty_is_absent(value: Any) -> Any:
    """Forms send ``""`` for a field left blank: that is no password (or no code) at all."""
    return None if value == "" else value


class _ByPhone(RequestModel):
    identifier: Phone
    type: Literal["phone"]

    @property
    def channel(self) -> Channel:
        return "sms"


class _ByEmail(RequestModel):
    identifier: Email
    type: Literal["email"]

    @property
    def channel(self) -> Channel:
        return "email"


class PhoneIdentifier(_ByPhone):
    pass


class EmailIdentifier(_ByEmail):
    pass


class SendCaptchaRequest(
    RootModel[Annotated[PhoneIdentifier | EmailIdentifier, Field(discriminator="type")]]
):
    pass


class _Registration(RequestModel):
    username: Username
    code: Code
    password: Annotated[str, Rule(DEFAULT_RULE)]


class RegisterByPhone(_ByPhone, _Registration):
    pass


class RegisterByEmail(_ByEmail, _Registration):
    pass


class RegisterRequest(
    RootModel[Annotated[RegisterByPhone | RegisterByEmail, Field(discriminator="type")]]
):
    pass


#: Optional in the document; ``""`` counts as absent. The maximum is generous on purpose: a
#: wrong password is "Invalid password", not invalid input.
LoginPassword = Annotated[
    Annotated[str, Bounded(256)] | None,
    BeforeValidator(_empty_is_absent),
    WithJsonSchema(
        {
            "type": ["string", "null"],
            "maxLength": 256,
            "format": "password",
            "description": "密码登录时必填",
        }
    ),
]
LoginCode = Annotated[
    Code | None,
    BeforeValidator(_empty_is_absent),
    WithJsonSchema(
        {"type": ["string", "null"], "pattern": r"^([0-9]{6})?$", "description": "验证码登录时必填"}
    ),
]


class _Login(RequestModel):
    password: LoginPassword = None
    code: LoginCode = None

    @model_validator(mode="after")
    def _password_or_code(self) -> _Login:
        if self.password is None and self.code is None:
            raise PydanticCustomError("missing", "password or code is required")
        return self


class LoginByPhone(_ByPhone, _Login):
    pass


class LoginByEmail(_ByEmail, _Login):
    pass


class LoginRequest(RootModel[Annotated[LoginByPhone | LoginByEmail, Field(discriminator="type")]]):
    """Password sign-in when ``password`` is given (even alongside a code), else code sign-in."""


#: ``captcha`` is in a response only in development mode: absent, never null, in production.
DevCode = Annotated[
    str | None,
    WithJsonSchema(
        {"type": "string", "pattern": r"^[0-9]{6}$", "description": "验证码（开发环境返回）"}
    ),
]


def _absent_not_null(schema: dict[str, Any]) -> None:
    """An optional response field is left out, never sent as null: no ``default: null``."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class _Response(BaseModel):
    model_config = ConfigDict(json_schema_extra=_absent_not_null)


class FirstUse(_Response):
    code: Literal[200]
    message: Literal["phone first use", "email first use"]
    is_first_use: Literal[True]
    captcha: DevCode = None


class KnownIdentifier(_Response):
    """Sent as HTTP 200: an HTTP 204 cannot carry the documented body."""

    code: Literal[204]
    captcha: DevCode = None


class SendCaptchaResponse(RootModel[FirstUse | KnownIdentifier]):
    pass


class RegisterResponse(BaseModel):
    code: Literal[201]
    message: Literal["create user success"]
    user_id: int = Field(description="The shared integer user id")


class LoginResponse(BaseModel):
    code: Literal[200]
    message: Literal["user login success"]
    access_token: str
    refresh_token: str
    user_id: int = Field(description="The shared integer user id")


class RefreshResponse(BaseModel):
    code: Literal[200]
    message: Literal["token refreshed"]
    access_token: str
    refresh_token: str
