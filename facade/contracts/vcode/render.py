"""Errors of the ``vcode`` contract, rendered as vcode.md documents them."""

from __future__ import annotations

import falcon

from facade.contracts.base import http_status_of
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    NotImplementedYet,
    RateLimited,
    Unavailable,
)
from facade.http.rendering import Rendered


def _body(status: int, message: str, kind: str, details: object = None) -> dict[str, object]:
    return {"code": status, "message": message, "error": {"type": kind, "details": details}}


def render_error(error: Exception) -> Rendered:
    """``{code, message, error: {type, details}}`` with HTTP status = ``code`` (vcode.md)."""
    if isinstance(error, InvalidInput):
        return Rendered(400, _body(400, "参数验证失败", "VALIDATION_ERROR", error.detail))
    if isinstance(error, AlreadyExists):
        return Rendered(409, _body(409, "用户已存在", "USER_EXISTS", {"field": error.field}))
    if isinstance(error, NotFound):
        return Rendered(404, _body(404, "用户不存在", "USER_NOT_FOUND"))
    if isinstance(error, InvalidCredentials | AccountDisabled):
        return Rendered(401, _body(401, "用户名或密码错误", "INVALID_CREDENTIALS"))
    if isinstance(error, InvalidToken):
        return Rendered(401, _body(401, "未授权", "UNAUTHORIZED", error.reason))
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        details = {"retry_after": error.retry_after}
        return Rendered(429, _body(429, "请求过于频繁", "RATE_LIMITED", details), headers)
    if isinstance(error, Unavailable):
        return Rendered(503, _body(503, "服务暂不可用", "SERVICE_UNAVAILABLE", error.part))
    if isinstance(error, NotImplementedYet):
        return Rendered(501, _body(501, "尚未实现", "NOT_IMPLEMENTED", error.detail))
    status = http_status_of(error)
    kind = "NOT_FOUND" if status == 404 else "INTERNAL_ERROR" if status >= 500 else "HTTP_ERROR"
    return Rendered(status, _body(status, falcon.code_to_http_status(status)[4:], kind))
