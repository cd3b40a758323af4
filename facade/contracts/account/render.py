"""Bodies of the ``account`` contract (account.md), as FastAPI answers them.

Success bodies are bare JSON; errors are ``{"detail": "<message>"}`` with the documented status;
an invalid body is a 422 whose ``detail`` lists every failing field (README "account").
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.errors import InvalidInput

BEARER = {"WWW-Authenticate": "Bearer"}

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(422, "Validation Error"),
        "already_exists": ErrorRow(400, "{field} already registered"),
        "already_exists.username": ErrorRow(400, "Username already registered"),
        "already_exists.phone": ErrorRow(400, "Phone already registered"),
        "already_exists.email": ErrorRow(400, "Email already registered"),
        "already_exists.password": ErrorRow(400, "Password already set"),
        "not_found": ErrorRow(404, "User not found"),
        "invalid_credentials": ErrorRow(401, "Incorrect username or password", headers=BEARER),
        "account_disabled": ErrorRow(400, "Inactive user"),
        "invalid_token": ErrorRow(401, "Could not validate credentials", headers=BEARER),
        "code_rejected": ErrorRow(401, "Invalid or expired verification code"),
        "rate_limited": ErrorRow(429, "Too many requests"),
        "delivery_failed": ErrorRow(400, "Failed to send verification code"),
        "delivery_failed.throttled": ErrorRow(429, "Too many requests"),
        "external_auth_rejected": ErrorRow(401, "Could not validate credentials", headers=BEARER),
        "unavailable": ErrorRow(503, "Service unavailable"),
        "not_implemented": ErrorRow(501, "Not implemented"),
        "http": ErrorRow(0, "{title}"),
        "internal": ErrorRow(500, "Internal Server Error"),
    }
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
#: FastAPI's own ``HTTPValidationError``.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg", "type"],
            },
        }
    },
    "required": ["detail"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    if row.status == 422:
        items = (
            error.errors
            if isinstance(error, InvalidInput)
            else ({"loc": ["phone"], "msg": "Field required", "type": "missing"},)
        )
        return {"detail": [{**item, "loc": ["body", *item["loc"]]} for item in items]}
    return {"detail": row.message}
