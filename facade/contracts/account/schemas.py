"""Request and response bodies of account.md, declared once for parsing and for the document.

``/login`` takes one of two bodies; :class:`LoginRequest` picks the shape from the fields the
client sent, so a 422 names exactly what that shape misses (both shapes' fields for a body that
names neither).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    RootModel,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails

from facade.contracts.kit.fields import Bounded, Code, Email, Phone, RequestModel, Rule, Username
from facade.core.errors import InvalidInput
from facade.core.passwords import DEFAULT_RULE
from facade.core.users import phone_or_none

Password = Annotated[str, Rule(DEFAULT_RULE)]
#: A password being checked, not set: any non-empty text (the rule applies when it is set).
GivenPassword = Annotated[str, Bounded(1024, 1)]
#: The InvalidInput ``field`` of the document's own 400s (not the 422 list).
PHONE_FORMAT = "phone_format"
PASSWORDS_REQUIRED = "passwords_required"


def _rule_unless_empty(value: str) -> str:
    return value if value == "" else Rule(DEFAULT_RULE).check(value)


#: The password rule, except that an empty one is the document's own 400 at the resource.
NewPassword = Annotated[
    str,
    AfterValidator(_rule_unless_empty),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": DEFAULT_RULE.min_length,
            "maxLength": DEFAULT_RULE.max_length,
            "format": "password",
            "description": "an empty old or new password is a 400 (account.md)",
        }
    ),
]


class RegisterRequest(RequestModel):
    username: Username
    phone: Phone
    password: Password


class SendCodeRequest(RequestModel):
    phone: Annotated[str, Bounded(64)] = Field(
        description="Mainland China mobile number; one that is not is a 400 (account.md)",
        examples=["13800138000"],
    )


class CheckUsernameRequest(RequestModel):
    username: Annotated[str, Bounded(255, 1)]


class PasswordLogin(RequestModel):
    username: Annotated[str, Bounded(255, 1)] = Field(description="A username or a phone number")
    password: GivenPassword


class CodeLogin(RequestModel):
    phone: Phone
    code: Code


#: Both shapes' fields, listed as missing when a body names none of them.
LOGIN_FIELDS = ("username", "password", "phone", "code")


class LoginRequest(RootModel[PasswordLogin | CodeLogin]):
    """``username`` + ``password``, or ``phone`` + ``code`` (a new phone gets a user)."""

    @model_validator(mode="wrap")
    @classmethod
    def _one_shape(cls, data: Any, handler: ModelWrapValidatorHandler[LoginRequest]) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        named = set(data) & set(LOGIN_FIELDS)
        if not named:
            missing = [
                InitErrorDetails(type="missing", loc=(name,), input=data) for name in LOGIN_FIELDS
            ]
            raise ValidationError.from_exception_data(cls.__name__, missing)
        shape = CodeLogin if "code" in named or named == {"phone"} else PasswordLogin
        return cls.model_construct(shape.model_validate(data))


class PhoneLoginRequest(CodeLogin):
    """Only ``phone`` + ``code``; never creates a user."""


class CompleteRegistrationRequest(RequestModel):
    username: Username
    phone: Phone = Field(description="The signed-in user's own phone; any other is a 400")
    email: Email | None = Field(default=None, description="Stored unverified")


class ChangePasswordRequest(RequestModel):
    old_password: Annotated[str, Bounded(1024)]
    new_password: NewPassword


class ChangeUsernameRequest(RequestModel):
    new_username: Username


class SetPasswordRequest(RequestModel):
    new_password: Password


def send_code_phone(body: SendCodeRequest) -> str:
    """The canonical phone, or the document's 400 (手机号格式无效), not the 422 list."""
    phone = phone_or_none(body.phone)
    if phone is None:
        raise InvalidInput(PHONE_FORMAT, "not a mainland China mobile number")
    return phone


def require_passwords(body: ChangePasswordRequest) -> ChangePasswordRequest:
    """The document's 400 (旧密码或新密码缺失) for an empty old or new password."""
    if not body.old_password or not body.new_password:
        raise InvalidInput(PASSWORDS_REQUIRED, "old and new password are required")
    return body


class User(BaseModel):
    id: str = Field(description="The Keycloak user id")
    username: str
    phone: str | None
    email: str | None
    phone_verified: bool
    email_verified: bool
    has_password: bool


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"]


class Message(BaseModel):
    message: str


class UsernameExists(BaseModel):
    exists: bool


class HasPassword(BaseModel):
    has_password: bool
