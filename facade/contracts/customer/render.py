"""Bodies of the ``customer`` contract (customer.md): ``{code, message, data}``.

Every documented outcome is HTTP 200 with a business code in the body (README "customer");
10003, 10008 and 10009 are the codes the README adds.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(200, "invalid parameters", code=10001),
        "invalid_credentials": ErrorRow(200, "wrong phone or password", code=10002),
        "invalid_token": ErrorRow(200, "invalid token", code=10003),
        "external_auth_rejected": ErrorRow(200, "invalid token", code=10003),
        "not_found": ErrorRow(200, "user not found", code=10004),
        "account_disabled": ErrorRow(200, "user disabled", code=10005),
        "code_rejected": ErrorRow(200, "invalid or expired verification code", code=10006),
        "already_exists": ErrorRow(200, "phone already registered", code=10007),
        "rate_limited": ErrorRow(200, "too many requests", code=10008),
        "delivery_failed": ErrorRow(200, "service unavailable", code=10009),
        "delivery_failed.target_rejected": ErrorRow(200, "invalid parameters", code=10001),
        "delivery_failed.throttled": ErrorRow(200, "too many requests", code=10008),
        "unavailable": ErrorRow(200, "service unavailable", code=10009),
        "not_implemented": ErrorRow(501, "not implemented"),
        "http": ErrorRow(0, "{title}"),
        "internal": ErrorRow(500, "internal error"),
    }
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Business error code (100xx)"},
        "message": {"type": "string"},
        "data": {"type": "null"},
    },
    "required": ["code", "message", "data"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    return {"code": row.body_code, "message": row.message, "data": None}
