"""Errors of the ``member`` contract, rendered as member.md documents them."""

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


def _body(status: int, message: str) -> dict[str, object]:
    return {"code": status, "message": message, "data": None}


def render_error(error: Exception) -> Rendered:
    """``{"code": <status>, "message": ..., "data": null}`` (member.md 通用错误响应格式)."""
    if isinstance(error, InvalidInput):
        return Rendered(400, _body(400, "参数错误"))
    if isinstance(error, AlreadyExists):
        return Rendered(409, _body(409, "手机号已被绑定"))
    if isinstance(error, InvalidToken | InvalidCredentials | AccountDisabled):
        return Rendered(401, _body(401, "未授权"))
    if isinstance(error, NotFound):
        return Rendered(404, _body(404, "用户不存在"))
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        return Rendered(429, _body(429, "发送过于频繁"), headers)
    if isinstance(error, Unavailable):
        return Rendered(503, _body(503, "服务暂不可用"))
    if isinstance(error, NotImplementedYet):
        return Rendered(501, _body(501, "尚未实现"))
    status = http_status_of(error)
    return Rendered(status, _body(status, falcon.code_to_http_status(status)[4:]))
