"""Bodies of the ``captcha`` contract (captcha.md): ``{code, message, error_info}``.

HTTP status equals the body ``code`` (README "captcha"); ``message`` is the endpoint's own
failure message and ``error_info`` says what failed.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable

#: Each endpoint's documented failure ``message``.
FAILURE_MESSAGES = {
    "/auth/send_captcha": "send login code fail",
    "/auth/register": "create user fail",
    "/auth/login": "user login fail",
    "/auth/refresh": "Invalid refresh token",
}
LOGIN = "/auth/login"

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(400, "invalid parameters", info="Missing required parameters"),
        "code_rejected": ErrorRow(400, "invalid code", info="Invalid or expired verification code"),
        "already_exists": ErrorRow(
            400, "user exists", info="User with this {field} already exists"
        ),
        "not_found": ErrorRow(401, "user not found", info="User not found"),
        "invalid_credentials": ErrorRow(401, "invalid credentials", info="Invalid password"),
        "account_disabled": ErrorRow(401, "account disabled", info="User disabled"),
        "invalid_token": ErrorRow(401, "Invalid refresh token", info="{detail}"),
        "rate_limited": ErrorRow(429, "too many requests", info="Too many requests"),
        "delivery_failed": ErrorRow(503, "service unavailable", info="Service unavailable"),
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
            "invalid_input": ErrorRow(
                401, "invalid parameters", info="Missing required parameters"
            ),
            "code_rejected": ErrorRow(
                401, "invalid code", info="Invalid or expired verification code"
            ),
        }
    },
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "message": {"type": "string"},
        "error_info": {"type": "string"},
    },
    "required": ["code", "message", "error_info"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    message = FAILURE_MESSAGES.get(route or "", row.message)
    return {"code": row.body_code, "message": message, "error_info": row.info or row.message}
