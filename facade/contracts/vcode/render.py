"""Bodies of the ``vcode`` contract (vcode.md): ``{code: 0, message, data}`` on success and
``{code, message, error: {type, details}}`` on error.

HTTP status equals ``code`` for errors; ``error.type`` is a stable upper-case identifier and
``error.details`` names the field or rule that failed (contracts README, "vcode"). Invalid input
is ``VALIDATION_ERROR`` with one ``{field, rule, message}`` entry per failure, except that a
request whose only fault is the password rule is ``WEAK_PASSWORD`` (same status and shape), so a
client can tell the user what to change without reading the list.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.errors import (
    AlreadyExists,
    CodeRejected,
    DeliveryFailed,
    InvalidInput,
    InvalidToken,
    RateLimited,
    Unavailable,
)
from facade.core.models import TokenSet, User

LOGIN = "/auth/login"
#: Key of the row a request gets when the password rule is its only fault.
WEAK_PASSWORD_KEY = "invalid_input.weak_password"  # noqa: S105 - a table key
_CREDENTIALS = ErrorRow(401, "用户名或密码错误", info="INVALID_CREDENTIALS")

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(400, "参数验证失败", info="VALIDATION_ERROR"),
        WEAK_PASSWORD_KEY: ErrorRow(
            400, "密码强度不足：至少8位，且包含大写字母、小写字母和数字", info="WEAK_PASSWORD"
        ),
        "code_rejected": ErrorRow(400, "验证码错误或已过期", info="INVALID_CODE"),
        "code_rejected.too_many_tries": ErrorRow(
            400, "验证码错误次数过多，请重新获取", info="CODE_TOO_MANY_TRIES"
        ),
        "already_exists": ErrorRow(409, "用户已存在", info="USER_EXISTS"),
        "not_found": ErrorRow(404, "用户不存在", info="USER_NOT_FOUND"),
        "invalid_credentials": _CREDENTIALS,
        "account_disabled": ErrorRow(403, "账号已被禁用", info="ACCOUNT_DISABLED"),
        "invalid_token": ErrorRow(401, "未授权", info="UNAUTHORIZED"),
        "rate_limited": ErrorRow(429, "请求过于频繁", info="RATE_LIMITED"),
        "delivery_failed": ErrorRow(503, "短信服务暂不可用", info="SERVICE_UNAVAILABLE"),
        "delivery_failed.target_rejected": ErrorRow(
            400, "手机号无法接收短信", info="VALIDATION_ERROR"
        ),
        "delivery_failed.throttled": ErrorRow(429, "请求过于频繁", info="RATE_LIMITED"),
        "external_auth_rejected": ErrorRow(401, "第三方认证失败", info="UNAUTHORIZED"),
        "unavailable": ErrorRow(503, "服务暂不可用: {part}", info="SERVICE_UNAVAILABLE"),
        "not_implemented": ErrorRow(501, "尚未实现", info="NOT_IMPLEMENTED"),
        "http": ErrorRow(0, "{title}", info="HTTP_ERROR"),
        "http.404": ErrorRow(404, "资源不存在", info="NOT_FOUND"),
        "http.405": ErrorRow(405, "方法不允许", info="METHOD_NOT_ALLOWED"),
        "internal": ErrorRow(500, "服务器内部错误", info="INTERNAL_ERROR"),
    },
    # An unknown login and a wrong password look alike, so a stranger cannot probe who has
    # an account.
    routes={LOGIN: {"not_found": _CREDENTIALS}},
)

_TYPES = sorted({row.info for row in ERRORS.rows.values() if row.info})

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "message": {"type": "string"},
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": _TYPES},
                "details": {
                    "description": "VALIDATION_ERROR and WEAK_PASSWORD: a list of {field, rule, "
                    "message}; INVALID_CODE, CODE_TOO_MANY_TRIES, USER_EXISTS, USER_NOT_FOUND: "
                    "{field, ...}; RATE_LIMITED: {retry_after}; SERVICE_UNAVAILABLE: {service}; "
                    "otherwise null"
                },
            },
            "required": ["type", "details"],
        },
    },
    "required": ["code", "message", "error"],
}

#: What the document's examples show as ``details`` (no error at hand when it is built).
_SAMPLE_DETAILS: dict[str, Any] = {
    "VALIDATION_ERROR": [
        {"field": "phone", "rule": "phone", "message": "invalid mainland China mobile number"}
    ],
    "WEAK_PASSWORD": [
        {"field": "password", "rule": "weak_password", "message": "must contain a digit"}
    ],
    "INVALID_CODE": {"field": "code", "reason": "wrong"},
    "CODE_TOO_MANY_TRIES": {"field": "code", "reason": "too_many_tries"},
    "USER_EXISTS": {"field": "phone"},
    "USER_NOT_FOUND": {"field": "phone"},
    "RATE_LIMITED": {"retry_after": 60},
    "SERVICE_UNAVAILABLE": {"service": "keycloak"},
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    if isinstance(error, InvalidInput) and _only_weak_password(error):
        # Same status as the invalid_input row it replaces (400); only type and message differ.
        row = ERRORS.lookup(WEAK_PASSWORD_KEY).resolved(error)
    return {
        "code": row.body_code,
        "message": row.message,
        "error": {"type": row.info, "details": details(row, error)},
    }


def details(row: ErrorRow, error: BaseException | None) -> Any:
    """Which field or rule failed, as data a client can act on."""
    if error is None:
        return _SAMPLE_DETAILS.get(row.info or "")
    if row.info == "INVALID_CREDENTIALS":
        return None  # identical for an unknown login and a wrong password
    if isinstance(error, InvalidInput):
        return [
            {
                "field": ".".join(str(part) for part in item["loc"]) or "body",
                "rule": item["type"],
                "message": item["msg"],
            }
            for item in error.errors
        ]
    if isinstance(error, RateLimited):
        return {"retry_after": error.retry_after}
    if isinstance(error, DeliveryFailed):
        if error.reason == "target_rejected":
            return [{"field": "phone", "rule": "sms_rejected", "message": "cannot receive SMS"}]
        if error.reason == "throttled":
            return {"retry_after": 60}
        return {"service": error.channel}
    if isinstance(error, Unavailable):
        return {"service": error.part}
    if isinstance(error, CodeRejected):
        return {"field": "code", "reason": error.reason}
    if isinstance(error, AlreadyExists):
        return {"field": error.field}
    if row.info == "USER_NOT_FOUND":
        return {"field": "phone"}  # vcode looks users up by phone only after a code
    if isinstance(error, InvalidToken):
        return {"reason": error.reason}
    return None


def _only_weak_password(error: InvalidInput) -> bool:
    return bool(error.errors) and all(item["type"] == "weak_password" for item in error.errors)


def ok(message: str, data: Any) -> dict[str, Any]:
    return {"code": 0, "message": message, "data": data}


def signed_in(message: str, user: User, tokens: TokenSet) -> dict[str, Any]:
    """Both logins and registration: the access token (the whole session) and the user."""
    return ok(message, {"token": tokens.access_token, "user": vcode_user(user, tokens.roles)})


def vcode_user(user: User, roles: frozenset[str]) -> dict[str, Any]:
    """The document's user: ``id`` is the Keycloak id; ``role`` follows the realm role."""
    return {
        "id": user.id,
        "username": user.username,
        "nickname": user.attr("nickname") or user.username,
        "avatar_url": user.attr("avatar") or "",
        "role": "admin" if "admin" in roles else "user",
    }
