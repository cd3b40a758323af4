"""The OpenAPI 3.1 document of the ``member`` contract, served at ``{prefix}/openapi.json``.

Built in code rather than kept as JSON so that the seven endpoints share one definition of the
user, the token pair, the envelope and the error body, and so that the server URL follows the
mount prefix. Names, types and nesting are member.md's; every status an endpoint can answer is
listed, with the decisions of contracts/README.md (status equals the body ``code``, 429 carries
``Retry-After``, an unreachable Keycloak, Redis, SMS or WeChat is a 503).
"""

from __future__ import annotations

from typing import Any

import falcon

Schema = dict[str, Any]

_ERROR_REF = "#/components/schemas/Error"
_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_NULLABLE_STRING: Schema = {"type": ["string", "null"]}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], required: list[str], **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": required, **extra}


def _request(name: str, example: dict[str, Any]) -> Schema:
    return {
        "required": True,
        "content": {"application/json": {"schema": _ref(name), "example": example}},
    }


def _success(description: str, data: Schema, example: Any) -> Schema:
    envelope = _object(
        {
            "code": {"type": "integer", "const": 0},
            "message": {"type": "string", "const": "success"},
            "data": data,
        },
        ["code", "message", "data"],
    )
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": envelope,
                "example": {"code": 0, "message": "success", "data": example},
            }
        },
    }


def _error(status: int, description: str, *messages: str) -> Schema:
    """An error response: the common error body, with ``code`` equal to the HTTP status."""
    response: Schema = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": _ERROR_REF},
                        {"properties": {"code": {"const": status}}},
                    ]
                },
                "examples": {
                    f"e{index}": {"value": {"code": status, "message": message, "data": None}}
                    for index, message in enumerate(messages, start=1)
                },
            }
        },
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


_UNAUTHORIZED = _error(
    401,
    "The bearer access token is missing, malformed, expired, revoked by a logout, or its user "
    "is disabled or deleted.",
    "未授权",
)
_TOO_MANY_LOGINS = _error(
    429, "More than 10 login requests a minute from this IP address.", "请求过于频繁"
)
_DISABLED = _error(403, "An operator disabled this account.", "账号已被禁用")


def _unavailable(parts: str) -> Schema:
    return _error(503, f"{parts} cannot be reached; nothing was changed.", "服务暂不可用: keycloak")


_USER_EXAMPLE = {
    "id": 1,
    "phone": "13800138000",
    "nickname": "用户138****8000",
    "avatar": None,
    "gender": 0,
    "member_level_id": 1,
    "points": 0,
    "is_verified": False,
}
_TOKEN_EXAMPLE = {
    "access_token": "eyJhbGciOiJIUzI1NiIs...",
    "refresh_token": "dGhpcyBpcyBhIHJlZnJlc2g...",
    "expires_at": 1704067200,
}


def _components() -> Schema:
    phone = {
        "type": "string",
        "minLength": 1,
        "description": "11位手机号 (mainland China mobile; `+86`/`86` prefixes and spaces are "
        "accepted and stripped).",
        "examples": ["13800138000"],
    }
    sms_code = {
        "type": "string",
        "pattern": "^[0-9]{6}$",
        "description": "6位验证码",
        "examples": ["123456"],
    }
    invite_code = {
        **_NULLABLE_STRING,
        "description": "邀请码（可选）. An unknown code is a 400 and leaves the SMS code usable; "
        "ignored for existing users.",
    }
    schemas: dict[str, Schema] = {
        "Error": _object(
            {
                "code": {"type": "integer", "description": "Equal to the HTTP status."},
                "message": {"type": "string", "description": "具体错误信息"},
                "data": {"type": "null"},
            },
            ["code", "message", "data"],
            description="通用错误响应格式",
        ),
        "User": _object(
            {
                "id": {"type": "integer", "description": "Stable integer id, shared by contracts."},
                "phone": {**_NULLABLE_STRING, "description": "null until a phone is bound."},
                "nickname": {"type": "string"},
                "avatar": {**_NULLABLE_STRING, "description": "Avatar URL, or null."},
                "gender": {
                    "type": "integer",
                    "enum": [0, 1, 2],
                    "description": "0-未知, 1-男, 2-女",
                },
                "member_level_id": {"type": "integer"},
                "points": {"type": "integer"},
                "is_verified": {"type": "boolean"},
            },
            [
                "id",
                "phone",
                "nickname",
                "avatar",
                "gender",
                "member_level_id",
                "points",
                "is_verified",
            ],
        ),
        "Token": _object(
            {
                "access_token": {"type": "string"},
                "refresh_token": {"type": "string"},
                "expires_at": {
                    "type": "integer",
                    "description": "When the access token expires, in Unix seconds (it lives "
                    "7200 s).",
                },
            },
            ["access_token", "refresh_token", "expires_at"],
        ),
        "LoginResult": _object(
            {
                "user": _ref("User"),
                "token": _ref("Token"),
                "is_new_user": {
                    "type": "boolean",
                    "description": "true when this request registered the user.",
                },
            },
            ["user", "token", "is_new_user"],
        ),
        "SmsSendRequest": _object(
            {
                "phone": phone,
                "code_type": {
                    "type": "string",
                    "enum": ["login", "bind"],
                    "description": "验证码类型: `login`; `bind` codes serve `/auth/bind-phone`, "
                    "which also accepts `login` codes.",
                },
            },
            ["phone", "code_type"],
            additionalProperties=True,
        ),
        "SmsLoginRequest": _object(
            {"phone": phone, "code": sms_code, "invite_code": invite_code},
            ["phone", "code"],
            additionalProperties=True,
        ),
        "WechatLoginRequest": _object(
            {
                "code": {
                    "type": "string",
                    "minLength": 1,
                    "description": "微信 wx.login 返回的 code (single use, valid 5 minutes).",
                },
                "nickname": {
                    **_NULLABLE_STRING,
                    "maxLength": 64,
                    "description": "微信昵称（可选）; a new user without one is `微信用户`.",
                },
                "avatar": {
                    **_NULLABLE_STRING,
                    "pattern": "^https?://\\S{1,1000}$",
                    "description": "微信头像 URL（可选）",
                },
                "gender": {
                    "type": ["integer", "null"],
                    "enum": [0, 1, 2, None],
                    "description": "性别 (0-未知, 1-男, 2-女)（可选）",
                },
                "invite_code": invite_code,
            },
            ["code"],
            additionalProperties=True,
            description="nickname, avatar and gender are taken for a new user only.",
        ),
        "RefreshRequest": _object(
            {"refresh_token": {"type": "string", "minLength": 1, "description": "刷新令牌"}},
            ["refresh_token"],
            additionalProperties=True,
        ),
        "BindPhoneRequest": _object(
            {"phone": phone, "code": sms_code},
            ["phone", "code"],
            additionalProperties=True,
        ),
    }
    return {
        "schemas": schemas,
        "headers": {
            "RetryAfter": {
                "description": "Seconds to wait before the next request may pass.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "`Authorization: Bearer <access_token>`",
            }
        },
    }


def _paths() -> Schema:
    return {
        "/auth/sms/send": {
            "post": {
                "operationId": "sendSmsCode",
                "summary": "发送短信验证码",
                "description": "Rate limits: 1 a minute per IP, 10 a day per phone.",
                "requestBody": _request(
                    "SmsSendRequest", {"phone": "13800138000", "code_type": "login"}
                ),
                "responses": {
                    "200": _success(
                        "The code was sent; it lives `expire_in` seconds.",
                        _object(
                            {"expire_in": {"type": "integer", "description": "seconds"}},
                            ["expire_in"],
                        ),
                        {"expire_in": 300},
                    ),
                    "400": _error(
                        400,
                        "手机号格式错误, or another invalid parameter (`code_type`).",
                        "手机号格式错误",
                        "参数错误: code_type: must be one of login, bind",
                    ),
                    "429": _error(
                        429,
                        "发送过于频繁: over 1 a minute from this IP or 10 a day for this phone.",
                        "发送过于频繁",
                    ),
                    "503": _unavailable("Redis or the SMS provider"),
                },
            }
        },
        "/auth/login/sms": {
            "post": {
                "operationId": "loginSms",
                "summary": "短信验证码登录（自动注册）",
                "requestBody": _request(
                    "SmsLoginRequest",
                    {"phone": "13800138000", "code": "123456", "invite_code": "ABC123"},
                ),
                "responses": {
                    "200": _login_success(),
                    "400": _error(
                        400,
                        "验证码错误或已过期 (wrong, expired, used, or burned after 3 wrong tries), "
                        "邀请码无效 (unknown invite code; the SMS code stays usable), or another "
                        "invalid parameter.",
                        "验证码错误或已过期",
                        "邀请码无效",
                        "手机号格式错误",
                    ),
                    "403": _DISABLED,
                    "429": _TOO_MANY_LOGINS,
                    "503": _unavailable("Keycloak or Redis"),
                },
            }
        },
        "/auth/login/wechat": {
            "post": {
                "operationId": "loginWechat",
                "summary": "微信小程序登录",
                "requestBody": _request(
                    "WechatLoginRequest",
                    {
                        "code": "0a1B2c3D4e5F6g",
                        "nickname": "微信用户",
                        "avatar": "https://example.com/avatar.jpg",
                        "gender": 1,
                        "invite_code": "ABC123",
                    },
                ),
                "responses": {
                    "200": _login_success(),
                    "400": _error(
                        400,
                        "微信授权失败: WeChat refused the code (invalid, used, expired), the user "
                        "(blocked) or the rate; the reason follows in the message. Also 邀请码无效 "
                        "and other invalid parameters.",
                        "微信授权失败: invalid_code (40029)",
                        "微信授权失败: code_used (40163)",
                        "邀请码无效",
                    ),
                    "403": _DISABLED,
                    "429": _TOO_MANY_LOGINS,
                    "503": _unavailable("Keycloak, Redis or WeChat"),
                },
            }
        },
        "/auth/refresh": {
            "post": {
                "operationId": "refreshToken",
                "summary": "刷新 Token",
                "requestBody": _request(
                    "RefreshRequest", {"refresh_token": "dGhpcyBpcyBhIHJlZnJlc2g..."}
                ),
                "responses": {
                    "200": _success(
                        "A new token pair; the old refresh token may no longer be used.",
                        _ref("Token"),
                        {**_TOKEN_EXAMPLE, "expires_at": 1704074400},
                    ),
                    "400": _error(
                        400,
                        "Invalid parameters (no `refresh_token`).",
                        "参数错误: refresh_token: field required",
                    ),
                    "401": _error(
                        401,
                        "refresh_token 无效或已过期: invalid, expired, revoked by a logout, issued "
                        "to another app, or its user is disabled.",
                        "refresh_token 无效或已过期",
                    ),
                    "503": _unavailable("Keycloak or Redis"),
                },
            }
        },
        "/auth/me": {
            "get": {
                "operationId": "getMe",
                "summary": "获取当前用户信息（需认证）",
                "security": _BEARER,
                "responses": {
                    "200": _success("The caller's user.", _ref("User"), _USER_EXAMPLE),
                    "401": _UNAUTHORIZED,
                    "503": _unavailable("Keycloak or Redis"),
                },
            }
        },
        "/auth/bind-phone": {
            "post": {
                "operationId": "bindPhone",
                "summary": "绑定手机号（需认证）",
                "description": "Accepts a code sent with `code_type` `login` or `bind`.",
                "security": _BEARER,
                "requestBody": _request(
                    "BindPhoneRequest", {"phone": "13800138000", "code": "123456"}
                ),
                "responses": {
                    "200": _success("The phone is bound to the caller.", {"type": "null"}, None),
                    "400": _error(
                        400,
                        "验证码错误 (wrong, expired or used), or an invalid parameter.",
                        "验证码错误",
                        "手机号格式错误",
                    ),
                    "401": _UNAUTHORIZED,
                    "409": _error(
                        409, "手机号已被绑定: another user holds this phone.", "手机号已被绑定"
                    ),
                    "503": _unavailable("Keycloak or Redis"),
                },
            }
        },
        "/auth/logout": {
            "post": {
                "operationId": "logout",
                "summary": "退出登录（需认证）",
                "description": "The session's access and refresh tokens are refused at once.",
                "security": _BEARER,
                "responses": {
                    "200": _success("Logged out.", {"type": "null"}, None),
                    "401": _UNAUTHORIZED,
                    "503": _unavailable("Keycloak or Redis"),
                },
            }
        },
    }


def _login_success() -> Schema:
    return _success(
        "Signed in; `is_new_user` says whether this request registered the user.",
        _ref("LoginResult"),
        {"user": _USER_EXAMPLE, "token": _TOKEN_EXAMPLE, "is_new_user": True},
    )


def build_document(prefix: str = "/api/v1") -> Schema:
    """The whole document for the contract mounted at ``prefix`` (``""`` for the root)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "member 认证 API",
            "version": "1.0.0",
            "description": "SMS login with auto-registration, WeChat mini-program login, invite "
            "codes and the member profile (member.md). Errors are `{code, message, data: null}` "
            "with `code` equal to the HTTP status.",
        },
        "servers": [{"url": prefix or "/"}],
        "tags": [{"name": "auth"}],
        "paths": {
            path: {method: {"tags": ["auth"], **operation} for method, operation in item.items()}
            for path, item in _paths().items()
        },
        "components": _components(),
    }


class OpenApiDocument:
    """``GET {prefix}/openapi.json``: built once per mount, served as is."""

    def __init__(self, prefix: str) -> None:
        self._document = build_document(prefix)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document
