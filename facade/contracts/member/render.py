"""Bodies of the ``member`` contract: success envelopes and the error table (member.md).

Errors are ``{"code": <HTTP status>, "message": ..., "data": null}`` (通用错误响应格式);
messages are the document's own for each endpoint.
"""

from __future__ import annotations

from typing import Any

import falcon

from facade.contracts.base import http_status_of
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    CodeRejected,
    DeliveryFailed,
    ExternalAuthRejected,
    FacadeError,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    RateLimited,
    Unavailable,
)
from facade.core.models import TokenSet, User, VerifiedSignIn
from facade.core.targets import mask_phone
from facade.http.rendering import Rendered

REFRESH = "/auth/refresh"
BIND_PHONE = "/auth/bind-phone"
INVITE_UNKNOWN = "邀请码无效"


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data}


def member_user(user: User) -> dict[str, Any]:
    """The document's user object; ``id`` is the shared integer uid."""
    phone = user.attr("phone_number")
    return {
        "id": int(user.attr("uid") or 0),
        "phone": phone,
        "nickname": user.attr("nickname") or default_nickname(phone, user.username),
        "avatar": user.attr("avatar") or None,
        "gender": _int(user.attr("gender"), 0),
        "member_level_id": _int(user.attr("member_level_id"), 1),
        "points": _int(user.attr("points"), 0),
        "is_verified": user.attr("is_verified") == "true",
    }


def default_nickname(phone: str | None, fallback: str) -> str:
    """``用户138****8000`` for a phone user (member.md's example)."""
    return f"用户{mask_phone(phone)}" if phone else fallback


def signed_in(result: VerifiedSignIn) -> dict[str, Any]:
    """The ``data`` of both logins: user, token and whether this call registered the user."""
    return {
        "user": member_user(result.user),
        "token": token(result.tokens),
        "is_new_user": result.is_new_user,
    }


def token(tokens: TokenSet) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at,
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Rendered:
    return Rendered(status, {"code": status, "message": message, "data": None}, headers or {})


def render_error(error: Exception, route: str | None) -> Rendered:
    if isinstance(error, InvalidInput):
        if error.field == "phone":
            return _error(400, "手机号格式错误")
        if error.field == "invite_code":
            return _error(400, INVITE_UNKNOWN)
        return _error(400, f"参数错误: {error.detail}")
    if isinstance(error, CodeRejected):
        return _error(400, "验证码错误" if route == BIND_PHONE else "验证码错误或已过期")
    if isinstance(error, ExternalAuthRejected):
        if error.reason == "misconfigured":  # our appid/secret, not the user's code
            return _error(503, "服务暂不可用: wechat")
        return _error(400, f"微信授权失败: {error.reason} ({error.code})")
    if isinstance(error, AlreadyExists):
        return _error(409, "手机号已被绑定" if error.field == "phone" else "微信已被绑定")
    if isinstance(error, InvalidToken | InvalidCredentials):
        return _error(401, "refresh_token 无效或已过期" if route == REFRESH else "未授权")
    if isinstance(error, AccountDisabled):
        return _error(403, "账号已被禁用")
    if isinstance(error, NotFound):
        return _error(404, "用户不存在")
    if isinstance(error, RateLimited):
        message = "发送过于频繁" if route == "/auth/sms/send" else "请求过于频繁"
        return _error(429, message, {"Retry-After": str(error.retry_after)})
    if isinstance(error, DeliveryFailed):
        if error.reason == "target_rejected":
            return _error(400, "手机号格式错误")
        if error.reason == "throttled":
            return _error(429, "发送过于频繁", {"Retry-After": "60"})
        return _error(503, "短信服务暂不可用")
    if isinstance(error, Unavailable):
        return _error(503, f"服务暂不可用: {error.part}")
    if isinstance(error, FacadeError):
        return _error(400, error.detail)
    status = http_status_of(error)
    if status == 500:
        return _error(500, "服务器内部错误")
    return _error(status, falcon.code_to_http_status(status)[4:])
