"""Bodies of the ``member`` contract: success envelopes and the error table (member.md).

Errors are ``{"code": <HTTP status>, "message": ..., "data": null}`` (通用错误响应格式);
messages are the document's own for each endpoint.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.identities import public_id
from facade.core.models import TokenSet, User, VerifiedSignIn
from facade.core.targets import mask_phone

SMS_SEND = "/auth/sms/send"
REFRESH = "/auth/refresh"
BIND_PHONE = "/auth/bind-phone"

#: member's gender codes for the values the realm stores, OIDC's own (absent = unknown, 0).
GENDER_CODES = {"male": 1, "female": 2}
GENDER_VALUES = {code: value for value, code in GENDER_CODES.items()}

ERRORS = ErrorTable(
    rows={
        "invalid_input": ErrorRow(400, "参数错误: {detail}"),
        "invalid_input.phone": ErrorRow(400, "手机号格式错误"),
        "invalid_input.invite_code": ErrorRow(400, "邀请码无效"),
        "code_rejected": ErrorRow(400, "验证码错误或已过期"),
        "external_auth_rejected": ErrorRow(400, "微信授权失败: {reason} ({code})"),
        # Our appid/secret, not the user's code.
        "external_auth_rejected.misconfigured": ErrorRow(503, "服务暂不可用: wechat"),
        "already_exists": ErrorRow(409, "微信已被绑定"),
        "already_exists.phone": ErrorRow(409, "手机号已被绑定"),
        "invalid_token": ErrorRow(401, "未授权"),
        "invalid_credentials": ErrorRow(401, "未授权"),
        "account_disabled": ErrorRow(403, "账号已被禁用"),
        "not_found": ErrorRow(404, "用户不存在"),
        "rate_limited": ErrorRow(429, "请求过于频繁"),
        "delivery_failed": ErrorRow(503, "短信服务暂不可用"),
        "delivery_failed.target_rejected": ErrorRow(400, "手机号格式错误"),
        "delivery_failed.throttled": ErrorRow(429, "发送过于频繁"),
        "unavailable": ErrorRow(503, "服务暂不可用: {part}"),
        "not_implemented": ErrorRow(501, "未实现"),
        "http": ErrorRow(0, "{title}"),
        "internal": ErrorRow(500, "服务器内部错误"),
    },
    routes={
        SMS_SEND: {"rate_limited": ErrorRow(429, "发送过于频繁")},
        REFRESH: {
            "invalid_token": ErrorRow(401, "refresh_token 无效或已过期"),
            "invalid_credentials": ErrorRow(401, "refresh_token 无效或已过期"),
        },
        BIND_PHONE: {"code_rejected": ErrorRow(400, "验证码错误")},
    },
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "Equal to the HTTP status."},
        "message": {"type": "string", "description": "具体错误信息"},
        "data": {"type": "null"},
    },
    "required": ["code", "message", "data"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    return {"code": row.body_code, "message": row.message, "data": None}


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data}


def member_user(user: User) -> dict[str, Any]:
    """The document's user object; ``id`` is the member app's own id for its migrated users,
    else the shared integer uid."""
    phone = user.attr("phone_number")
    return {
        "id": public_id(user, "member"),
        "phone": phone,
        "nickname": user.attr("nickname") or default_nickname(phone, user.username),
        "avatar": user.attr("avatar") or None,
        "gender": GENDER_CODES.get(user.attr("gender") or "", 0),
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
