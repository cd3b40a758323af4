"""Bodies of the ``vcode`` contract (vcode.md): ``{code, message, error: {type, details}}``.

HTTP status equals ``code`` for errors; ``error.type`` is a stable upper-case identifier and
``error.details`` names the field or rule that failed (README "vcode").
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.errors import FacadeError, InvalidInput, RateLimited

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(400, "参数验证失败", info="VALIDATION_ERROR"),
        "code_rejected": ErrorRow(400, "验证码错误或已过期", info="INVALID_CODE"),
        "code_rejected.too_many_tries": ErrorRow(
            400, "验证码错误次数过多，请重新获取", info="CODE_TOO_MANY_TRIES"
        ),
        "already_exists": ErrorRow(409, "用户已存在", info="USER_EXISTS"),
        "not_found": ErrorRow(404, "用户不存在", info="USER_NOT_FOUND"),
        "invalid_credentials": ErrorRow(401, "用户名或密码错误", info="INVALID_CREDENTIALS"),
        "account_disabled": ErrorRow(403, "账号已被禁用", info="ACCOUNT_DISABLED"),
        "invalid_token": ErrorRow(401, "未授权", info="UNAUTHORIZED"),
        "rate_limited": ErrorRow(429, "请求过于频繁", info="RATE_LIMITED"),
        "delivery_failed": ErrorRow(503, "短信服务暂不可用", info="SERVICE_UNAVAILABLE"),
        "delivery_failed.target_rejected": ErrorRow(
            400, "手机号无法接收短信", info="VALIDATION_ERROR"
        ),
        "delivery_failed.throttled": ErrorRow(429, "请求过于频繁", info="RATE_LIMITED"),
        "external_auth_rejected": ErrorRow(401, "第三方认证失败", info="UNAUTHORIZED"),
        "unavailable": ErrorRow(503, "服务暂不可用", info="SERVICE_UNAVAILABLE"),
        "not_implemented": ErrorRow(501, "尚未实现", info="NOT_IMPLEMENTED"),
        "http": ErrorRow(0, "{title}", info="HTTP_ERROR"),
        "http.404": ErrorRow(404, "资源不存在", info="NOT_FOUND"),
        "http.405": ErrorRow(405, "方法不允许", info="METHOD_NOT_ALLOWED"),
        "internal": ErrorRow(500, "服务器内部错误", info="INTERNAL_ERROR"),
    }
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "message": {"type": "string"},
        "error": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "details": {}},
            "required": ["type", "details"],
        },
    },
    "required": ["code", "message", "error"],
}


def details(error: BaseException | None) -> Any:
    """Which field or rule failed, as data a client can show."""
    if isinstance(error, InvalidInput):
        return [
            {
                "field": ".".join(str(p) for p in item["loc"]),
                "rule": item["type"],
                "message": item["msg"],
            }
            for item in error.errors
        ]
    if isinstance(error, RateLimited):
        return {"retry_after": error.retry_after}
    if isinstance(error, FacadeError) and error.variant:
        return {"reason": error.variant}
    return None


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    return {
        "code": row.body_code,
        "message": row.message,
        "error": {"type": row.info, "details": details(error)},
    }
