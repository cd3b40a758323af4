"""Bodies of the ``account`` contract (account.md), as FastAPI answers them.

Success bodies are bare JSON; errors are ``{"detail": "<message>"}`` with the documented status;
an invalid body is a 422 whose ``detail`` lists every failing field as FastAPI and pydantic v2
word them (README "account"). Messages follow the document's language per endpoint: English
where its success messages are English, Chinese on the ``/users/me/...`` endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from facade.contracts.account.schemas import PASSWORDS_REQUIRED, PHONE_FORMAT
from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.account_profile import OWN_PHONE, Profile
from facade.core.errors import InvalidInput
from facade.core.models import TokenSet

LOGIN = "/login"
CHANGE_USERNAME = "/users/me/username"

#: RFC 9110: every 401 names its scheme (FastAPI's OAuth2PasswordBearer sends the same).
BEARER = {"WWW-Authenticate": "Bearer"}
BAD_LOGIN = ErrorRow(401, "Incorrect username or password", headers=BEARER)

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(422, "Validation Error"),
        f"invalid_input.{PHONE_FORMAT}": ErrorRow(400, "Invalid phone number format"),
        f"invalid_input.{PASSWORDS_REQUIRED}": ErrorRow(400, "旧密码或新密码缺失"),
        f"invalid_input.{OWN_PHONE}": ErrorRow(
            400, "Phone number does not belong to the current user"
        ),
        "already_exists": ErrorRow(400, "{field} already registered"),
        "already_exists.username": ErrorRow(400, "Username already registered"),
        "already_exists.phone": ErrorRow(400, "Phone number already registered"),
        "already_exists.email": ErrorRow(400, "Email already registered"),
        "already_exists.password": ErrorRow(400, "用户已设置密码"),
        "not_found": ErrorRow(404, "User not found"),
        "invalid_credentials": BAD_LOGIN,
        "account_disabled": ErrorRow(400, "Inactive user"),
        "invalid_token": ErrorRow(401, "Could not validate credentials", headers=BEARER),
        "code_rejected": ErrorRow(401, "Invalid verification code", headers=BEARER),
        "code_rejected.expired": ErrorRow(
            401, "Verification code expired or not found", headers=BEARER
        ),
        "code_rejected.too_many_tries": ErrorRow(
            401, "Too many wrong attempts; request a new verification code", headers=BEARER
        ),
        "rate_limited": ErrorRow(429, "Too many requests"),
        "delivery_failed": ErrorRow(503, "Failed to send verification code"),
        "delivery_failed.target_rejected": ErrorRow(400, "Failed to send verification code"),
        "delivery_failed.throttled": ErrorRow(429, "Too many requests"),
        "external_auth_rejected": ErrorRow(401, "Could not validate credentials", headers=BEARER),
        "unavailable": ErrorRow(503, "Service unavailable"),
        "not_implemented": ErrorRow(501, "Not implemented"),
        "http": ErrorRow(0, "{title}"),
        "internal": ErrorRow(500, "Internal Server Error"),
    },
    routes={
        # An unknown login is told apart from a wrong password nowhere.
        LOGIN: {"not_found": BAD_LOGIN},
        "/users/me/password": {
            "invalid_credentials": ErrorRow(401, "旧密码不正确", headers=BEARER)
        },
        CHANGE_USERNAME: {"already_exists.username": ErrorRow(400, "新用户名已存在")},
    },
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
#: FastAPI's own 422 schemas, under the names FastAPI publishes them.
ERROR_COMPONENTS: Mapping[str, Mapping[str, Any]] = {
    "HTTPValidationError": {
        "properties": {
            "detail": {
                "items": {"$ref": "#/components/schemas/ValidationError"},
                "type": "array",
                "title": "Detail",
            }
        },
        "type": "object",
        "title": "HTTPValidationError",
    },
    "ValidationError": {
        "properties": {
            "loc": {
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "type": "array",
                "title": "Location",
            },
            "msg": {"type": "string", "title": "Message"},
            "type": {"type": "string", "title": "Error Type"},
        },
        "type": "object",
        "required": ["loc", "msg", "type"],
        "title": "ValidationError",
    },
}
VALIDATION_ERROR_SCHEMA = {"$ref": "#/components/schemas/HTTPValidationError"}

#: The kit's own words for a body that is no object at all, as FastAPI words them.
_BODY_ERRORS = {
    "missing": ("missing", "Field required"),
    "json_invalid": ("json_invalid", "JSON decode error"),
    "model_type": (
        "model_attributes_type",
        "Input should be a valid dictionary or object to extract fields from",
    ),
}
#: The kit's field types that are no pydantic built-in: a FastAPI app's own validator
#: raising ValueError is answered as ``value_error``.
_CUSTOM_TYPES = frozenset(
    {"phone", "email", "code", "username", "url", "weak_password", "unsafe_text", "string_length"}
)
_SAMPLE_ERROR = {"loc": ["phone"], "msg": "Field required", "type": "missing"}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    if row.status != 422:
        return {"detail": row.message}
    items = error.errors if isinstance(error, InvalidInput) else (_SAMPLE_ERROR,)
    return {"detail": [validation_item(item) for item in items]}


def validation_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of FastAPI's 422 list: ``loc`` under ``body``, pydantic's words."""
    loc = list(item["loc"])
    error_type, msg = str(item["type"]), str(item["msg"])
    if not loc and error_type in _BODY_ERRORS:
        error_type, msg = _BODY_ERRORS[error_type]
    elif error_type in _CUSTOM_TYPES:
        error_type, msg = "value_error", f"Value error, {msg}"
    return {"loc": ["body", *loc], "msg": msg, "type": error_type}


def user(profile: Profile) -> dict[str, Any]:
    """The user object of register, complete-registration and ``/users/me``; never a secret."""
    account = profile.user
    return {
        "id": account.id,
        "username": account.username,
        "phone": account.attr("phone_number"),
        "email": account.email,
        "phone_verified": profile.phone_verified,
        "email_verified": bool(account.email) and account.email_verified,
        "has_password": profile.has_password,
    }


def token(tokens: TokenSet) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "token_type": "bearer"}


def message(text: str) -> dict[str, str]:
    return {"message": text}
