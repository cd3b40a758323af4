"""Bodies of the ``captcha`` contract (captcha.md): success bodies and ``{code, message,
error_info}`` errors.

HTTP status equals the body ``code`` (contracts README, "captcha"), except the send's 204,
carried in HTTP 200. ``message`` is the endpoint's own failure message whatever failed;
``error_info`` says what failed, in the document's words.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.delivery import Channel
from facade.core.enrolment import CodeSent
from facade.core.identities import public_id
from facade.core.models import TokenSet, User

SEND = "/auth/send_captcha"
REGISTER = "/auth/register"
LOGIN = "/auth/login"
REFRESH = "/auth/refresh"

#: Each endpoint's documented failure ``message``.
FAILURE_MESSAGES = {
    SEND: "send login code fail",
    REGISTER: "create user fail",
    LOGIN: "user login fail",
    REFRESH: "Invalid refresh token",
}
#: Refresh failures other than a refused token (a 503): "Invalid refresh token" there would
#: make a client drop a token that is still good.
REFRESH_FAILED = "token refresh fail"

MISSING = "Missing required parameters"
EXISTS = "User with this {field} already exists"
BAD_CODE = "Invalid or expired verification code"

ERRORS = ErrorTable(
    rows={
        # A malformed identifier (or one not matching its type) is "格式错误": the same answer.
        "invalid_input": ErrorRow(400, "invalid parameters", info=MISSING),
        "code_rejected": ErrorRow(400, "invalid code", info=BAD_CODE),
        "already_exists": ErrorRow(400, "user exists", info=EXISTS),
        # Spelled out so that the OpenAPI examples show each of the README's three strings.
        **{
            f"already_exists.{field}": ErrorRow(400, "user exists", info=EXISTS.format(field=field))
            for field in ("username", "phone", "email")
        },
        "not_found": ErrorRow(401, "user not found", info="User not found"),
        "invalid_credentials": ErrorRow(401, "invalid credentials", info="Invalid password"),
        "account_disabled": ErrorRow(401, "account disabled", info="User disabled"),
        "invalid_token": ErrorRow(401, "Invalid refresh token", info="{detail}"),
        "rate_limited": ErrorRow(429, "too many requests", info="Too many requests"),
        "delivery_failed": ErrorRow(503, "service unavailable", info="Service unavailable"),
        # The provider refused this phone or mailbox: the client's input, not an outage.
        "delivery_failed.target_rejected": ErrorRow(
            400, "invalid identifier", info="Invalid identifier"
        ),
        "delivery_failed.throttled": ErrorRow(429, "too many requests", info="Too many requests"),
        "external_auth_rejected": ErrorRow(401, "rejected", info="External sign-in rejected"),
        "unavailable": ErrorRow(503, "service unavailable", info="Service unavailable"),
        "not_implemented": ErrorRow(501, "not implemented", info="Not implemented"),
        "http": ErrorRow(0, "{title}", info="{title}"),
        "internal": ErrorRow(500, "internal error", info="Internal server error"),
    },
    routes={
        # captcha.md answers a login with missing parameters or a wrong code with 401.
        LOGIN: {
            "invalid_input": ErrorRow(401, "invalid parameters", info=MISSING),
            "code_rejected": ErrorRow(401, "invalid code", info=BAD_CODE),
        },
        # Registration answers only 201 or 400: a disabled holder of an unproven identifier.
        REGISTER: {"account_disabled": ErrorRow(400, "account disabled", info="User disabled")},
        REFRESH: {
            "invalid_credentials": ErrorRow(
                401, "Invalid refresh token", info="Refresh token rejected"
            )
        },
    },
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "message": {"type": "string", "description": "The endpoint's failure message"},
        "error_info": {"type": "string", "description": "What failed"},
    },
    "required": ["code", "message", "error_info"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    return {
        "code": row.body_code,
        "message": failure_message(row, route),
        "error_info": row.info or row.message,
    }


def failure_message(row: ErrorRow, route: str | None) -> str:
    if route == REFRESH and row.status != 401:
        return REFRESH_FAILED
    return FAILURE_MESSAGES.get(route or "", row.message)


def code_sent(channel: Channel, result: CodeSent) -> dict[str, Any]:
    """``is_first_use`` (body code 200) when no user holds the identifier, else body code 204."""
    body: dict[str, Any] = (
        {"code": 204}
        if result.registered
        else {
            "code": 200,
            "message": f"{'phone' if channel == 'sms' else 'email'} first use",
            "is_first_use": True,
        }
    )
    if result.sent.code is not None:  # development mode only
        body["captcha"] = result.sent.code
    return body


def user_id(user: User) -> int:
    """The integer id: the captcha app's own id for its migrated users, else the shared uid."""
    return public_id(user, "captcha")


def created(user: User) -> dict[str, Any]:
    return {"code": 201, "message": "create user success", "user_id": user_id(user)}


def signed_in(user: User, tokens: TokenSet) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "user login success",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "user_id": user_id(user),
    }


def refreshed(tokens: TokenSet) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "token refreshed",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
    }
